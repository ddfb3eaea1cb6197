import Foundation
import Testing
import HDL
import Blocks
import Cosim
@testable import Estimator

/// The estimate against Yosys on two small designs (the `qkforge calibrate --subset ci` pair).
/// Needs yosys (scripts/setup.sh installs it); without it the test fails rather than passing unchecked.
@Suite struct YosysCalibrationTests {
    static func small(_ kind: BlockKind) throws -> Design {
        var c = try BlockConfig.named("hst-4-384", stage: 1, block: kind)
        c.dim = 16; c.heads = 2; c.timeSteps = 2; c.tokens = 16
        let m = try AttentionModel.random(c, lanes: 4, seed: 1)
        return try Elaborate.run(kind == .qkca ? try makeQKCA(QKCAConfig(m.hardware, tokens: c.tokens)) : try makeQKTA(m.hardware))
    }

    @Test(.timeLimit(.minutes(3)), arguments: [BlockKind.qkta, .qkca])
    func estimateMatchesYosys(_ kind: BlockKind) throws {
        guard YosysSynthesis.executable() != nil else {
            Issue.record("yosys is not on PATH; run scripts/setup.sh (apt-get install yosys) — a missing tool is a failure, not a pass")
            return
        }
        let design = try Self.small(kind)
        let est = ResourceModel.estimate(design).total
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-yosys-test-\(getpid())-\(kind.rawValue)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let y = try YosysSynthesis.synthesize(design, in: dir)
        print("\(kind.rawValue): LUT est \(est.luts) yosys \(y.luts); FF est \(est.flipFlops) yosys \(y.flipFlops); yosys \(Int(y.seconds)) s")
        #expect(abs(Double(est.flipFlops - y.flipFlops)) <= 0.10 * Double(y.flipFlops))
        #expect(est.bram18 == y.bram18)
        #expect(est.bram36 == y.bram36)
        #expect(est.dsps == y.dsps)
        #expect(abs(Double(est.luts - y.luts)) <= 0.10 * Double(y.luts))
    }

    @Test func parsesStatJSONWithHierarchyLines() throws {
        let text = """
            {
               "creator": "Yosys 0.23",
               "modules": {
                  "\\\\top": { "num_cells_by_type": { "LUT2": 3, "FDRE": 4 } }
               },
                   sub      1
               "design": {
                  "num_cells_by_type": { "LUT2": 5, "LUT6": 2, "INV": 1, "FDRE": 7, "FDSE": 1, "RAMB36E1": 2, "MUXF7": 9 }
               }
            }
            """
        let cells = try YosysSynthesis.parseStat(text)
        let r = YosysSynthesis.Result(cells: cells, seconds: 0)
        #expect(r.luts == 8)
        #expect(r.flipFlops == 8)
        #expect(r.bram36 == 2)
    }
}
