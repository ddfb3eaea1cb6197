import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The stream FIFO under random stalls on both sides: every beat comes out once, in order,
/// never more than `depth` are held, and without stalls it moves one beat per cycle.
@Suite struct StreamFIFOTests {
    /// Pushes `count` random beats through, with the producer idle and the consumer not ready
    /// with the given probabilities. Returns the cycles taken.
    static func run(_ driver: PortDriver, width: Int, depth: Int, count: Int, inStall: Double, outStall: Double,
                    seed: UInt64) throws -> Int {
        var rng = SplitMix64(seed: seed)
        let mask: UInt64 = width >= 64 ? ~0 : (1 << UInt64(width)) - 1
        let beats = (0..<count).map { _ in UInt64.random(in: 0...UInt64.max, using: &rng) & mask }
        driver.set("rst", 1)
        driver.tick()
        driver.set("rst", 0)
        var sent = 0, received = 0, cycles = 0, held = 0
        var offering = false
        while received < count {
            if !offering && sent < count && Double.random(in: 0..<1, using: &rng) >= inStall { offering = true }
            let ready = Double.random(in: 0..<1, using: &rng) >= outStall
            driver.set("in_valid", offering)
            driver.set("in_data", Int(bitPattern: UInt(offering ? beats[sent] : 0)))
            driver.set("out_ready", ready)
            driver.eval()
            #expect(Int(driver.get("level")) == held, "level \(driver.get("level")), holding \(held)")
            #expect(driver.bit("in_ready") == (held < depth), "in_ready must be exactly 'not full' (level \(held) of \(depth))")
            #expect(driver.bit("out_valid") == (held > 0), "out_valid must be exactly 'not empty'")
            if ready && driver.bit("out_valid") {
                let got = driver.get("out_data")
                if got != beats[received] {
                    Issue.record("beat \(received): got \(got), sent \(beats[received]) (seed \(seed))")
                    return cycles
                }
                received += 1
                held -= 1
            }
            if offering && driver.bit("in_ready") {
                sent += 1
                held += 1
                offering = false
            }
            driver.tick()
            cycles += 1
            if cycles > 100 * count + 100 { Issue.record("stuck after \(received) beats"); return cycles }
        }
        driver.set("in_valid", false)
        driver.eval()
        #expect(!driver.bit("out_valid"), "nothing is left after the last beat")
        return cycles
    }

    @Test(arguments: [(width: 1, depth: 1), (width: 7, depth: 2), (width: 13, depth: 3), (width: 64, depth: 5), (width: 9, depth: 16)])
    func randomStallsKeepOrder(width: Int, depth: Int) throws {
        let seed = TestSeed.value(default: 11)
        print("StreamFIFOTests width \(width) depth \(depth) seed \(seed)")
        let design = try Elaborate.run(try makeStreamFIFO(StreamFIFOConfig(width: width, depth: depth)))
        let driver = try PortDriver.simulator(design)
        for (i, (a, b)) in [(0.5, 0.1), (0.1, 0.5), (0.3, 0.3), (0.0, 0.8)].enumerated() {
            _ = try Self.run(driver, width: width, depth: depth, count: 400, inStall: a, outStall: b, seed: seed &+ UInt64(i))
        }
    }

    @Test(arguments: [2, 3, 8])
    func fullThroughputWithoutStalls(depth: Int) throws {
        let design = try Elaborate.run(try makeStreamFIFO(StreamFIFOConfig(width: 5, depth: depth)))
        let driver = try PortDriver.simulator(design)
        let cycles = try Self.run(driver, width: 5, depth: depth, count: 300, inStall: 0, outStall: 0, seed: 3)
        // One beat per cycle plus the one cycle a beat takes to cross.
        #expect(cycles == 301, "300 beats took \(cycles) cycles")
    }

    @Test func verilatorAgreesUnderStalls() throws {
        let seed = TestSeed.value(default: 12)
        print("StreamFIFOTests verilator seed \(seed)")
        let design = try Elaborate.run(try makeStreamFIFO(StreamFIFOConfig(width: 11, depth: 3)))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-fifo-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let driver = try PortDriver.verilator(design, directory: dir)
        _ = try Self.run(driver, width: 11, depth: 3, count: 2000, inStall: 0.3, outStall: 0.3, seed: seed)
    }
}
