import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// Full-sample co-simulation of the stage-1 QKFormer block of hst-4-384 (QKTA and QKCA) and of
/// hst-10-384 (QKTA) at the default folding (P = C/8), random weights (exact mode), inputs with
/// counts up to 2 (block 0 of a stage: docs/arithmetic.md §5), random stalls on both sides.
/// Minutes each, so behind `QKFORGE_BLOCK_SOAK=1`:
///
///     QKFORGE_BLOCK_SOAK=1 swift test --filter QKFormerBlockSoakTests
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["QKFORGE_BLOCK_SOAK"] == "1"))
struct QKFormerBlockSoakTests {
    @Test(arguments: [("hst-4-384", AttentionKind.token), ("hst-4-384", .channel), ("hst-10-384", .token)])
    func stage1BlockFullSample(model: String, kind: AttentionKind) throws {
        let seed = TestSeed.value(default: 401)
        print("QKFormerBlockSoakTests \(model) stage 1 \(kind.rawValue) seed \(seed)")
        let block = try BlockConfig.named(model, stage: 1)
        let lanes = max(1, block.dim / 8)
        let m = try QKFormerBlockModel.random(block, attention: kind, lanes: lanes, seed: seed, maxInputCount: 2,
                                              biasRange: -0.25...0.5)
        let samples = BlockStreamCosim.randomSamples(timeSteps: block.timeSteps, tokens: block.tokens, channels: block.dim,
                                                     rate: 0.2, maxCount: 2, count: 1, seed: seed)
        let traces = try samples.map { try QKFormerBlock.run(m.golden, input: $0) }
        var o = BlockStreamCosim.Options()
        o.seed = seed
        let t0 = Date()
        let r = try BlockStreamCosim.run(try Elaborate.run(try makeQKFormerBlock(m.hardware)), input: m.hardware.inputFormat,
                                         output: m.hardware.outputFormat, tokens: block.tokens, samples: samples,
                                         expected: traces.map(\.output), options: o)
        #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(3)); replay \(r.replayDirectory?.path ?? "-")")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        func rate(_ t: SpikeTensor) -> Double { Double(t.scalars.filter { $0 != 0 }.count) / Double(t.scalars.count) }
        let tr = traces[0]
        print("  \(model) \(kind.rawValue): \(r.vectors) vectors, \(r.cycles) cycles, \(r.mismatchCount) mismatches, \(r.protocolErrors.count) protocol errors, \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
        print("  rates: Q \(rate(tr.attention.q.spikes)), K \(rate(tr.attention.k.spikes)), Attn \(rate(tr.attention.output)), fc1 \(rate(tr.mlp.fc1.spikes)), MLP \(rate(tr.mlp.output))")
        print("  lane utilisation (stalls 0.1 both sides): \(m.laneUtilization(traces, cycles: r.cycles))")
    }

    /// Lane utilisation of the QKTA block of hst-4-384 stage 1 (N cut to 64 tokens) at several
    /// MLP foldings, with the attention's biases calibrated to QKFormer's Table 7 stage-1 rates
    /// (Q 0.043, K 0.178, attention output 0.148) on inputs of rate 0.2.
    @Test(arguments: [(mlp: 12, hidden: 48), (mlp: 48, hidden: 96), (mlp: 96, hidden: 192)])
    func foldingUtilisation(mlp: Int, hidden: Int) throws {
        let seed = TestSeed.value(default: 402)
        var block = try BlockConfig.named("hst-4-384", stage: 1)
        block.tokens = 64
        var attBlock = block
        attBlock.block = .qkta
        let att = try AttentionModel.random(attBlock, lanes: 12, seed: seed, maxInputCount: 2, biasRange: -0.25...1.25)
        let (calibrated, got) = try att.calibrated(to: AttentionModel.qkformerRates(stage: 1), inputRate: 0.2, seed: seed)
        let mlpModel = try MLPModel.random(channels: 96, hidden: 384, timeSteps: 4, lanes: mlp, hiddenLanes: hidden, inputChunk: 12,
                                           seed: seed ^ 0x3A7F, maxInputCount: 3, biasRange: -0.25...0.5)
        let m = try QKFormerBlockModel.assemble(block, attention: calibrated, kind: .token, mlp: mlpModel, maxInputCount: 2)
        let samples = BlockStreamCosim.randomSamples(timeSteps: 4, tokens: 64, channels: 96, rate: 0.2, maxCount: 2, count: 1, seed: seed)
        let traces = try samples.map { try QKFormerBlock.run(m.golden, input: $0) }
        var o = BlockStreamCosim.Options()
        o.seed = seed
        o.inputStall = 0
        o.outputStall = 0
        let r = try BlockStreamCosim.run(try Elaborate.run(try makeQKFormerBlock(m.hardware)), input: m.hardware.inputFormat,
                                         output: m.hardware.outputFormat, tokens: 64, samples: samples,
                                         expected: traces.map(\.output), options: o)
        #expect(r.passed, "\(r.mismatches.prefix(3)) \(r.protocolErrors.prefix(3))")
        let tr = traces[0]
        func rate(_ t: SpikeTensor) -> Double { Double(t.scalars.filter { $0 != 0 }.count) / Double(t.scalars.count) }
        let per = [("Q", tr.attention.q.ops.events * 8), ("K", tr.attention.k.ops.events * 8), ("proj", tr.attention.proj.ops.events * 8),
                   ("fc1", tr.mlp.fc1.ops.events * m.hardware.mlp.hiddenGroups), ("fc2", tr.mlp.fc2.ops.events * m.hardware.mlp.groups)]
        print("QKFormerBlockSoakTests folding P = 12, fc1 \(hidden) lanes, fc2 \(mlp) lanes (seed \(seed)): \(r.cycles) cycles for 256 vectors, no stalls")
        print("  calibrated attention rates Q \(got.q), K \(got.k), out \(got.out); fc1 spikes \(rate(tr.mlp.fc1.spikes)), MLP out \(rate(tr.mlp.output))")
        print("  busy cycles (events x groups): \(per.map { "\($0.0) \($0.1)" }.joined(separator: ", "))")
        print("  lane utilisation: \(m.laneUtilization(traces, cycles: r.cycles))")
    }
}
