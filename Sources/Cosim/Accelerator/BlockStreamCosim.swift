import Description
import Foundation
import HDL
import Blocks
import Golden

/// One co-simulation for every block with count-stream ports (`s_axis_*` in, `m_axis_*` out,
/// `s_axis_error`; docs/formats.md): input samples are streamed in the block's input format
/// under random input stalls, `m_axis_tready` drops at random, and every count of every output
/// beat of every time step is compared with the golden model's output. `tlast`, `tuser`, the
/// slots past `C`, `s_axis_error` and the absence of extra beats are checked too.
///
/// A failing run leaves a replay directory (`replay/` under the work directory: the design,
/// the recorded stimulus, `replay.sh`, and `mismatches.txt` naming sample, time step, token and
/// channel), as the random-circuit differential test does.
public enum BlockStreamCosim {
    public struct Options: Sendable {
        /// Probability that the testbench withholds an input beat in a cycle.
        public var inputStall = 0.1
        /// Probability that the testbench drops `m_axis_tready` in a cycle.
        public var outputStall = 0.1
        public var seed: UInt64 = 1
        /// Mismatches kept (and printed); every one is counted.
        public var reportLimit = 50
        public var tracePath: String?
        /// Unique per run, so that concurrent runs never share it.
        public var workDirectory: URL = FileManager.default.temporaryDirectory
            .appendingPathComponent("qkforge-block-cosim-\(getpid())-\(UUID().uuidString.prefix(8))")
        /// Leave a replay directory when the run fails.
        public var writeReplay = true
        public init() {}
    }

    public struct Mismatch: Sendable, CustomStringConvertible {
        public let sample: Int, timeStep: Int, token: Int, channel: Int
        public let expected: Int, actual: Int
        public var description: String {
            "sample \(sample), time step \(timeStep), token \(token), channel \(channel): golden \(expected), RTL \(actual)"
        }
    }

    public struct Result: Sendable {
        public let samples: Int
        public let vectors: Int
        public let cycles: Int
        /// The first `reportLimit` mismatches.
        public let mismatches: [Mismatch]
        /// Every mismatching count.
        public let mismatchCount: Int
        /// Samples with any mismatch or protocol error.
        public let failedSamples: Int
        public let protocolErrors: [String]
        public let seconds: Double
        public let inputBeats: Int
        /// What the RTL produced, one `[T][N][C]` tensor per sample.
        public let outputs: [SpikeTensor]
        public let replayDirectory: URL?
        public var passed: Bool { mismatchCount == 0 && protocolErrors.isEmpty }
    }

    /// `count` random samples `[T][N][C]`: each count is non-zero with probability `rate`, then
    /// uniform in `1...maxCount`.
    public static func randomSamples(timeSteps: Int, tokens: Int, channels: Int, rate: Double, maxCount: Int,
                                     count: Int, seed: UInt64) -> [SpikeTensor] {
        (0..<count).map { s in
            var rng = SplitMix64(seed: seed &+ UInt64(s) &* 0x9E37_79B9)
            var t = SpikeTensor(shape: [timeSteps, tokens, channels], repeating: 0)
            for i in t.scalars.indices where Double.random(in: 0..<1, using: &rng) < rate {
                t.scalars[i] = UInt8(Int.random(in: 1...maxCount, using: &rng))
            }
            return t
        }
    }

