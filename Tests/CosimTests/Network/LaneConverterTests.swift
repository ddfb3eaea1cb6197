import Description
import Foundation
import Testing
import HDL
import Blocks
import Cosim

/// The lane converter regroups a count stream's beats and changes nothing else: random vectors
/// in, the same vectors out in the other beat layout (tlast, tuser, zero slots), under random
/// stalls on both sides, in the IR simulator and in Verilator; a malformed input raises the error.
@Suite struct LaneConverterTests {
    typealias Beat = (data: [UInt64], last: Bool, user: Int)

    static func beats(_ vectors: [[UInt64]], _ f: CountStreamFormat) -> [Beat] {
        var out: [Beat] = []
        for (v, vec) in vectors.enumerated() {
            for b in 0..<f.beats {
                let lanes = (0..<f.lanes).map { j in b * f.lanes + j < f.channels ? vec[b * f.lanes + j] : 0 }
                out.append((lanes, b == f.beats - 1, (b == 0 && v % f.timeSteps == 0 ? 2 : 0) | (b == 0 ? 1 : 0)))
            }
        }
        return out
    }

    /// Drives `vectors` through; returns the output beats (data as lanes) and whether the error rose.
    static func run(_ d: PortDriver, _ c: LaneConverterConfig, _ input: [Beat], expected: Int, seed: UInt64, stall: Double) -> (out: [Beat], error: Bool, cycles: Int) {
        var rng = SplitMix64(seed: seed)
        let w = c.input.countWidth, Ko = c.outputLanes
        d.set("rst", 1); d.tick(); d.set("rst", 0)
        var sent = 0, out: [Beat] = [], cycles = 0
        while out.count < expected && cycles < 100_000 {
            let offer = sent < input.count && Double.random(in: 0..<1, using: &rng) >= stall
            let ready = Double.random(in: 0..<1, using: &rng) >= stall
            d.set("s_axis_tvalid", offer)
            if offer {
                d.set("s_axis_tdata", bits: PortDriver.pack(input[sent].data, laneWidth: w, width: c.input.lanes * w))
                d.set("s_axis_tlast", input[sent].last)
                d.set("s_axis_tuser", input[sent].user)
            }
            d.set("m_axis_tready", ready)
            d.eval()
            if ready && d.bit("m_axis_tvalid") {
                let raw = d.get("m_axis_tdata")
                let lanes = (0..<Ko).map { j in (raw >> UInt64(j * w)) & ((1 << UInt64(w)) - 1) }
                out.append((lanes, d.bit("m_axis_tlast"), Int(d.get("m_axis_tuser"))))
            }
            if offer && d.bit("s_axis_tready") { sent += 1 }
            d.tick()
            cycles += 1
        }
        return (out, d.get("s_axis_error") != 0, cycles)
    }

    static func check(_ d: PortDriver, _ c: LaneConverterConfig, seed: UInt64, stall: Double) {
        var rng = SplitMix64(seed: seed)
        let maxCount = UInt64((1 << c.input.countWidth) - 1)
        let vectors = (0..<(3 * c.input.timeSteps)).map { _ in (0..<c.input.channels).map { _ in rng.next() % (maxCount + 1) } }
        let expected = beats(vectors, c.outputFormat)
        let r = run(d, c, beats(vectors, c.input), expected: expected.count, seed: seed, stall: stall)
        #expect(r.out.count == expected.count, "\(r.out.count) of \(expected.count) beats (seed \(seed))")
        for (k, (got, want)) in zip(r.out, expected).enumerated() where got.data != want.data || got.last != want.last || got.user != want.user {
            Issue.record("beat \(k): got \(got), expected \(want) (\(c.input.lanes) -> \(c.outputLanes) lanes, seed \(seed))")
            break
        }
        #expect(!r.error, "no error on a well-formed stream")
    }

    @Test(arguments: [(10, 3, 4), (10, 4, 3), (7, 7, 2), (6, 1, 6), (12, 5, 5), (9, 16, 2), (40, 8, 1)])
    func regroupsUnderStalls(channels: Int, inLanes: Int, outLanes: Int) throws {
        let seed = TestSeed.value(default: UInt64(100 + channels * 10 + inLanes))
        print("LaneConverterTests \(channels) channels \(inLanes) -> \(outLanes) seed \(seed)")
        let c = LaneConverterConfig(input: CountStreamFormat(channels: channels, lanes: inLanes, countWidth: 2, timeSteps: 2), outputLanes: outLanes)
        let d = try PortDriver.simulator(try Elaborate.run(try makeLaneConverter(c)))
        Self.check(d, c, seed: seed, stall: 0.3)
    }

    @Test func verilatorAgreesAndFullRateWithoutStalls() throws {
        let seed = TestSeed.value(default: 7)
        print("LaneConverterTests verilator seed \(seed)")
        let c = LaneConverterConfig(input: CountStreamFormat(channels: 20, lanes: 8, countWidth: 3, timeSteps: 3), outputLanes: 3)
        let design = try Elaborate.run(try makeLaneConverter(c))
        let findings = try LintTests.emitAndLint(try makeLaneConverter(c))
        #expect(findings.isEmpty, "\(findings)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-lanes-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try PortDriver.verilator(design, directory: dir)
        Self.check(d, c, seed: seed, stall: 0.25)
        // Without stalls a vector takes max(3, 7) = 7 cycles: 9 vectors in 63 cycles plus the first fill.
        let vectors = (0..<9).map { v in (0..<20).map { UInt64(($0 + v) % 8) } }
        let r = Self.run(d, c, Self.beats(vectors, c.input), expected: 9 * 7, seed: seed, stall: 0)
        #expect(r.out.count == 63 && r.cycles <= 63 + 3 + 1, "\(r.cycles) cycles for 63 output beats")
    }

    @Test func malformedInputRaisesTheError() throws {
        let c = LaneConverterConfig(input: CountStreamFormat(channels: 6, lanes: 4, countWidth: 1, timeSteps: 2), outputLanes: 6)
        let d = try PortDriver.simulator(try Elaborate.run(try makeLaneConverter(c)))
        // tlast on the first of two beats.
        let bad: [Beat] = [([1, 0, 1, 0], true, 3), ([1, 1, 0, 0], true, 0)]
        let r = Self.run(d, c, bad, expected: 1, seed: 1, stall: 0)
        #expect(r.error)
    }
}
