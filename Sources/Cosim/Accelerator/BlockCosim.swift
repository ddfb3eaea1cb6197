import Description
import Foundation
import HDL
import Blocks
import Golden

/// Co-simulates any described block in Verilator against its golden model: the hardware of
/// `BlockModel` is driven by the one stream co-simulation (`BlockStreamCosim`: random input and
/// output stalls, every count of every output beat of every time step compared, a replay
/// directory when a run fails), and the golden traces give firing rates, work and utilisation.
public enum BlockCosim {
    public struct Options: Sendable {
        public var samples = 2
        /// Probability that a channel's count is non-zero.
        public var inputRate = 0.2
        /// The largest input count drawn; nil: the block's own largest input count.
        public var maxInputCount: Int?
        public var seed: UInt64 = 1
        /// Probability that the testbench withholds an input beat in a cycle.
        public var inputStall = 0.1
        /// Probability that the testbench drops `m_axis_tready` in a cycle.
        public var outputStall = 0.1
        /// QKCA's channel-mask circuit (`.general` forces the column counters and the real LIF).
        public var attentionForm: AttentionForm = .automatic
        public var tracePath: String?
        /// Where the Verilog is written for Verilator: unique per run, so concurrent runs in one
        /// process (parallel tests) never share it.
        public var workDirectory: URL = FileManager.default.temporaryDirectory
            .appendingPathComponent("qkforge-cosim-\(getpid())-\(UUID().uuidString.prefix(8))")
        public var writeReplay = true
        public init(samples: Int = 2, seed: UInt64 = 1, inputRate: Double = 0.2, maxInputCount: Int? = nil,
                    inputStall: Double = 0.1, outputStall: Double = 0.1) {
            (self.samples, self.seed, self.inputRate, self.maxInputCount) = (samples, seed, inputRate, maxInputCount)
            (self.inputStall, self.outputStall) = (inputStall, outputStall)
        }
    }

    public typealias Mismatch = BlockStreamCosim.Mismatch

    public struct Result: Sendable {
        public let model: BlockModel
        /// The hardware that ran (the model's, with the options' QKCA form).
        public let hardware: BlockHardware
        public let stream: BlockStreamCosim.Result
        /// The golden model's traces, one per sample.
        public let traces: [PartTrace]

        public var samples: Int { stream.samples }
        public var vectors: Int { stream.vectors }
        public var cycles: Int { stream.cycles }
        public var mismatches: [Mismatch] { stream.mismatches }
        public var mismatchCount: Int { stream.mismatchCount }
        public var failedSamples: Int { stream.failedSamples }
        public var protocolErrors: [String] { stream.protocolErrors }
        public var seconds: Double { stream.seconds }
        public var inputBeats: Int { stream.inputBeats }
        /// What the RTL produced, one `[T][N][C]` tensor per sample.
        public var outputs: [SpikeTensor] { stream.outputs }
        public var replayDirectory: URL? { stream.replayDirectory }
        public var passed: Bool { stream.passed }

        /// QKCA's sample buffers, in bits (a QKCA alone).
        public var buffers: QKCAConfig.Buffers? {
            if case .attention(.channel(let c)) = hardware.structure { return try? c.buffers() }
            return nil
        }
        /// Whether QKCA's channel mask was built in the proven OR form (a QKCA alone).
        public var orForm: Bool? {
            if case .attention(.channel(let c)) = hardware.structure { return try? c.usesOrForm() }
            return nil
        }

        /// Useful accumulates over lanes x cycles, over every accumulator of the block.
        public var laneUtilization: Double { model.laneUtilization(traces, cycles: cycles) }

        /// Firing rate of each spiking layer's output (golden), by layer name.
        public var layerRates: [(name: String, rate: Double)] {
            let names = model.block.body.layers.map(\.name)
            var ones = [Int](repeating: 0, count: names.count), all = [Int](repeating: 0, count: names.count)
            for t in traces {
                for (i, l) in t.layers.enumerated() {
                    ones[i] += l.spikes.scalars.reduce(0) { $0 + Int($1) }
                    all[i] += l.spikes.scalars.count
                }
            }
            return names.indices.map { (names[$0], Double(ones[$0]) / Double(max(all[$0], 1))) }
        }

