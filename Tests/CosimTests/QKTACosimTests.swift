import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The QKTA accelerator against the golden model, under random input and output stalls.
@Suite(.serialized) struct QKTACosimTests {
    static func small(tokens: Int = 6, dim: Int = 16, heads: Int = 2, timeSteps: Int = 3) throws -> BlockConfig {
        try BlockConfig.parse(json: Data(#"{"dim": \#(dim), "heads": \#(heads), "tokens": \#(tokens), "timeSteps": \#(timeSteps)}"#.utf8))
    }

    /// The last case has one time step: every beat starts its token, so the banks get `first`
    /// as the constant 1 (`feedBank`) and their membrane state is dead (register banks of 6
    /// groups under `auto`).
    @Test(arguments: [(lanes: 4, storage: LIFStateStorage.registers, count: 1, steps: 3), (lanes: 5, storage: .ram, count: 3, steps: 3),
                      (lanes: 32, storage: .registers, count: 2, steps: 3), (lanes: 3, storage: .pipelined, count: 2, steps: 3),
                      (lanes: 16, storage: .pipelined, count: 1, steps: 3), (lanes: 3, storage: .auto, count: 2, steps: 1)])
    func smallBlockMatchesGolden(lanes: Int, storage: LIFStateStorage, count: Int, steps: Int) throws {
        let seed = TestSeed.value(default: 77)
        print("QKTACosimTests lanes \(lanes) \(storage) T \(steps) seed \(seed)")
        let block = try Self.small(timeSteps: steps)
        let model = try BlockModel.random(block, lanes: lanes, seed: seed, maxInputCount: count, storage: storage, biasRange: -0.25...1.25)
        var o = BlockCosim.Options()
        o.samples = 3
        o.seed = seed
        o.inputRate = 0.3
        o.maxInputCount = count
        o.inputStall = 0.3
        o.outputStall = 0.3
        let r = try BlockCosim.run(model, options: o)
        #expect(r.mismatches.isEmpty, "\(r.mismatches.prefix(3))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        print("  \(r.vectors) vectors, \(r.cycles) cycles, bound \(r.boundCycles), rates \(r.rates)")
        #expect((r.rates["out"] ?? 0) > 0.02, "the output must not be trivially silent")
    }

    /// More than 64 lanes: the output beat is wider than one machine word (it crashed the port
    /// driver before it read ports of any width).
    @Test func ninetySixLanesMatchGolden() throws {
        let seed = TestSeed.value(default: 96)
        print("QKTACosimTests 96 lanes seed \(seed)")
        let block = try Self.small(tokens: 4, dim: 96, heads: 8, timeSteps: 2)
        let model = try BlockModel.random(block, lanes: 96, seed: seed, biasRange: -0.25...1.25)
        var o = BlockCosim.Options()
        o.samples = 2
        o.seed = seed
        o.inputRate = 0.3
        o.inputStall = 0.2
        o.outputStall = 0.2
        let r = try BlockCosim.run(model, options: o)
        #expect(r.mismatches.isEmpty, "\(r.mismatches.prefix(3))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        #expect((r.rates["out"] ?? 0) > 0.02, "the output must not be trivially silent")
    }

    /// 128 and 256 lanes (the validated maximum) on C = 256: minutes each in a debug build, so
    /// behind `QKFORGE_LANES_SOAK=1 swift test --filter QKTACosimTests/wideLanesMatchGolden`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["QKFORGE_LANES_SOAK"] == "1"), arguments: [128, 256])
    func wideLanesMatchGolden(lanes: Int) throws {
        let seed = TestSeed.value(default: UInt64(lanes))
        print("QKTACosimTests \(lanes) lanes seed \(seed)")
        let block = try Self.small(tokens: 3, dim: 256, heads: 8, timeSteps: 2)
        let model = try BlockModel.random(block, lanes: lanes, seed: seed, biasRange: -0.25...1.25)
        var o = BlockCosim.Options()
        o.samples = 2
        o.seed = seed
        o.inputRate = 0.3
        o.inputStall = 0.2
        o.outputStall = 0.2
        let r = try BlockCosim.run(model, options: o)
        #expect(r.mismatches.isEmpty, "\(r.mismatches.prefix(3))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
    }
}
