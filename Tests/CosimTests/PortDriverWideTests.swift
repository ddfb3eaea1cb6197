import Description
import Foundation
import Testing
import HDL
import Golden
import Cosim

/// Ports wider than 64 bits through `PortDriver`: count vectors of many lanes are written and
/// read as lanes, and a wide sum checks the carries between words on both simulators.
@Suite struct PortDriverWideTests {
    static func design() throws -> Design {
        let m = Module("wide_ports", doc: "Wide-port test circuit.")
        let a = m.input("a", width: 150)
        let b = m.input("b", width: 150)
        m.output("echo", a)
        m.output("sum", a +& b)
        return try Elaborate.run(m)
    }

    /// The reference sum of two 150-bit numbers given as 50 lanes of 3 bits, as lanes.
    static func referenceSum(_ x: [UInt64], _ y: [UInt64]) -> [UInt64] {
        // Add lane by lane in base 8 with a carry: independent of the packing code.
        var out: [UInt64] = [], carry: UInt64 = 0
        for j in 0..<x.count {
            let s = x[j] + y[j] + carry
            out.append(s & 7)
            carry = s >> 3
        }
        out.append(carry)
        return out
    }

    func exercise(_ driver: PortDriver, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for trial in 0..<200 {
            let x = (0..<50).map { _ in UInt64.random(in: 0...7, using: &rng) }
            // Some all-ones vectors, so carries ripple across every 32- and 64-bit boundary.
            let y = trial % 10 == 0 ? [UInt64](repeating: 7, count: 50) : (0..<50).map { _ in UInt64.random(in: 0...7, using: &rng) }
            driver.set("a", lanes: x, laneWidth: 3)
            driver.set("b", lanes: y, laneWidth: 3)
            driver.eval()
            #expect(driver.lanes("echo", count: 50, laneWidth: 3) == x, "trial \(trial), seed \(seed)")
            #expect(driver.lanes("sum", count: 51, laneWidth: 3).prefix(50) == Self.referenceSum(x, y).prefix(50), "trial \(trial), seed \(seed)")
            #expect(driver.bits("sum").bit(150) == (Self.referenceSum(x, y)[50] == 1), "trial \(trial), seed \(seed)")
            #expect(driver.bit("echo") == x.contains { $0 != 0 })
            driver.tick()
        }
    }

    @Test func packUnpackRoundTrip() {
        let seed = TestSeed.value(default: 5)
        var rng = SplitMix64(seed: seed)
        for w in [1, 3, 7, 31, 33, 63, 64] {
            let n = 300 / w
            let mask: UInt64 = w == 64 ? ~0 : (1 << UInt64(w)) - 1
            let v = (0..<n).map { _ in UInt64.random(in: 0...UInt64.max, using: &rng) & mask }
            let packed = PortDriver.pack(v, laneWidth: w, width: 300)
            #expect(PortDriver.unpack(packed, count: n, laneWidth: w) == v, "lane width \(w), seed \(seed)")
            for j in 0..<n { for b in 0..<w { #expect(packed.bit(j * w + b) == ((v[j] >> UInt64(b)) & 1 == 1)) } }
        }
    }

    @Test func wideOnSimulator() throws {
        let seed = TestSeed.value(default: 6)
        print("PortDriverWideTests simulator seed \(seed)")
        exercise(try PortDriver.simulator(try Self.design()), seed: seed)
    }

    @Test func wideOnVerilator() throws {
        let seed = TestSeed.value(default: 7)
        print("PortDriverWideTests verilator seed \(seed)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-wideports-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        exercise(try PortDriver.verilator(try Self.design(), directory: dir), seed: seed)
    }
}
