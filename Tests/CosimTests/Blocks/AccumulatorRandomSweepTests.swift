import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// Extra sweep points beyond the Verilator build: random layer shapes, lanes, counts and forced
/// widths, run in the IR simulator against `Golden.LinearLayer`.
@Suite struct AccumulatorRandomSweepTests {
    static let cycles = 3_000

    @Test func randomAccumulatorParametersInSimulator() throws {
        let seed = TestSeed.value(default: 0x5EED_AC)
        print("AccumulatorRandomSweepTests seed \(seed)")
        var rng = SplitMix64(seed: seed)
        var cases: [(String, LayerCase)] = []
        for i in 0..<16 {
            let cin = rng.int(1...20), cout = rng.int(1...20)
            let weightBits = rng.int(2...8), biasRange = rng.int(0...40)
            var layer = try LayerCase(inputs: cin, outputs: cout, lanes: rng.int(1...8), maxCount: rng.int(1...4),
                                      weightBits: weightBits, biasRange: biasRange, rng: &rng)
            if rng.chance(0.5) {
                // Force a width between the bias's and a little past the exact one.
                let exact = try layer.config.widths().exactAccumulator
                let floor = Interval(-biasRange, biasRange).signedWidth
                let forced = rng.int(max(2, floor)...max(2, floor, exact + 1))
                var sub = rng
                layer = try LayerCase(inputs: cin, outputs: cout, lanes: layer.config.lanes, maxCount: layer.config.maxCount,
                                      weightBits: weightBits, biasRange: biasRange, accumulatorWidth: forced, rng: &sub)
                rng = sub
            }
            cases.append(("r\(i)", layer))
        }
        let parts = try cases.map { SweepTop.Part(prefix: $0.0, module: try makeSpikeAccumulator($0.1.config),
                                                  lanes: ["out_current": try $0.1.config.widths().accumulator]) }
        let driver = try PortDriver.simulator(try Elaborate.run(SweepTop.make("accumulator_random", parts)))
        let benches = cases.map { AccumulatorBench($0.0, $0.1, driver: driver, seed: rng.next(), stalls: true) }
        let t0 = Date()
        SweepRunner.run(driver, benches, cycles: Self.cycles)
        print("IR simulator: \(cases.count) accumulators, \(Self.cycles) cycles in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
        for b in benches {
            print(b.summary)
            #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))")
        }
    }
}
