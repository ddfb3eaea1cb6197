import Description
import Foundation
import HDL
import Blocks
import Golden
import Cosim

/// A Verilator co-simulation for modules whose input and output streams have different shapes
/// (a convolution changes channels and tokens; the stem reads pixels): the input beats are
/// given as they are, the output is a count stream in `CountStreamFormat`, read into
/// `[T][N][C]` per sample and compared with the expected tensors. Random stalls on both sides.
enum ConvCosim {
    struct InputBeat {
        var data: Bits
        var last: Bool
        var user: Int?
    }

    struct Result {
        var mismatches: [String] = []
        var mismatchCount = 0
        var protocolErrors: [String] = []
        var cycles = 0
        var inputBeatsTaken = 0
        var outputBeats = 0
        var outputs: [SpikeTensor] = []
        var passed: Bool { mismatchCount == 0 && protocolErrors.isEmpty }
    }

    /// The input beats of count samples `[T][N][C]` in a count stream format.
    static func countBeats(_ samples: [SpikeTensor], format f: CountStreamFormat) -> [[InputBeat]] {
        samples.map { x in
            let T = x.shape[0], N = x.shape[1], C = x.shape[2]
            var beats: [InputBeat] = []
            for n in 0..<N {
                for t in 0..<T {
                    for b in 0..<f.beats {
                        // Slots past C carry garbage: the module must ignore them.
                        let counts = (0..<f.lanes).map { j in b * f.lanes + j < C ? UInt64(x[t, n, b * f.lanes + j]) : UInt64((n + j) % 2) }
                        beats.append(InputBeat(data: PortDriver.pack(counts, laneWidth: f.countWidth, width: f.dataWidth),
                                               last: b == f.beats - 1, user: (b == 0 && t == 0 ? 2 : 0) | (b == 0 ? 1 : 0)))
                    }
                }
            }
            return beats
        }
    }

    /// Streams the beats and compares. With `stopAfterTokens`, `m_axis_tready` stays low once
    /// that many output tokens (of sample 0) were taken, and the run ends after `idleLimit`
    /// cycles without progress: `inputBeatsTaken` then says how far the module read ahead.
    static func run(_ design: Design, input: [[InputBeat]], output f: CountStreamFormat, outTokens N: Int,
                    expected: [SpikeTensor], inputStall: Double, outputStall: Double, seed: UInt64,
                    stopAfterTokens: Int? = nil, inputLimit: Int? = nil, idleLimit: Int = 20_000) throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-conv-cosim-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let driver = try PortDriver.verilator(design, directory: dir)
        let T = f.timeSteps, C = f.channels, G = f.beats, Ko = f.lanes
        var beats = input.flatMap { $0 }
        if let l = inputLimit { beats = Array(beats.prefix(l)) }
        let hasUser = driver.has("s_axis_tuser")
        var r = Result()
        r.outputs = expected.map { _ in SpikeTensor(shape: [T, N, C], repeating: 0) }
        let expectedOut = expected.count * N * T * G
        let stopBeats = stopAfterTokens.map { $0 * T * G }
        var rng = SplitMix64(seed: seed ^ 0xC0417)
        var next = 0, received = 0, idle = 0, offering = false
        driver.set("rst", 1)
        driver.tick()
        driver.set("rst", 0)
        while received < expectedOut {
            if !offering && next < beats.count && Double.random(in: 0..<1, using: &rng) >= inputStall { offering = true }
            driver.set("s_axis_tvalid", offering)
            if offering {
                driver.set("s_axis_tdata", bits: beats[next].data)
                driver.set("s_axis_tlast", beats[next].last)
                if hasUser { driver.set("s_axis_tuser", beats[next].user ?? 0) }
            }
            var ready = Double.random(in: 0..<1, using: &rng) >= outputStall
            if let s = stopBeats, received >= s { ready = false }
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
                let counts = driver.lanes("m_axis_tdata", count: Ko, laneWidth: f.countWidth)
                for j in 0..<Ko {
                    let c = g * Ko + j
                    if c >= C {
                        if counts[j] != 0 { r.protocolErrors.append("beat \(received): slot \(j) past C is \(counts[j])") }
                        continue
                    }
                    let actual = Int(counts[j]), want = Int(expected[s][t, n, c])
                    r.outputs[s].scalars[r.outputs[s].offset([t, n, c])] = UInt8(truncatingIfNeeded: actual)
                    if actual != want {
                        r.mismatchCount += 1
                        if r.mismatches.count < 20 {
                            r.mismatches.append("sample \(s), time step \(t), token \(n), channel \(c): golden \(want), RTL \(actual)")
                        }
                    }
                }
                let last = driver.bit("m_axis_tlast"), user = driver.get("m_axis_tuser")
                let wantUser = UInt64((g == 0 && t == 0 ? 2 : 0) | (g == 0 ? 1 : 0))
                if (last != (g == G - 1) || user != wantUser) && r.protocolErrors.count < 20 {
                    r.protocolErrors.append("beat \(received) (sample \(s), token \(n), t \(t), beat \(g)): tlast \(last) tuser \(user), expected \(g == G - 1) \(wantUser)")
                }
                received += 1
                progress = true
            }
            driver.tick()
            r.cycles += 1
            idle = progress ? 0 : idle + 1
            if idle > idleLimit {
                if stopBeats == nil && inputLimit == nil {
                    r.protocolErrors.append("stuck: no progress for \(idleLimit) cycles after \(received) of \(expectedOut) output beats and \(next) of \(beats.count) input beats")
                }
                break
            }
        }
        if stopBeats == nil && inputLimit == nil && r.protocolErrors.isEmpty {
            for _ in 0..<64 {
                driver.set("s_axis_tvalid", false)
                driver.set("m_axis_tready", true)
                driver.eval()
                if driver.bit("m_axis_tvalid") { r.protocolErrors.append("an extra output beat"); break }
                driver.tick()
            }
        }
        if driver.has("s_axis_error") && driver.bit("s_axis_error") { r.protocolErrors.append("s_axis_error went high") }
        r.inputBeatsTaken = next
        r.outputBeats = received
        return r
    }
}
