import Foundation
import HDL
import Blocks
import Golden

/// One QKFormer block with concrete integer weights, described for the generator
/// (`QKFormerBlockConfig`) and for the golden model (`QKFormerBlockParameters`) from the same
/// numbers.
public struct QKFormerBlockModel {
    public let block: BlockConfig
    public let hardware: QKFormerBlockConfig
    public let golden: QKFormerBlockParameters

    /// Random seeded weights (exact mode) for the attention `block.block` (`.qkta` or `.qkca`)
    /// and an MLP of `block.mlpRatio * C` hidden channels; `lanes` for the attention, `mlpLanes`
    /// for fc2 (a multiple of `min(lanes, C)`; default `defaultMLPLanes`) and `hiddenLanes` for
    /// fc1 (default `2 * mlpLanes`, at most 256); inputs up to `maxInputCount`.
    public static func random(_ block: BlockConfig, attention kind: AttentionKind, lanes: Int, seed: UInt64,
                              maxInputCount: Int = 1, storage: LIFStateStorage = .registers,
                              biasRange: ClosedRange<Double> = -0.25...1.25, vectorsInFlight: Int = 4,
                              mlpLanes: Int? = nil, hiddenLanes: Int? = nil) throws -> QKFormerBlockModel {
        var attBlock = block
        attBlock.block = kind == .token ? .qkta : .qkca
        let att = try AttentionModel.random(attBlock, lanes: lanes, seed: seed, maxInputCount: maxInputCount,
                                            storage: storage, biasRange: biasRange)
        let C = block.dim, K = min(lanes, C)
        let e = block.quantization.decayFractionBits ?? block.timeSteps
        let fc2Lanes = mlpLanes ?? defaultMLPLanes(lanes: lanes, channels: C, mlpRatio: block.mlpRatio)
        let mlp = try MLPModel.random(channels: C, hidden: block.mlpRatio * C, timeSteps: block.timeSteps, lanes: fc2Lanes,
                                      hiddenLanes: hiddenLanes ?? min(256, 2 * fc2Lanes), inputChunk: K, seed: seed ^ 0x3A7F, maxInputCount: maxInputCount + 1,
                                      weightBits: block.quantization.weightBits, decayFractionBits: e, storage: storage,
                                      biasRange: biasRange,
                                      name: "mlp_\((block.model ?? "custom").replacingOccurrences(of: "-", with: "_"))_s\(block.stage)")
        return try assemble(block, attention: att, kind: kind, mlp: mlp, maxInputCount: maxInputCount, vectorsInFlight: vectorsInFlight)
    }

    /// Both descriptions from an attention model and an MLP model of the same C and T.
    public static func assemble(_ block: BlockConfig, attention att: AttentionModel, kind: AttentionKind, mlp: MLPModel,
                                maxInputCount: Int, vectorsInFlight: Int = 4) throws -> QKFormerBlockModel {
        var qkta = att.hardware
        qkta.inputChunk = min(qkta.lanes, qkta.channels)
        qkta.maxInputCount = maxInputCount
        let attention: BlockAttention = kind == .token
            ? .token(qkta)
            : .channel(QKCAConfig(qkta, tokens: block.tokens, name: qkta.name.replacingOccurrences(of: "qkta", with: "qkca")))
        let hw = QKFormerBlockConfig(attention: attention, mlp: mlp.hardware, vectorsInFlight: vectorsInFlight,
                                     name: "qkformer_block_\((block.model ?? "custom").replacingOccurrences(of: "-", with: "_"))_s\(block.stage)")
        try hw.validate()
        let golden = try QKFormerBlockParameters(attentionKind: kind, attention: att.golden, mlp: mlp.golden,
                                                 maxInputCount: maxInputCount)
        return QKFormerBlockModel(block: block, hardware: hw, golden: golden)
    }
}

/// The default fc2 lanes of a block's MLP: `mlpRatio * P`, so that fc2, which reads the
/// `mlpRatio * C` hidden spikes, takes about as many cycles per vector as the attention's
/// accumulators; at most 256 and a multiple of `K = min(P, C)` (at least `K`). With fc1 at twice
/// that, the stage-1 block of hst-4-384 (P = 12) runs 4x faster than with the attention's P
/// everywhere and its lane utilisation doubles (0.30 -> 0.64, `QKFormerBlockSoakTests`).
public func defaultMLPLanes(lanes: Int, channels: Int, mlpRatio: Int) -> Int {
    let k = min(lanes, channels)
    return max(k, min(256, lanes * mlpRatio) / k * k)
}

extension QKFormerBlockModel {
    /// Lane utilisation of the whole block over a run of `cycles` cycles on the samples whose
    /// golden traces are `traces`: useful accumulates (each event adds into all `C_out` outputs
    /// of its layer) over lanes x cycles, summed over the five accumulators (Q, K, projection,
    /// fc1, fc2). Q and K see the same events.
    public func laneUtilization(_ traces: [QKFormerBlockTrace], cycles: Int) -> Double {
        let C = hardware.channels, H = hardware.mlp.hidden
        let P = hardware.attention.lanesForUtilization, P1 = hardware.mlp.hiddenLanes
        var useful = 0
        for t in traces {
            useful += (t.attention.q.ops.events + t.attention.k.ops.events + t.attention.proj.ops.events) * C
            useful += t.mlp.fc1.ops.events * H + t.mlp.fc2.ops.events * C
        }
        let lanes = 3 * P + P1 + hardware.mlp.lanes
        return cycles > 0 ? Double(useful) / Double(lanes * cycles) : 0
    }
}

extension BlockAttention {
    /// `P` of the Q, K and projection accumulators.
    public var lanesForUtilization: Int {
        switch self { case .token(let c): c.lanes; case .channel(let c): c.lanes }
    }
}
