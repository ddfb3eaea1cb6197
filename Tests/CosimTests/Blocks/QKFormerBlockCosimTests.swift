import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The SEW residual add and the whole QKFormer block against the golden model, under random
/// input and output stalls: every count of every output beat of every time step.
@Suite(.serialized) struct QKFormerBlockCosimTests {
    static func small(tokens: Int = 5, dim: Int = 12, heads: Int = 3, timeSteps: Int = 3, mlpRatio: Int = 2) throws -> BlockConfig {
        try BlockConfig.parse(json: Data(#"{"block": "qkformer-block", "dim": \#(dim), "heads": \#(heads), "tokens": \#(tokens), "timeSteps": \#(timeSteps), "mlpRatio": \#(mlpRatio)}"#.utf8))
    }

    /// `x + MLP(x)` alone, with heavy stalls and the smallest credit limit (1 vector in flight)
    /// as well as a larger one: the fork/join must neither deadlock nor reorder.
    /// `branchLanes` above `K = 3`: each MLP output beat serves several residual beats.
    @Test(arguments: [(inFlight: 1, stall: 0.6, count: 3, branchLanes: 3), (inFlight: 3, stall: 0.3, count: 1, branchLanes: 3),
                      (inFlight: 2, stall: 0.0, count: 2, branchLanes: 3), (inFlight: 2, stall: 0.4, count: 2, branchLanes: 6),
                      (inFlight: 1, stall: 0.2, count: 1, branchLanes: 8)])
    func residualAroundMLP(inFlight: Int, stall: Double, count: Int, branchLanes: Int) throws {
        let seed = TestSeed.value(default: 201)
        print("QKFormerBlockCosimTests residual inFlight \(inFlight) stall \(stall) branch lanes \(branchLanes) seed \(seed)")
        let (C, T, N, lanes) = (7, 2, 4, 3)
        let mlp = try DescribedModels.mlp(channels: C, hidden: 14, timeSteps: T, tokens: N, lanes: branchLanes, inputChunk: lanes,
                                          seed: seed, maxInputCount: count)
        let rc = ResidualConfig(channels: C, timeSteps: T, lanes: lanes, maxInputCount: count, branchLanes: branchLanes,
                                vectorsInFlight: inFlight)
        let design = try Elaborate.run(try makeResidual(rc, branch: try makeMLP(mlp.mlpConfig)))
        let samples = mlp.block.input.randomSamples(rate: 0.5, count: 3, seed: seed)
        let expected = try samples.map { x in try SEWResidual.add(x, try mlp.expected(x), maxCount: count + 1) }
        var o = BlockStreamCosim.Options()
        o.seed = seed
        o.inputStall = stall
        o.outputStall = stall
        let r = try BlockStreamCosim.run(design, input: rc.inputFormat, output: rc.outputFormat, tokens: N,
                                         samples: samples, expected: expected, options: o)
        #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(3)); replay \(r.replayDirectory?.path ?? "-")")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        // The sums must reach count + 1 somewhere, or the width test is empty.
        #expect(expected.contains { $0.scalars.contains(UInt8(count + 1)) })
        print("  \(r.vectors) vectors, \(r.cycles) cycles")
    }

    @Test(arguments: [(kind: BlockConfig.Attention.token, lanes: 4, count: 2, storage: LIFStateStorage.registers),
                      (kind: .token, lanes: 5, count: 1, storage: .ram),
                      (kind: .channel, lanes: 4, count: 2, storage: .registers),
                      // 7 lanes on 12 channels: the default MLP folding is clamped to the layers'
                      // widths, fc2 at 12 lanes (not 14) and fc1 at 24 (not 28), one group each.
                      (kind: .token, lanes: 7, count: 1, storage: .auto)])
    func blockMatchesGolden(kind: BlockConfig.Attention, lanes: Int, count: Int, storage: LIFStateStorage) throws {
        let seed = TestSeed.value(default: 301)
        print("QKFormerBlockCosimTests block \(kind.rawValue) lanes \(lanes) count \(count) \(storage) seed \(seed)")
        var block = try Self.small()
        block.attention = kind
        let model = try BlockModel.random(block, lanes: lanes, seed: seed, maxInputCount: count, storage: storage)
        // No MLP layer is folded wider than it has outputs (idle lanes).
        #expect(model.blockConfig.mlp.lanes <= block.dim && model.blockConfig.mlp.hiddenLanes <= block.dim * block.mlpRatio
                && (lanes != 7 || (model.blockConfig.mlp.lanes, model.blockConfig.mlp.hiddenLanes) == (12, 24)),
                "fc2 \(model.blockConfig.mlp.lanes) lanes, fc1 \(model.blockConfig.mlp.hiddenLanes)")
        let samples = model.block.input.randomSamples(rate: 0.3, count: 2, seed: seed)
        let traces = try model.traces(samples)
        var o = BlockStreamCosim.Options()
        o.seed = seed
        o.inputStall = 0.3
        o.outputStall = 0.3
        let design = try Elaborate.run(try makeQKFormerBlock(model.blockConfig))
        let r = try BlockStreamCosim.run(design, input: model.hardware.inputFormat, output: model.hardware.outputFormat,
                                         tokens: block.tokens, samples: samples, expected: traces.map(\.output), options: o)
        #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(3)); replay \(r.replayDirectory?.path ?? "-")")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        func rate(_ t: SpikeTensor) -> Double { Double(t.scalars.filter { $0 != 0 }.count) / Double(t.scalars.count) }
        // The streams of a block: Attn(x), x1, MLP(x1), x2.
        let attRate = traces.map { rate($0.streams[0].tensor) }.reduce(0, +) / Double(traces.count)
        let mlpRate = traces.map { rate($0.streams[2].tensor) }.reduce(0, +) / Double(traces.count)
        print("  \(r.vectors) vectors, \(r.cycles) cycles, Attn(x) rate \(attRate), MLP(x1) rate \(mlpRate)")
        // Both branches must fire, or the residual adds are not tested.
        #expect(attRate > 0.02 && mlpRate > 0.02)
    }
}
