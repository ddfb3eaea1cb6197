import Description
import Foundation
import Testing
import HDL
import Blocks
import Cosim
@testable import Estimator

/// The estimate against Yosys on the `qkforge calibrate --subset ci` designs: QKTA and QKCA at
/// C16 P4, and two with LIF banks of 8 groups (P = C/8, the lanes every full-size design uses):
/// a whole QKTA at C16 P2 and the hst-4-384 stage-1 L96 P12 bank alone.
/// Needs yosys (scripts/setup.sh installs it); without it the test fails rather than passing unchecked.
@Suite struct YosysCalibrationTests {
    enum Case: String, CaseIterable, Sendable { case qktaP4, qkcaP4, qktaP2, lifL96P12 }

    static func block(_ kind: BlockKind, lanes: Int, small: Bool) throws -> Module {
        var c = try BlockConfig.named("hst-4-384", stage: 1, block: kind)
        if small { c.dim = 16; c.heads = 2; c.timeSteps = 2; c.tokens = 16 }
        // Register LIF banks, as the calibration set was fitted on (not the pipelined default).
        let m = try BlockModel.random(c, lanes: lanes, seed: 1, storage: .registers)
        return try m.hardware.makeModule()
    }

    static func design(_ c: Case) throws -> Design {
        switch c {
        case .qktaP4: return try Elaborate.run(try block(.qkta, lanes: 4, small: true))
        case .qkcaP4: return try Elaborate.run(try block(.qkca, lanes: 4, small: true))
        case .qktaP2: return try Elaborate.run(try block(.qkta, lanes: 2, small: true))
        case .lifL96P12:
            let whole = try Elaborate.run(try block(.qkta, lanes: 12, small: false))
            let bank = try #require(whole.modules.first { whole.verilogName($0).contains("_q_lif_") })
            return try Elaborate.run(bank)
        }
    }

    @Test(.timeLimit(.minutes(3)), arguments: Case.allCases)
    func estimateMatchesYosys(_ c: Case) throws {
        guard YosysSynthesis.executable() != nil else {
            Issue.record("yosys is not on PATH; run scripts/setup.sh (apt-get install yosys) — a missing tool is a failure, not a pass")
            return
        }
        let design = try Self.design(c)
        let est = ResourceModel.estimate(design).total
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-yosys-test-\(getpid())-\(c.rawValue)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let y = try YosysSynthesis.synthesize(design, in: dir)
        print("\(c.rawValue): LUT est \(est.luts) yosys \(y.luts); FF est \(est.flipFlops) yosys \(y.flipFlops); yosys \(Int(y.seconds)) s")
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
