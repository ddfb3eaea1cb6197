import Description
import Foundation
import Testing
import HDL
import Blocks
import Cosim

/// The head against the formula of docs/arithmetic.md §8, computed here by a plain loop:
/// `z[k] = N*T*b[k] + sum_c W[k][c] * sum_{t,n} x[t][n][c]`, under random stalls on both sides,
/// several images back to back.
@Suite struct HeadTests {
    static func run(_ d: PortDriver, _ c: HeadConfig, images: [[[Int]]], inStall: Double, outStall: Double, seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let K = c.lanes, B = c.beats, cw = c.countWidth
        d.set("rst", 1); d.tick(); d.set("rst", 0)
        // The beats of every image, vector by vector (vectors in stream order: token, then time step).
        var beats: [(data: [UInt64], last: Bool, user: Int)] = []
        for img in images {
            for (v, vec) in img.enumerated() {
                for b in 0..<B {
                    let lanes = (0..<K).map { j in b * K + j < c.channels ? UInt64(vec[b * K + j]) : 0 }
                    let t = v % c.timeSteps
                    beats.append((lanes, b == B - 1, (b == 0 && t == 0 ? 2 : 0) | (b == 0 ? 1 : 0)))
                }
            }
        }
        let expected: [Int] = images.flatMap { img -> [Int] in
            (0..<c.classes).map { k in
                var z = c.vectorsPerImage * c.bias[k]
                for ch in 0..<c.channels { z += c.weights[k][ch] * img.reduce(0) { $0 + $1[ch] } }
                return z
            }
        }
        var sent = 0, got: [Int] = [], cycles = 0
        let aw = try c.accumulatorRange().signedWidth
        while got.count < expected.count {
            let offer = sent < beats.count && Double.random(in: 0..<1, using: &rng) >= inStall
            let ready = Double.random(in: 0..<1, using: &rng) >= outStall
            d.set("s_axis_tvalid", offer)
            if offer {
                d.set("s_axis_tdata", bits: PortDriver.pack(beats[sent].data, laneWidth: cw, width: K * cw))
                d.set("s_axis_tlast", beats[sent].last)
                d.set("s_axis_tuser", beats[sent].user)
            }
            d.set("m_axis_tready", ready)
            d.eval()
            if ready && d.bit("m_axis_tvalid") {
                let raw = d.get("m_axis_tdata")
                let z = aw == 64 ? Int(bitPattern: UInt(raw)) : (Int(raw) << (64 - aw)) >> (64 - aw)
                let k = got.count % c.classes
                #expect(d.bit("m_axis_tlast") == (k == c.classes - 1), "tlast on class \(k)")
                if z != expected[got.count] {
                    Issue.record("image \(got.count / c.classes) class \(k): z = \(z), expected \(expected[got.count]) (seed \(seed))")
                    return
                }
                got.append(z)
            }
            if offer && d.bit("s_axis_tready") { sent += 1 }
            d.tick()
            cycles += 1
            if cycles > 200_000 { Issue.record("stuck after \(got.count) values (seed \(seed))"); return }
        }
        #expect(d.get("s_axis_error") == 0)
    }

    static func random(_ rng: inout SplitMix64, channels: Int, lanes: Int, classes: Int, tokens: Int, T: Int, maxCount: Int) -> HeadConfig {
        HeadConfig(channels: channels, lanes: lanes, maxInputCount: maxCount, tokens: tokens, timeSteps: T,
                   weights: (0..<classes).map { _ in (0..<channels).map { _ in Int.random(in: -128...127, using: &rng) } },
                   bias: (0..<classes).map { _ in Int.random(in: -128...127, using: &rng) })
    }

    static func images(_ c: HeadConfig, count: Int, _ rng: inout SplitMix64) -> [[[Int]]] {
        (0..<count).map { _ in
            (0..<c.vectorsPerImage).map { _ in (0..<c.channels).map { _ in Double.random(in: 0..<1, using: &rng) < 0.4 ? Int.random(in: 0...c.maxInputCount, using: &rng) : 0 } }
        }
    }

    @Test(arguments: [(7, 3, 4, 5, 2, 4), (5, 5, 3, 3, 1, 2), (9, 1, 2, 4, 3, 6), (12, 4, 1, 2, 4, 16)])
    func matchesTheFormulaUnderStalls(channels: Int, lanes: Int, classes: Int, tokens: Int, T: Int, maxCount: Int) throws {
        let seed = TestSeed.value(default: 31)
        print("HeadTests C \(channels) K \(lanes) classes \(classes) seed \(seed)")
        var rng = SplitMix64(seed: seed &+ UInt64(channels * 1000 + lanes))
        let c = Self.random(&rng, channels: channels, lanes: lanes, classes: classes, tokens: tokens, T: T, maxCount: maxCount)
        let driver = try PortDriver.simulator(try Elaborate.run(try makeHead(c)))
        for (i, (a, b)) in [(0.0, 0.0), (0.4, 0.2), (0.1, 0.7)].enumerated() {
            try Self.run(driver, c, images: Self.images(c, count: 3, &rng), inStall: a, outStall: b, seed: seed &+ UInt64(i))
        }
    }

    @Test func verilatorAgrees() throws {
        let seed = TestSeed.value(default: 32)
        print("HeadTests verilator seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let c = Self.random(&rng, channels: 10, lanes: 4, classes: 3, tokens: 6, T: 2, maxCount: 5)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-head-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let driver = try PortDriver.verilator(try Elaborate.run(try makeHead(c)), directory: dir)
        try Self.run(driver, c, images: Self.images(c, count: 4, &rng), inStall: 0.3, outStall: 0.3, seed: seed)
    }
}
