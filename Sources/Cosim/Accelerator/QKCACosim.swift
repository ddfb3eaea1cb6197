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
        public var workDirectory: URL = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-qkca-cosim-\(getpid())")
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
        let design = try Elaborate.run(try makeQKCA(hw))
        var vopts = VerilatorOptions()
        if let t = options.tracePath {
            vopts.trace = t.hasSuffix(".fst") ? .fst : .vcd
            vopts.tracePath = t
        }
        let driver = try PortDriver.verilator(design, directory: options.workDirectory.appendingPathComponent("rtl"), options: vopts)
        let T = block.timeSteps, N = block.tokens, C = block.dim, P = hw.lanes, G = hw.groups
        let K = hw.inputChunk, Wc = hw.countWidth

        var samples: [SpikeTensor] = given ?? []
        if given == nil {
            for s in 0..<options.samples {
                samples.append(AttentionModel.randomInput(block, rate: options.inputRate, maxCount: options.maxInputCount,
                                                          seed: options.seed &+ UInt64(s) &* 0x9E37_79B9))
            }
        }
        var traces: [AttentionTrace] = []
        for x in samples { traces.append(try QKCA.run(golden, input: x)) }

        // Input beats in stream order: sample, token, time step, chunk.
        struct Beat { let data: Bits; let last: Bool; let user: Int }
        var beats: [Beat] = []
        for x in samples {
            for n in 0..<N {
                for t in 0..<T {
                    for b in 0..<hw.inputBeats {
                        var words = [UInt64](repeating: 0, count: (K * Wc + 63) / 64)
                        for j in 0..<K where b * K + j < C {
                            let v = UInt64(x[t, n, b * K + j])
                            let bit = j * Wc
                            words[bit / 64] |= v << UInt64(bit % 64)
                            if bit % 64 + Wc > 64 { words[bit / 64 + 1] |= v >> UInt64(64 - bit % 64) }
                        }
                        let user = (b == 0 && t == 0 ? 2 : 0) | (b == 0 ? 1 : 0)
                        beats.append(Beat(data: Bits(width: K * Wc, truncating: words), last: b == hw.inputBeats - 1, user: user))
                    }
                }
            }
        }
        let expectedOut = samples.count * N * T * G
        var rng = SplitMix64(seed: options.seed ^ 0x5EED)
        var next = 0, received = 0, cycles = 0, idle = 0
        var mismatches: [AttentionCosim.Mismatch] = []
        var protocolErrors: [String] = []
        var offering = false
        var rtlOut = samples.map { _ in SpikeTensor(shape: [T, N, C], repeating: 0) }
        let t0 = Date()
        driver.set("rst", 1)
        driver.tick()
        driver.set("rst", 0)
        while received < expectedOut {
            if !offering && next < beats.count && Double.random(in: 0..<1, using: &rng) >= options.inputStall {
                offering = true
            }
            driver.set("s_axis_tvalid", offering)
            if offering {
                driver.set("s_axis_tdata", bits: beats[next].data)
                driver.set("s_axis_tlast", beats[next].last)
                driver.set("s_axis_tuser", beats[next].user)
            }
            let ready = Double.random(in: 0..<1, using: &rng) >= options.outputStall
            driver.set("m_axis_tready", ready)
            driver.eval()
            var progress = false
            if offering && driver.bit("s_axis_tready") {
                next += 1
                offering = false
                progress = true
            }
            if ready && driver.bit("m_axis_tvalid") {
                let v = received / G, g = received % G
                let s = v / (N * T), n = (v / T) % N, t = v % T
                let spikes = driver.get("m_axis_tdata")
                let out = traces[s].output
                for j in 0..<P where g * P + j < C {
                    let c = g * P + j
                    let actual = UInt8((spikes >> UInt64(j)) & 1)
                    rtlOut[s].scalars[rtlOut[s].offset([t, n, c])] = actual
                    if actual != out[t, n, c] && mismatches.count < 50 {
                        mismatches.append(AttentionCosim.Mismatch(sample: s, timeStep: t, token: n, channel: c,
                                                                  expected: out[t, n, c], actual: actual))
                    }
                }
                for j in max(0, min(P, C - g * P))..<P where (spikes >> UInt64(j)) & 1 != 0 && protocolErrors.count < 10 {
                    protocolErrors.append("output beat \(received): lane \(j) past the \(C) channels is 1")
                }
                let last = driver.bit("m_axis_tlast"), user = driver.get("m_axis_tuser")
                let wantUser = UInt64((g == 0 && t == 0 ? 2 : 0) | (g == 0 ? 1 : 0))
                if (last != (g == G - 1) || user != wantUser) && protocolErrors.count < 10 {
                    protocolErrors.append("output beat \(received) (sample \(s), token \(n), time step \(t), group \(g)): tlast \(last), tuser \(user); expected tlast \(g == G - 1), tuser \(wantUser)")
                }
                received += 1
                progress = true
            }
            driver.tick()
            cycles += 1
            idle = progress ? 0 : idle + 1
            if idle > 100_000 {
                throw ToolError("no progress for 100000 cycles after \(received) of \(expectedOut) output beats and \(next) of \(beats.count) input beats: the design is stuck")
            }
        }
        // A few idle cycles: nothing more may come out.
        for _ in 0..<64 {
            driver.set("s_axis_tvalid", false)
            driver.set("m_axis_tready", true)
            driver.eval()
            if driver.bit("m_axis_tvalid") && protocolErrors.count < 10 {
                protocolErrors.append("an extra output beat after the \(expectedOut) expected ones")
                break
            }
            driver.tick()
        }
        if driver.bit("s_axis_error") { protocolErrors.append("s_axis_error went high although the input followed the beat layout") }
        let seconds = Date().timeIntervalSince(t0)
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
                      groups: G, inputBeats: beats.count, rates: rate.mapValues { Double($0.0) / Double(max($0.1, 1)) },
                      buffers: try hw.buffers(), orForm: try hw.usesOrForm(), outputs: rtlOut, twoPassBoundCycles: end2)
    }
}
