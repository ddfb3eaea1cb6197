import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The new blocks are clean in Verilator `-Wall`, Yosys and Icarus.
@Suite struct BlockLintTests {
    @Test(arguments: ["mlp", "residual", "block-qkta", "block-qkca"])
    func blockLintsClean(_ which: String) throws {
        var block = try QKFormerBlockCosimTests.small()
        let m: Module
        switch which {
        case "mlp":
            m = try makeMLP(try DescribedModels.mlp(channels: 7, hidden: 21, timeSteps: 3, lanes: 3, inputChunk: 5, seed: 1, maxInputCount: 4).mlpConfig)
        case "residual":
            let mlp = try DescribedModels.mlp(channels: 7, hidden: 14, timeSteps: 2, lanes: 3, inputChunk: 3, seed: 2, maxInputCount: 2)
            m = try makeResidual(ResidualConfig(channels: 7, timeSteps: 2, lanes: 3, maxInputCount: 2, branchLanes: 3), branch: try makeMLP(mlp.mlpConfig))
        case "block-qkta":
            m = try makeQKFormerBlock(try BlockModel.random(block, lanes: 5, seed: 3, maxInputCount: 2).blockConfig)
        default:
            block.attention = .channel
            m = try makeQKFormerBlock(try BlockModel.random(block, lanes: 4, seed: 4, maxInputCount: 1).blockConfig)
        }
        let findings = try LintTests.emitAndLint(m)
        #expect(findings.isEmpty, "\(findings)")
    }
}
