import Foundation
import HDL
import Blocks
import Golden

/// Co-simulates a generated QKCA block in Verilator against the golden model
/// (`Golden.QKCA.run`): random or given input samples streamed through the AXI4-Stream ports
/// under random input and output stalls, every output spike of every time step compared, and
/// `tlast`/`tuser` checked on every output beat.
///
/// The weights come from an `AttentionModel` of a `.qkca` block; its `hardware` (a
/// `QKTAConfig`) holds the numbers, copied into a `QKCAConfig` with the block's `N`.
public struct QKCACosim {
    public struct Options: Sendable {
        public var samples = 2
        /// Probability that a channel's count is non-zero.
        public var inputRate = 0.2
        public var maxInputCount = 1
        public var seed: UInt64 = 1
        /// Probability that the testbench withholds an input beat in a cycle.
        public var inputStall = 0.1
        /// Probability that the testbench drops `m_axis_tready` in a cycle.
        public var outputStall = 0.1
        /// The channel-mask circuit (`.general` forces the column counters and the real LIF).
        public var attentionForm: AttentionForm = .automatic
        public var tracePath: String?
        /// Where the Verilog is written for Verilator: unique per run, so concurrent runs in one
        /// process (parallel tests) never share it.
        public var workDirectory: URL = FileManager.default.temporaryDirectory
            .appendingPathComponent("qkforge-qkca-cosim-\(getpid())-\(UUID().uuidString.prefix(8))")
        public init() {}
    }

    public struct Result: Sendable {
        public let samples: Int
        public let vectors: Int
        public let cycles: Int
        public let mismatches: [AttentionCosim.Mismatch]
        /// Protocol problems seen on the output (wrong tlast/tuser) or the input error flag.
        public let protocolErrors: [String]
        public let seconds: Double
        /// Accumulate events of the input (Q and K) and of X' (projection), over all samples.
        public let inputEvents: Int
        public let projectionEvents: Int
        /// `ceil(C / P)`.
        public let groups: Int
        /// Input beats (`N * T * inputBeats` per sample) over all samples.
        public let inputBeats: Int
        /// Measured firing rates (golden): Q, K, A_c, X', output.
        public let rates: [String: Double]
        /// The sample buffering of the design, in bits.
        public let buffers: QKCAConfig.Buffers
        /// Whether the channel mask was built in the proven OR form.
        public let orForm: Bool
        /// What the RTL produced, one `[T][N][C]` tensor per sample.
        public let outputs: [SpikeTensor]

        /// The event-driven bound on cycles: the busier accumulator's events times `ceil(C/P)`
        /// (as for QKTA; QKCA also reads its K buffer once per (token, step, group), overlapped).
        public var boundCycles: Int { max(inputEvents, projectionEvents) * groups }
        /// The streaming bound: also one cycle per input beat and per K buffer word.
        public var streamBoundCycles: Int { max(boundCycles, inputBeats, vectors * groups) }
        /// The two-pass bound: pass 2 of a sample cannot start before pass 1 of that sample has
        /// ended (the mask needs every token), however much buffering there is. Pass 1 of sample
        /// `s` takes `max(input events x G, input beats)` cycles, pass 2 `max(X' events x G,
        /// N*T*G)`; the two passes of consecutive samples overlap perfectly in this bound.
        public let twoPassBoundCycles: Int
        public var utilization: Double { cycles > 0 ? Double(boundCycles) / Double(cycles) : 0 }
        /// Cycles against the two-pass bound (1 = as fast as any two-pass design can be).
        public var twoPassUtilization: Double { cycles > 0 ? Double(twoPassBoundCycles) / Double(cycles) : 0 }
        public var passed: Bool { mismatches.isEmpty && protocolErrors.isEmpty }
    }

    /// The generator's config for `model` (a `.qkca` block).
    public static func config(_ model: AttentionModel, form: AttentionForm = .automatic) -> QKCAConfig {
        QKCAConfig(model.hardware, tokens: model.block.tokens, attentionForm: form,
                   name: model.hardware.name.hasPrefix("qkca") ? model.hardware.name : "qkca")
    }

    /// Runs `options.samples` random samples (or `inputs`, when given) through the block.
    public static func run(_ model: AttentionModel, options: Options, inputs given: [SpikeTensor]? = nil) throws -> Result {
        try run(hardware: config(model, form: options.attentionForm), golden: model.golden, block: model.block,
                options: options, inputs: given)
    }

    /// Runs the block `hardware` (its own `attentionForm`; `options.attentionForm` is not used)
    /// against the golden parameters `golden`, which must describe the same numbers, for example
    /// an attention neuron other than QKFormer's `attn_lif` on both sides.
    public static func run(hardware hw: QKCAConfig, golden: AttentionBlockParameters, block: BlockConfig,
                           options: Options, inputs given: [SpikeTensor]? = nil) throws -> Result {
        guard hw.tokens == block.tokens, hw.channels == block.dim, hw.timeSteps == block.timeSteps,
              golden.dim == block.dim, golden.timeSteps == block.timeSteps else {
            throw ConfigError(field: "block", "the hardware config, the golden parameters and the block disagree on N, C or T")
        }
        let T = block.timeSteps, N = block.tokens, G = hw.groups
        var o = AttentionCosim.Options()
        (o.samples, o.inputRate, o.maxInputCount, o.seed) = (options.samples, options.inputRate, options.maxInputCount, options.seed)
        (o.inputStall, o.outputStall, o.tracePath, o.workDirectory) = (options.inputStall, options.outputStall, options.tracePath, options.workDirectory)
        let samples = given ?? AttentionCosim.randomSamples(block, o)
        var traces: [AttentionTrace] = []
        for x in samples { traces.append(try QKCA.run(golden, input: x)) }
        let run = try AttentionCosim.stream(try Elaborate.run(try makeQKCA(hw)), block: block, lanes: hw.lanes,
                                            inputChunk: hw.inputChunk, countWidth: hw.countWidth, samples: samples,
                                            expected: traces.map(\.output), options: o)
        let (cycles, mismatches, protocolErrors, rtlOut, seconds) = (run.cycles, run.mismatches, run.protocolErrors, run.outputs, run.seconds)
        var inEvents = 0, xEvents = 0
        var rate: [String: (Int, Int)] = [:]
        var end1 = 0, end2 = 0
        for tr in traces {
            end1 += max(tr.q.ops.events * G, N * T * hw.inputBeats)
            end2 = max(end1, end2) + max(tr.proj.ops.events * G, N * T * G)
            inEvents += tr.q.ops.events
            xEvents += tr.proj.ops.events
            for (name, tensor) in [("Q", tr.q.spikes), ("K", tr.k.spikes), ("A_c", tr.attentionMask), ("X'", tr.maskedKeys), ("out", tr.output)] {
                let ones = tensor.scalars.reduce(0) { $0 + Int($1) }
                rate[name, default: (0, 0)].0 += ones
                rate[name, default: (0, 0)].1 += tensor.scalars.count
            }
        }
        return Result(samples: samples.count, vectors: samples.count * N * T, cycles: cycles, mismatches: mismatches,
                      protocolErrors: protocolErrors, seconds: seconds, inputEvents: inEvents, projectionEvents: xEvents,
                      groups: G, inputBeats: run.inputBeats, rates: rate.mapValues { Double($0.0) / Double(max($0.1, 1)) },
                      buffers: try hw.buffers(), orForm: try hw.usesOrForm(), outputs: rtlOut, twoPassBoundCycles: end2)
    }
}