    /// Streams `samples` (`[T][N][C]` each) through `design` and compares with `expected`
    /// (`[T][No][Co]` each: a convolution changes the tokens and channels; `outputTokens` nil
    /// means `N`).
    public static func run(_ design: Design, input: CountStreamFormat, output: CountStreamFormat, tokens N: Int,
                           outputTokens: Int? = nil,
                           samples: [SpikeTensor], expected: [SpikeTensor], options: Options) throws -> Result {
        precondition(samples.count == expected.count, "one expected output per sample")
        precondition(input.timeSteps == output.timeSteps)
        let No = outputTokens ?? N, Co = output.channels
        var vopts = VerilatorOptions()
        if let t = options.tracePath {
            vopts.trace = t.hasSuffix(".fst") ? .fst : .vcd
            vopts.tracePath = t
        }
        let driver = try PortDriver.verilator(design, directory: options.workDirectory.appendingPathComponent("rtl"), options: vopts)
        driver.recordInputs = options.writeReplay
        let T = input.timeSteps, C = input.channels
        let K = input.lanes, Ko = output.lanes, Go = output.beats

        struct Beat { let data: Bits; let last: Bool; let user: Int }
        var beats: [Beat] = []
        for x in samples {
            precondition(x.shape == [T, N, C], "sample shape \(x.shape), expected [\(T), \(N), \(C)]")
            for n in 0..<N {
                for t in 0..<T {
                    for b in 0..<input.beats {
                        let counts = (0..<K).map { j in b * K + j < C ? UInt64(x[t, n, b * K + j]) : 0 }
                        let user = (b == 0 && t == 0 ? 2 : 0) | (b == 0 ? 1 : 0)
                        beats.append(Beat(data: PortDriver.pack(counts, laneWidth: input.countWidth, width: input.dataWidth),
                                          last: b == input.beats - 1, user: user))
                    }
                }
            }
        }
        let expectedOut = samples.count * No * T * Go
        var rng = SplitMix64(seed: options.seed ^ 0x5EED)
        var next = 0, received = 0, cycles = 0, idle = 0
        var mismatches: [Mismatch] = []
        var mismatchCount = 0
        var failed = Set<Int>()
        var protocolErrors: [String] = []
        func protocolError(_ s: Int?, _ text: String) {
            if let s { failed.insert(s) }
            if protocolErrors.count < 20 { protocolErrors.append(text) }
        }
        var offering = false
        var rtlOut = samples.map { _ in SpikeTensor(shape: [T, No, Co], repeating: 0) }
        let t0 = Date()
        let progressBar = ProgressLine("co-simulating \(samples.count) sample\(samples.count == 1 ? "" : "s") in Verilator", total: expectedOut / Go, unit: "vectors")
        defer { progressBar.finish() }
        driver.set("rst", 1)
        driver.tick()
        driver.set("rst", 0)
        var stuck: String?
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
                let v = received / Go, g = received % Go
                let s = v / (No * T), n = (v / T) % No, t = v % T
                let counts = driver.lanes("m_axis_tdata", count: Ko, laneWidth: output.countWidth)
                for j in 0..<Ko {
                    let c = g * Ko + j
                    if c >= Co {
                        if counts[j] != 0 { protocolError(s, "output beat \(received): slot \(j) past the \(Co) channels is \(counts[j])") }
                        continue
                    }
                    let actual = Int(counts[j]), want = Int(expected[s][t, n, c])
                    rtlOut[s].scalars[rtlOut[s].offset([t, n, c])] = UInt8(truncatingIfNeeded: actual)
                    if actual != want {
                        mismatchCount += 1
                        failed.insert(s)
                        if mismatches.count < options.reportLimit {
                            mismatches.append(Mismatch(sample: s, timeStep: t, token: n, channel: c, expected: want, actual: actual))
                        }
                    }
                }
                let last = driver.bit("m_axis_tlast"), user = driver.get("m_axis_tuser")
                let wantUser = UInt64((g == 0 && t == 0 ? 2 : 0) | (g == 0 ? 1 : 0))
                if last != (g == Go - 1) || user != wantUser {
                    protocolError(s, "output beat \(received) (sample \(s), token \(n), time step \(t), beat \(g)): tlast \(last), tuser \(user); expected tlast \(g == Go - 1), tuser \(wantUser)")
                }
                received += 1
                progress = true
            }
            driver.tick()
            cycles += 1
            if cycles & 0x3FFF == 0 { progressBar.update(received / Go) }
            idle = progress ? 0 : idle + 1
            if idle > 100_000 {
                stuck = "no progress for 100000 cycles after \(received) of \(expectedOut) output beats and \(next) of \(beats.count) input beats: the design is stuck"
                protocolError(received / (Go * No * T), stuck!)
                break
            }
        }
        if stuck == nil {
            // A few idle cycles: nothing more may come out.
            for _ in 0..<64 {
                driver.set("s_axis_tvalid", false)
                driver.set("m_axis_tready", true)
                driver.eval()
                if driver.bit("m_axis_tvalid") {
                    protocolError(samples.count - 1, "an extra output beat after the \(expectedOut) expected ones")
                    break
                }
                driver.tick()
            }
        }
        if driver.bit("s_axis_error") {
            protocolError(nil, "s_axis_error went high although the input followed the beat layout")
        }
        if let stop = NetworkCosim.stopMessage(driver) { protocolError(nil, stop) }
        let seconds = Date().timeIntervalSince(t0)
        var replay: URL?
        if options.writeReplay && (mismatchCount > 0 || !protocolErrors.isEmpty), let model = driver.model as? VerilatorModel {
            let dir = options.workDirectory.appendingPathComponent("replay")
            try model.writeReplay(to: dir, inputs: driver.recordedInputs, cycles: driver.cycle)
            let report = "Block stream co-simulation, seed \(options.seed): \(mismatchCount) mismatching count(s), "
                + "\(failed.count) of \(samples.count) sample(s) failed.\n"
                + mismatches.map { $0.description + "\n" }.joined()
                + protocolErrors.map { $0 + "\n" }.joined()
                + "Run 'bash replay.sh' here to rerun the Verilog on the same stimulus (cycle 0 is the reset) with a waveform.\n"
            try Data(report.utf8).write(to: dir.appendingPathComponent("mismatches.txt"))
            replay = dir
        }
        if replay == nil { removeWorkFiles(options.workDirectory, "rtl") }
        return Result(samples: samples.count, vectors: samples.count * No * T, cycles: cycles, mismatches: mismatches,
                      mismatchCount: mismatchCount, failedSamples: failed.count, protocolErrors: protocolErrors,
                      seconds: seconds, inputBeats: beats.count, outputs: rtlOut, replayDirectory: replay)
    }

    /// A run that leaves no replay leaves nothing behind: the Verilog written for Verilator goes
    /// (the built model is cached by the hash of that Verilog, not read from here), and the work
    /// directory with it when nothing else is in it.
    static func removeWorkFiles(_ work: URL, _ subdirectory: String) {
        let fm = FileManager.default
        try? fm.removeItem(at: work.appendingPathComponent(subdirectory))
        guard work.standardizedFileURL != fm.temporaryDirectory.standardizedFileURL else { return }
        if let rest = try? fm.contentsOfDirectory(atPath: work.path), rest.isEmpty { try? fm.removeItem(at: work) }
    }
}
