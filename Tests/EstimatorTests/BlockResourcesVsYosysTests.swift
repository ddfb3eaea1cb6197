import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim
@testable import Estimator

/// The resource estimate against Yosys `synth_xilinx` (the `qkforge calibrate` flow,
/// `YosysSynthesis`) on composite blocks, none of them among the designs the estimate was
/// calibrated on (docs/estimate-accuracy.md, "Composite blocks"). Each design is the one
/// `qkforge generate --model CONFIG --block ... --lanes P` writes (seed 1). LUT and FF within 10%,
/// block RAM and DSP exact. The QKCA blocks and the larger ones take minutes each in Yosys, so
/// they run only with `QKFORGE_BLOCK_YOSYS_ALL=1`.
/// Needs yosys (scripts/setup.sh installs it); without it the test fails rather than passing unchecked.
@Suite(.serialized) struct BlockResourcesVsYosysTests {
    struct Case: CustomStringConvertible, Sendable {
        enum Kind: String, Sendable { case mlp, qkta, qkca, ssa }
        let kind: Kind
        let dim: Int, heads: Int, tokens: Int, timeSteps: Int, lanes: Int
        var description: String { "\(kind == .mlp || kind == .ssa ? kind.rawValue : "block-\(kind.rawValue)") C\(dim) h\(heads) N\(tokens) T\(timeSteps) P\(lanes)" }
    }

    static let quick: [Case] = [
        Case(kind: .mlp, dim: 32, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
        Case(kind: .qkta, dim: 16, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
        Case(kind: .ssa, dim: 16, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
        Case(kind: .ssa, dim: 20, heads: 4, tokens: 10, timeSteps: 3, lanes: 5),
    ]
    static let slow: [Case] = [
        Case(kind: .mlp, dim: 24, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
        Case(kind: .qkca, dim: 16, heads: 2, tokens: 8, timeSteps: 2, lanes: 4),
        Case(kind: .qkta, dim: 24, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
        Case(kind: .qkca, dim: 24, heads: 2, tokens: 8, timeSteps: 2, lanes: 6),
    ]

    /// The design `generate` builds for the config (random weights, seed 1, block 0 of stage 1).
    static func design(_ c: Case) throws -> Design {
        let block = c.kind == .mlp || c.kind == .ssa ? c.kind.rawValue : "qkformer-block", attention = c.kind == .qkca ? "channel" : "token"
        let cfg = try BlockConfig.parse(json: Data(#"{"block": "\#(block)", "attention": "\#(attention)", "dim": \#(c.dim), "heads": \#(c.heads), "tokens": \#(c.tokens), "timeSteps": \#(c.timeSteps), "mlpRatio": 4}"#.utf8))
        return try Elaborate.run(try BlockModel.random(cfg, lanes: c.lanes, seed: 1).hardware.makeModule())
    }

    static func check(_ c: Case) throws {
        guard YosysSynthesis.executable() != nil else {
            Issue.record("yosys is not on PATH; run scripts/setup.sh (apt-get install yosys): a missing tool is a failure, not a pass")
            return
        }
        let design = try design(c)
        let est = ResourceModel.estimate(design).total
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-block-yosys-\(getpid())-\(c.kind.rawValue)-\(c.dim)-\(c.lanes)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let y = try YosysSynthesis.synthesize(design, in: dir)
        func pct(_ e: Int, _ r: Int) -> String { String(format: "%+.1f%%", 100 * Double(e - r) / Double(max(r, 1))) }
        print("BlockResourcesVsYosysTests \(c): LUT est \(est.luts) yosys \(y.luts) (\(pct(est.luts, y.luts))); FF est \(est.flipFlops) yosys \(y.flipFlops) (\(pct(est.flipFlops, y.flipFlops))); BRAM36/18 \(est.bram36)/\(est.bram18) vs \(y.bram36)/\(y.bram18); LUTRAM sites \(est.lutRAMSites) vs \(y.lutRAMSites); CARRY4 \(est.carry4) vs \(y.carry4); DSP \(est.dsps) vs \(y.dsps); yosys \(Int(y.seconds)) s")
        #expect(abs(Double(est.luts - y.luts)) <= 0.10 * Double(y.luts), "\(c): LUT")
        #expect(abs(Double(est.flipFlops - y.flipFlops)) <= 0.10 * Double(y.flipFlops), "\(c): FF")
        #expect(est.bram36 == y.bram36 && est.bram18 == y.bram18, "\(c): BRAM")
        #expect(est.dsps == y.dsps, "\(c): DSP")
    }

    @Test(.timeLimit(.minutes(5)), arguments: quick)
    func estimateMatchesYosys(_ c: Case) throws { try Self.check(c) }

    @Test(.timeLimit(.minutes(15)), .enabled(if: ProcessInfo.processInfo.environment["QKFORGE_BLOCK_YOSYS_ALL"] == "1"),
          arguments: slow)
    func estimateMatchesYosysSlow(_ c: Case) throws { try Self.check(c) }
}
