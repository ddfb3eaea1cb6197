import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// Full-sample co-simulation of the stage-1 QKFormer block of hst-4-384 (QKTA and QKCA) and of
/// hst-10-384 (QKTA), and of the stage-3 block (SSA) of both, at the default folding (P = C/8), random weights (exact mode), inputs with
/// counts up to 2 (block 0 of a stage: docs/arithmetic.md §5), random stalls on both sides.
/// Minutes each, so behind `QKFORGE_BLOCK_SOAK=1`:
///
///     QKFORGE_BLOCK_SOAK=1 swift test --filter QKFormerBlockSoakTests
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["QKFORGE_BLOCK_SOAK"] == "1"))
struct QKFormerBlockSoakTests {
    @Test(arguments: [("hst-4-384", BlockConfig.Attention.token), ("hst-4-384", .channel), ("hst-10-384", .token)])
    func stage1BlockFullSample(model: String, kind: BlockConfig.Attention) throws {
        let seed = TestSeed.value(default: 401)
        print("QKFormerBlockSoakTests \(model) stage 1 \(kind.rawValue) seed \(seed)")
        var block = try BlockConfig.named(model, stage: 1, block: .qkformerBlock)
        block.attention = kind
        let lanes = max(1, block.dim / 8)
        let m = try BlockModel.random(block, lanes: lanes, seed: seed, maxInputCount: 2, biasRange: -0.25...0.5)
        var o = BlockCosim.Options()
        (o.seed, o.samples, o.inputRate) = (seed, 1, 0.2)
        let t0 = Date()
        let r = try BlockCosim.run(m, options: o)
        #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(3)); replay \(r.replayDirectory?.path ?? "-")")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        print("  \(model) \(kind.rawValue): \(r.vectors) vectors, \(r.cycles) cycles, \(r.mismatchCount) mismatches, \(r.protocolErrors.count) protocol errors, \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
        print("  rates: \(r.layerRates.map { "\($0.name) \($0.rate)" }.joined(separator: ", "))")
        print("  lane utilisation (stalls 0.1 both sides): \(r.laneUtilization)")
    }

    /// The stage-3 block (SSA + MLP) on one full sample: hst-4-384 (N = 64) and hst-10-384
    /// (N = 196), C = 384, P = 48, two S banks. Biases low (-4.5 to -3.5), so that Q, K and V
    /// fire sparsely and the attention neuron sometimes but not always (it fires iff U + c >= 8,
    /// c up to d * N); calibrating them with the golden model takes too long at this size.
    @Test(arguments: ["hst-4-384", "hst-10-384"])
    func stage3BlockFullSample(model: String) throws {
        let seed = TestSeed.value(default: 403)
        print("QKFormerBlockSoakTests \(model) stage 3 (SSA) seed \(seed)")
        let block = try BlockConfig.named(model, stage: 3, block: .qkformerBlock)
        let m = try BlockModel.random(block, lanes: block.dim / 8, seed: seed, biasRange: -4.5...(-3.5))
        let t0 = Date()
        var o = BlockCosim.Options()
        (o.seed, o.samples, o.inputRate) = (seed, 1, 0.2)
        let r = try BlockCosim.run(m, options: o)
        #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(3)); replay \(r.replayDirectory?.path ?? "-")")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        print("  \(model) stage 3: \(r.vectors) vectors, \(r.cycles) cycles, \(r.mismatchCount) mismatches, \(r.protocolErrors.count) protocol errors, \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
        print("  rates: \(r.layerRates.map { "\($0.name) \($0.rate)" }.joined(separator: ", "))")
        let att = r.traces.map { t -> Double in
            guard case .chain(let ts) = t, case .residual(.selfAttention(let a), _) = ts[0] else { return 0 }
            return Double(a.attention.spikes.scalars.filter { $0 != 0 }.count) / Double(max(1, a.attention.spikes.scalars.count))
        }
        print("  attention neuron rate \(att)")
        #expect(att.allSatisfy { $0 > 0.01 && $0 < 0.99 }, "the attention neuron fires at \(att)")
    }

    /// Lane utilisation of the QKTA block of hst-4-384 stage 1 (N cut to 64 tokens) at several
    /// MLP foldings, with the attention's biases calibrated to QKFormer's Table 7 stage-1 rates
    /// (Q 0.043, K 0.178, attention output 0.148) on inputs of rate 0.2.
    @Test(arguments: [(mlp: 12, hidden: 48), (mlp: 48, hidden: 96), (mlp: 96, hidden: 192)])
    func foldingUtilisation(mlp: Int, hidden: Int) throws {
        let seed = TestSeed.value(default: 402)
        var block = try BlockConfig.named("hst-4-384", stage: 1, block: .qkformerBlock)
        block.tokens = 64
        let base = try BlockModel.random(block, lanes: 12, seed: seed, maxInputCount: 2, biasRange: -0.25...0.5,
                                         mlpLanes: mlp, hiddenLanes: hidden)
        let t7 = BlockDescription.qkformerRates(stage: 1)
        let (m, got) = try base.calibrated(to: [t7.q, t7.k, t7.out], inputRate: 0.2, seed: seed)
        var o = BlockCosim.Options()
        (o.seed, o.samples, o.inputRate, o.inputStall, o.outputStall) = (seed, 1, 0.2, 0, 0)
        let r = try BlockCosim.run(m, options: o)
        #expect(r.passed, "\(r.mismatches.prefix(3)) \(r.protocolErrors.prefix(3))")
        let b = m.blockConfig
        let groups = [8, 8, 8, b.mlp.hiddenGroups, b.mlp.groups]
        let per = zip(r.traces[0].layers, zip(m.block.body.layers.map(\.name), groups)).map { ($1.0, $0.ops.events * $1.1) }
        print("QKFormerBlockSoakTests folding P = 12, fc1 \(hidden) lanes, fc2 \(mlp) lanes (seed \(seed)): \(r.cycles) cycles for 256 vectors, no stalls")
        print("  calibrated attention rates Q \(got[0]), K \(got[1]), out \(got[2]); layer rates \(r.layerRates.map { "\($0.name) \($0.rate)" }.joined(separator: ", "))")
        print("  busy cycles (events x groups): \(per.map { "\($0.0) \($0.1)" }.joined(separator: ", "))")
        print("  lane utilisation: \(r.laneUtilization)")
    }
}
