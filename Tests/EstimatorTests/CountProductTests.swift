import Description
import Foundation
import Testing
import HDL
import Blocks
@testable import Estimator

/// The accumulator's `count x weight` product: with two-bit counts (0 to 3, the residual sum of
/// two or three spike streams) it is a shift-and-add in logic, with wider counts a multiplier
/// (`SpikeAccumulatorPipeline.shiftAddProduct`). Checked in Yosys `synth_xilinx` as well as in
/// the estimate, so that the rule describes what synthesis really builds: an 8-bit weight times
/// a two-bit count is 10 bits, which Yosys would otherwise map to a DSP48E1 per lane.
/// Bit-exactness of both forms is `AccumulatorTests` (maxCount 3 and 5 in its sweep).
@Suite(.serialized) struct CountProductTests {
    static func accumulator(maxCount: Int, lanes: Int) throws -> Design {
        var rng = SplitMix64(seed: 0xC0DE)
        let weights = (0..<lanes).map { _ in (0..<6).map { _ in Int(rng.next() % 255) - 127 } }
        let m = try makeSpikeAccumulator(SpikeAccumulatorConfig(weights: weights, lanes: lanes, maxCount: maxCount))
        return try Elaborate.run(m)
    }

    @Test(arguments: [(3, 0), (5, 4)])
    func productIsLogicForTwoBitCountsAndAMultiplierAbove(maxCount: Int, dsps: Int) throws {
        let design = try Self.accumulator(maxCount: maxCount, lanes: 4)
        let est = ResourceModel.estimate(design).total
        #expect(est.dsps == dsps, "estimate, maxCount \(maxCount)")
        guard YosysSynthesis.executable() != nil else {
            Issue.record("yosys is not on PATH; run scripts/setup.sh (apt-get install yosys): a missing tool is a failure, not a pass")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-count-product-\(getpid())-\(maxCount)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let y = try YosysSynthesis.synthesize(design, in: dir)
        print("CountProductTests maxCount \(maxCount): DSP est \(est.dsps) yosys \(y.dsps); LUT est \(est.luts) yosys \(y.luts); CARRY4 est \(est.carry4) yosys \(y.carry4)")
        #expect(y.dsps == dsps, "Yosys, maxCount \(maxCount)")
        #expect(abs(Double(est.luts - y.luts)) <= 0.10 * Double(y.luts), "LUT, maxCount \(maxCount): est \(est.luts) yosys \(y.luts)")
    }
}
