import Description
import Foundation
import Testing
@testable import Golden

// The integer golden LIF against spikingjelly's float LIF equations in float64, run by
// lif_float_reference.py (beside this file). In exact mode (E = T*k) the two must agree bit for
// bit: spikes, and H and V scaled by 2^F. python3 with numpy is required; without it this test
// fails with a message, it never passes silently.

private struct FloatCase: Codable {
    var k: Int
    var Fw: Int
    var F: Int
    var threshold: Int64
    var vReset: Int64?
    var decayInput: Bool
    var x: [[Int64]]          // [T][N] currents on the weight grid
}

private struct FloatResult: Codable {
    var spikes: [[Int]]
    var hidden: [[Scaled]]
    var membrane: [[Scaled]]
}

/// An exactly scaled value, or the text of one that was not an integer on the grid.
private enum Scaled: Codable, Equatable {
    case exact(Int64)
    case inexact(String)
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int64.self) { self = .exact(v) } else { self = .inexact(try c.decode(String.self)) }
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self { case .exact(let v): try c.encode(v); case .inexact(let s): try c.encode(s) }
    }
}

private struct Reply: Codable { var results: [FloatResult] }

/// Runs the Python reference on `cases`; records an issue and returns nil when it cannot run.
private func runReference(_ cases: [FloatCase]) throws -> [FloatResult]? {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("lif_float_reference.py")
    guard FileManager.default.fileExists(atPath: script.path) else {
        Issue.record("missing \(script.path)")
        return nil
    }
    let input = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-lif-\(UUID().uuidString).json")
    try JSONEncoder().encode(["cases": cases]).write(to: input)
    defer { try? FileManager.default.removeItem(at: input) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script.path, input.path]
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do { try process.run() } catch {
        Issue.record("cannot start python3 (needed for the float cross-check; install python3 and numpy): \(error)")
        return nil
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        Issue.record("python3 lif_float_reference.py failed (status \(process.terminationStatus)); python3 with numpy is required: \(stderr)")
        return nil
    }
    return try JSONDecoder().decode(Reply.self, from: stdout).results
}

/// A random exact-mode case: currents on 2^-Fw, E = T*k, threshold and reset value on 2^-F.
/// A soft reset subtracts the threshold, so its threshold must lie on the grid 2^-(Fw + k)
/// (a multiple of 2^((T-1)k)) for later shifts to stay exact; a hard reset has no such need.
private func randomCase(_ rng: inout SplitMix64) -> (FloatCase, LIFParameters) {
    let t = Int.random(in: 1...8, using: &rng), k = Int.random(in: 0...3, using: &rng)
    let fw = Int.random(in: 0...4, using: &rng), e = t * k, f = fw + e
    let n = 48
    let hard = Bool.random(using: &rng)
    let one = Int64(1) << Int64(f)                        // 1.0 on the membrane grid
    var th = Int64.random(in: -one...(3 * one), using: &rng)
    if !hard { th = (th >> Int64((t - 1) * k)) << Int64((t - 1) * k) }
    if Int.random(in: 0..<6, using: &rng) == 0 { th = one }       // QKFormer's 1.0
    let vr: Int64? = hard ? Int64.random(in: -one...one, using: &rng) : nil
    let decay = Int.random(in: 0..<4, using: &rng) != 0
    let span = Int64(1) << Int64(fw + 2)
    let x = (0..<t).map { _ in (0..<n).map { _ in Int64.random(in: -span...(2 * span), using: &rng) } }
    let p = LIFParameters(k: k, threshold: th, reset: vr.map { .hard($0) } ?? .soft, decayInput: decay,
                          fractionBits: f, inputShift: e)
    return (FloatCase(k: k, Fw: fw, F: f, threshold: th, vReset: vr, decayInput: decay, x: x), p)
}

@Test func integerLIFEqualsSpikingjellyFloatInExactMode() throws {
    var rng = SplitMix64(seed: try TestSeed.named("integerLIFEqualsSpikingjellyFloatInExactMode"))
    var cases: [FloatCase] = [], params: [LIFParameters] = []
    for _ in 0..<300 {
        let (c, p) = randomCase(&rng)
        cases.append(c)
        params.append(p)
    }
    guard let results = try runReference(cases) else { return }
    try #require(results.count == cases.count)
    var mismatches = 0
    for (index, (c, p)) in zip(cases, params).enumerated() {
        let r = results[index]
        let n = c.x[0].count
        var bank = LIFBank(count: n, parameters: p)
        for t in c.x.indices {
            let spikes = bank.step(currents: c.x[t])
            let ok = spikes.map(Int.init) == r.spikes[t]
                && bank.hidden.map(Scaled.exact) == r.hidden[t]
                && bank.membrane.map(Scaled.exact) == r.membrane[t]
            if !ok {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record("case \(index) step \(t) \(p): golden S \(spikes) H \(bank.hidden) V \(bank.membrane); float S \(r.spikes[t]) H \(r.hidden[t]) V \(r.membrane[t])")
                }
            }
        }
    }
    #expect(mismatches == 0)
    // The cases must actually exercise firing, resets and negative membranes.
    let fired = results.reduce(0) { $0 + $1.spikes.joined().reduce(0, +) }
    #expect(fired > 1000)
}

@Test func floatReferenceSeesFloorRoundingOutsideExactMode() throws {
    // A smaller E is allowed, and then the floor rounding is part of the contract: with
    // E = 0, k = 1, the current 1 (Fw = 0, F = 0) gives H = 1 >>> 1 = 0, while the float LIF has
    // 0.5. The cross-check must notice (an inexact scaled value), proving it can fail.
    let c = FloatCase(k: 1, Fw: 0, F: 0, threshold: 4, vReset: 0, decayInput: true, x: [[1]])
    guard let r = try runReference([c]) else { return }
    #expect(r[0].hidden[0][0] == .inexact("0.5"))
    #expect(LIFParameters(k: 1, threshold: 4).step(membrane: 0, current: 1).hidden == 0)
}
