import Foundation
import HDL
import Blocks
import Golden

/// Co-simulates a generated attention block in Verilator against the golden model: random or
/// given input samples streamed through the AXI4-Stream ports under random input and output
/// stalls, and every output spike of every time step compared.
public struct AttentionCosim {
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
        public var tracePath: String?
        /// Where the Verilog is written for Verilator: unique per run, so concurrent runs in one
        /// process (parallel tests) never share it.
        public var workDirectory: URL = FileManager.default.temporaryDirectory
            .appendingPathComponent("qkforge-cosim-\(getpid())-\(UUID().uuidString.prefix(8))")
        public init() {}
    }

    public struct Mismatch: Sendable, CustomStringConvertible {
        public let sample: Int, timeStep: Int, token: Int, channel: Int
        public let expected: UInt8, actual: UInt8
        public init(sample: Int, timeStep: Int, token: Int, channel: Int, expected: UInt8, actual: UInt8) {
            (self.sample, self.timeStep, self.token, self.channel) = (sample, timeStep, token, channel)
            (self.expected, self.actual) = (expected, actual)
        }
        public var description: String {
            "sample \(sample), time step \(timeStep), token \(token), channel \(channel): golden \(expected), RTL \(actual)"
        }
    }

    public struct Result: Sendable {
        public let samples: Int
        public let vectors: Int
        public let cycles: Int
        public let mismatches: [Mismatch]
        /// Protocol problems seen on the output (wrong tlast/tuser) or the input error flag.
        public let protocolErrors: [String]
        public let seconds: Double
        /// Accumulate events of the input (Q and K) and of X' (projection), over all samples.
        public let inputEvents: Int
        public let projectionEvents: Int
        /// `ceil(C / P)`.
        public let groups: Int
        /// Measured firing rates (golden): Q, K, A_t, X', output.
        public let rates: [String: Double]
        /// What the RTL produced, one `[T][N][C]` tensor per sample.
        public let outputs: [SpikeTensor]

        public init(samples: Int, vectors: Int, cycles: Int, mismatches: [Mismatch], protocolErrors: [String],
                    seconds: Double, inputEvents: Int, projectionEvents: Int, groups: Int, rates: [String: Double],
                    outputs: [SpikeTensor]) {
            (self.samples, self.vectors, self.cycles, self.mismatches) = (samples, vectors, cycles, mismatches)
            (self.protocolErrors, self.seconds, self.inputEvents) = (protocolErrors, seconds, inputEvents)
            (self.projectionEvents, self.groups, self.rates, self.outputs) = (projectionEvents, groups, rates, outputs)
        }

        /// The event-driven bound on cycles: the busier accumulator's events times `ceil(C/P)`.
        public var boundCycles: Int { max(inputEvents, projectionEvents) * groups }
        public var utilization: Double { cycles > 0 ? Double(boundCycles) / Double(cycles) : 0 }
        public var passed: Bool { mismatches.isEmpty && protocolErrors.isEmpty }
    }

    /// Runs `options.samples` random samples (or `inputs`, when given) through the block.
    public static func run(_ model: AttentionModel, options: Options, inputs given: [SpikeTensor]? = nil) throws -> Result {
        let hw = model.hardware
        let samples = given ?? randomSamples(model.block, options)
        var traces: [AttentionTrace] = []
        for x in samples { traces.append(try QKTA.run(model.golden, input: x)) }
        let s = try stream(try Elaborate.run(try makeQKTA(hw)), block: model.block, lanes: hw.lanes, inputChunk: hw.inputChunk,
                           countWidth: hw.countWidth, samples: samples, expected: traces.map(\.output), options: options)
        var inEvents = 0, xEvents = 0
        var rate: [String: (Int, Int)] = [:]
        for tr in traces {
            inEvents += tr.q.ops.events
            xEvents += tr.proj.ops.events
            for (name, tensor) in [("Q", tr.q.spikes), ("K", tr.k.spikes), ("A_t", tr.attentionMask), ("X'", tr.maskedKeys), ("out", tr.output)] {
                let ones = tensor.scalars.reduce(0) { $0 + Int($1) }
                rate[name, default: (0, 0)].0 += ones
                rate[name, default: (0, 0)].1 += tensor.scalars.count
            }
        }
        return Result(samples: samples.count, vectors: samples.count * model.block.tokens * model.block.timeSteps,
                      cycles: s.cycles, mismatches: s.mismatches, protocolErrors: s.protocolErrors, seconds: s.seconds,
                      inputEvents: inEvents, projectionEvents: xEvents, groups: hw.groups,
                      rates: rate.mapValues { Double($0.0) / Double(max($0.1, 1)) }, outputs: s.outputs)
    }

    /// `options.samples` random input samples from `options.seed`.
    static func randomSamples(_ block: BlockConfig, _ options: Options) -> [SpikeTensor] {
        (0..<options.samples).map { s in
            AttentionModel.randomInput(block, rate: options.inputRate, maxCount: options.maxInputCount,
                                       seed: options.seed &+ UInt64(s) &* 0x9E37_79B9)
        }
    }

    /// What streaming samples through an attention block's AXI4-Stream ports gave.
    struct StreamRun {
        let cycles: Int
        let mismatches: [Mismatch]
        let protocolErrors: [String]
        let outputs: [SpikeTensor]
        let seconds: Double
        let inputBeats: Int
    }

    /// Streams `samples` through `design` (QKTA or QKCA: same ports and beat order) under random
    /// stalls, compares every output spike with `expected`, and checks tlast, tuser, the lanes
    /// past C, `s_axis_error`, and that no extra beat comes out.
    static func stream(_ design: Design, block: BlockConfig, lanes P: Int, inputChunk K: Int, countWidth Wc: Int,
                       samples: [SpikeTensor], expected: [SpikeTensor], options: Options) throws -> StreamRun {
        var vopts = VerilatorOptions()
        if let t = options.tracePath {
            vopts.trace = t.hasSuffix(".fst") ? .fst : .vcd
            vopts.tracePath = t
        }
        let driver = try PortDriver.verilator(design, directory: options.workDirectory.appendingPathComponent("rtl"), options: vopts)
        let T = block.timeSteps, N = block.tokens, C = block.dim
        let G = (C + P - 1) / P, inputBeats = (C + K - 1) / K

        // Input beats in stream order: sample, token, time step, chunk.
        struct Beat { let data: Bits; let last: Bool; let user: Int }
        var beats: [Beat] = []
        for x in samples {
            for n in 0..<N {
                for t in 0..<T {
                    for b in 0..<inputBeats {
                        var words = [UInt64](repeating: 0, count: (K * Wc + 63) / 64)
                        for j in 0..<K where b * K + j < C {
                            let v = UInt64(x[t, n, b * K + j])
                            let bit = j * Wc
                            words[bit / 64] |= v << UInt64(bit % 64)
                            if bit % 64 + Wc > 64 { words[bit / 64 + 1] |= v >> UInt64(64 - bit % 64) }
                        }
                        let user = (b == 0 && t == 0 ? 2 : 0) | (b == 0 ? 1 : 0)
                        beats.append(Beat(data: Bits(width: K * Wc, truncating: words), last: b == inputBeats - 1, user: user))
                    }
                }
            }
        }
        let expectedOut = samples.count * N * T * G
        var rng = SplitMix64(seed: options.seed ^ 0x5EED)
        var next = 0, received = 0, cycles = 0, idle = 0
        var mismatches: [Mismatch] = []
        var protocolErrors: [String] = []
        var offering = false
        var rtlOut = samples.map { _ in SpikeTensor(shape: [T, N, C], repeating: 0) }
        let t0 = Date()
        let progressBar = ProgressLine("co-simulating \(samples.count) sample\(samples.count == 1 ? "" : "s") in Verilator", total: expectedOut / G, unit: "vectors")
        defer { progressBar.finish() }
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
                let spikes = driver.bits("m_axis_tdata")   // P bits, any width
                let out = expected[s]
                for j in 0..<P where g * P + j < C {
                    let c = g * P + j
                    let actual: UInt8 = spikes.bit(j) ? 1 : 0
                    rtlOut[s].scalars[rtlOut[s].offset([t, n, c])] = actual
                    if actual != out[t, n, c] && mismatches.count < 50 {
                        mismatches.append(Mismatch(sample: s, timeStep: t, token: n, channel: c, expected: out[t, n, c], actual: actual))
                    }
                }
                for j in max(0, min(P, C - g * P))..<P where spikes.bit(j) && protocolErrors.count < 10 {
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
            if cycles & 0x3FFF == 0 { progressBar.update(received / G) }
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
        return StreamRun(cycles: cycles, mismatches: mismatches, protocolErrors: protocolErrors, outputs: rtlOut,
                         seconds: Date().timeIntervalSince(t0), inputBeats: beats.count)
    }
}
