import Description
import Foundation
import Testing
import HDL
import Blocks
import Cosim

/// Extra sweep points beyond the Verilator builds: random parameter sets of every router block,
/// run in the IR simulator (no build), each against the same models as in Verilator.
@Suite struct RouterRandomSweepTests {
    static let cycles = 3_000

    @Test func randomEncoderParametersInSimulator() throws {
        let seed = TestSeed.value(default: 0x5EED_E1)
        print("RouterRandomSweepTests.encoders seed \(seed)")
        var rng = SplitMix64(seed: seed)
        var configs: [(String, EventEncoderConfig)] = []
        for i in 0..<14 {
            let c = rng.int(1...40)
            let k = rng.int(1...c)
            let config = EventEncoderConfig(channels: c, chunkChannels: k, countWidth: rng.int(1...3), slots: rng.int(1...min(k, 5)))
            configs.append(("e\(i)", config))
        }
        let top = SweepTop.make("encoder_random", try configs.map { .init(prefix: $0.0, module: try makeEventEncoder($0.1)) })
        let driver = try PortDriver.simulator(try Elaborate.run(top))
        let benches = configs.map { EncoderBench($0.0, $0.1, driver: driver, seed: rng.next(), stalls: true) }
        let t0 = Date()
        SweepRunner.run(driver, benches, cycles: Self.cycles)
        print("IR simulator: \(configs.count) encoders, \(Self.cycles) cycles in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
        for b in benches {
            print(b.summary)
            #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))")
        }
    }

    @Test func randomRoutingParametersInSimulator() throws {
        let seed = TestSeed.value(default: 0x5EED_E2)
        print("RouterRandomSweepTests.routing seed \(seed)")
        var rng = SplitMix64(seed: seed)
        var parts: [SweepTop.Part] = []
        var splits: [(String, HeadSplitConfig)] = []
        var merges: [(String, StreamMergeConfig)] = []
        var broadcasts: [(String, StreamBroadcastConfig)] = []
        for i in 0..<6 {
            let h = rng.int(1...6), d = rng.int(1...8)
            let s = HeadSplitConfig(channels: h * d, heads: h, countWidth: rng.int(1...3), localChannels: rng.chance(0.5))
            splits.append(("s\(i)", s))
            parts.append(.init(prefix: "s\(i)", module: try makeHeadSplit(s)))
            let layout = EventStreamFormat(channels: rng.int(1...50), countWidth: rng.int(1...3), slots: rng.int(1...3)).layout
            let mg = StreamMergeConfig(layout: layout, producers: rng.int(1...5))
            merges.append(("m\(i)", mg))
            parts.append(.init(prefix: "m\(i)", module: try makeStreamMerge(mg)))
            let bc = StreamBroadcastConfig(layout: layout, consumers: rng.int(1...4))
            broadcasts.append(("b\(i)", bc))
            parts.append(.init(prefix: "b\(i)", module: try makeStreamBroadcast(bc)))
        }
        let driver = try PortDriver.simulator(try Elaborate.run(SweepTop.make("routing_random", parts)))
        let sp = splits.map { SplitBench($0.0, $0.1, driver: driver, seed: rng.next()) }
        let mg = merges.map { MergeBench($0.0, $0.1, driver: driver, seed: rng.next(), backlogged: false) }
        let bc = broadcasts.map { BroadcastBench($0.0, $0.1, driver: driver, seed: rng.next()) }
        let t0 = Date()
        SweepRunner.run(driver, sp + mg + bc, cycles: Self.cycles)
        print("IR simulator: \(parts.count) routing blocks, \(Self.cycles) cycles in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
        for b in sp { print(b.summary); #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))") }
        for b in mg { print(b.summary); #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))") }
        for b in bc { print(b.summary); #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))") }
    }

    /// The protocol checker itself: a producer that drops valid and changes its payload while
    /// stalled must be reported.
    @Test func protocolCheckerCatchesAViolatingProducer() throws {
        let m = Module("bad_producer")
        let count = m.reg("count", width: 4, reset: 0)
        m.next(count, count +% .const(1, width: 4))
        _ = m.input("out_ready", width: 1)
        m.output("out_valid", count.bit(0) | count.bit(1))
        m.output("out_data", count)
        let top = SweepTop.make("bad_top", [.init(prefix: "x", module: m)])
        let driver = try PortDriver.simulator(try Elaborate.run(top))
        let sink = StreamSink(Bus(driver: driver, prefix: "x"), "out", profile: StallProfile(seed: 1, choices: [0.5])) { $0.get("out_data") }
        for c in 0..<200 {
            sink.drive()
            driver.eval()
            _ = sink.observe(cycle: c)
            driver.tick()
        }
        #expect(sink.violations.contains { $0.contains("valid dropped") })
        #expect(sink.violations.contains { $0.contains("payload changed") })
    }
}