        // The figures of an attention block (zero for other blocks).
        /// The attention traces (an attention block alone).
        public var attentionTraces: [AttentionTrace] {
            traces.compactMap { if case .attention(let a) = $0 { return a } else { return nil } }
        }
        /// Accumulate events of the input (Q and K) over all samples.
        public var inputEvents: Int { attentionTraces.reduce(0) { $0 + $1.q.ops.events } }
        /// Accumulate events of X' (the projection) over all samples.
        public var projectionEvents: Int { attentionTraces.reduce(0) { $0 + $1.proj.ops.events } }
        /// `ceil(C / P)`.
        public var groups: Int {
            let c = model.block.input.channels, p = model.folding.lanes
            return (c + p - 1) / p
        }
        /// The event-driven bound on cycles of an attention block: the busier accumulator's
        /// events times `ceil(C/P)`.
        public var boundCycles: Int { max(inputEvents, projectionEvents) * groups }
        public var utilization: Double { cycles > 0 ? Double(boundCycles) / Double(cycles) : 0 }
        /// The streaming bound: also one cycle per input beat and per K buffer word (QKCA).
        public var streamBoundCycles: Int { max(boundCycles, inputBeats, vectors * groups) }
        /// The two-pass bound of QKCA: pass 2 of a sample cannot start before pass 1 of that
        /// sample has ended (the mask needs every token). Pass 1 of sample `s` takes
        /// `max(input events x G, input beats)` cycles, pass 2 `max(X' events x G, N*T*G)`; the
        /// two passes of consecutive samples overlap perfectly in this bound.
        public var twoPassBoundCycles: Int {
            let f = model.block.input, G = groups
            let beatsPerVector = inputBeats / max(1, samples * f.tokens * f.timeSteps)
            var end1 = 0, end2 = 0
            for tr in attentionTraces {
                end1 += max(tr.q.ops.events * G, f.tokens * f.timeSteps * beatsPerVector)
                end2 = max(end1, end2) + max(tr.proj.ops.events * G, f.tokens * f.timeSteps * G)
            }
            return end2
        }
        /// Cycles against the two-pass bound (1 = as fast as any two-pass design can be).
        public var twoPassUtilization: Double { cycles > 0 ? Double(twoPassBoundCycles) / Double(cycles) : 0 }
        /// Measured firing rates (golden) of an attention block: Q, K, the mask (A_t or A_c), X', output.
        public var rates: [String: Double] {
            var rate: [String: (Int, Int)] = [:]
            for tr in attentionTraces {
                let mask = tr.kind == .token ? "A_t" : "A_c"
                for (name, tensor) in [("Q", tr.q.spikes), ("K", tr.k.spikes), (mask, tr.attentionMask), ("X'", tr.maskedKeys), ("out", tr.output)] {
                    rate[name, default: (0, 0)].0 += tensor.scalars.reduce(0) { $0 + Int($1) }
                    rate[name, default: (0, 0)].1 += tensor.scalars.count
                }
            }
            return rate.mapValues { Double($0.0) / Double(max($0.1, 1)) }
        }
    }

    /// The hardware `model` builds with `options.attentionForm` applied to a QKCA.
    public static func hardware(_ model: BlockModel, _ options: Options) -> BlockHardware {
        model.hardware.withAttentionForm(options.attentionForm)
    }

    /// `options.samples` random input samples from `options.seed`.
    public static func randomSamples(_ model: BlockModel, _ options: Options) -> [SpikeTensor] {
        var f = model.block.input
        if let m = options.maxInputCount { f.maxCount = m }
        return f.randomSamples(rate: options.inputRate, count: options.samples, seed: options.seed)
    }

    /// Runs `options.samples` random samples (or `inputs`, when given) through the block.
    public static func run(_ model: BlockModel, options: Options, inputs given: [SpikeTensor]? = nil) throws -> Result {
        let samples = given ?? randomSamples(model, options)
        let traces = try model.traces(samples)
        let hw = hardware(model, options)
        var o = BlockStreamCosim.Options()
        (o.inputStall, o.outputStall, o.seed, o.tracePath) = (options.inputStall, options.outputStall, options.seed, options.tracePath)
        (o.workDirectory, o.writeReplay) = (options.workDirectory, options.writeReplay)
        let s = try BlockStreamCosim.run(try Elaborate.run(try hw.makeModule()), input: hw.inputFormat, output: hw.outputFormat,
                                         tokens: model.block.input.tokens, samples: samples, expected: traces.map(\.output), options: o)
        return Result(model: model, hardware: hw, stream: s, traces: traces)
    }
}
