import Description
import Foundation
import Blocks
import Cosim

/// Test blocks built the way the command line builds them: a description (random seeded layers),
/// folded into hardware, with its golden model.
enum DescribedModels {
    /// A custom block config of the given shape.
    static func config(_ block: String = "qkformer-block", dim: Int, heads: Int = 1, tokens: Int, timeSteps: Int,
                       mlpRatio: Int = 4, attention: AttentionMask = .token) throws -> BlockConfig {
        try BlockConfig.parse(json: Data(#"{"block": "\#(block)", "dim": \#(dim), "heads": \#(heads), "tokens": \#(tokens), "timeSteps": \#(timeSteps), "mlpRatio": \#(mlpRatio), "attention": "\#(attention.rawValue)"}"#.utf8))
    }

    /// An MLP of any hidden width (QKFormer's LIF, E = T, 8-bit weights), folded `lanes` wide.
    static func mlp(channels C: Int, hidden H: Int, timeSteps T: Int, tokens N: Int = 5, lanes: Int, hiddenLanes: Int? = nil,
                    inputChunk: Int? = nil, seed: UInt64, maxInputCount: Int, storage: LIFStateStorage = .registers,
                    biasRange: ClosedRange<Double> = -0.25...1.0) throws -> BlockModel {
        var rng = SplitMix64(seed: seed)
        let fc1 = try SpikingLayer.random(name: "fc1", outputs: H, inputs: C, weightBits: 8, biasRange: biasRange, decayFractionBits: T, using: &rng)
        let fc2 = try SpikingLayer.random(name: "fc2", outputs: C, inputs: H, weightBits: 8, biasRange: biasRange, decayFractionBits: T, using: &rng)
        let d = try BlockDescription(config: try config("mlp", dim: C, tokens: N, timeSteps: T),
                                     input: StreamFormat(channels: C, tokens: N, timeSteps: T, maxCount: maxInputCount),
                                     body: .mlp(fc1: fc1, fc2: fc2), origin: "random, seed \(seed)")
        return try BlockModel(d, folding: Folding(lanes: lanes, hiddenLanes: hiddenLanes, storage: storage, inputChunk: inputChunk))
    }
}

extension BlockModel {
    /// The MLP config of an MLP alone.
    var mlpConfig: MLPConfig {
        guard case .mlp(let m) = hardware.structure else { preconditionFailure("not an MLP: \(hardware.structure)") }
        return m
    }
    /// The config of a QKFormer block.
    var blockConfig: QKFormerBlockConfig {
        guard case .qkformerBlock(let b) = hardware.structure else { preconditionFailure("not a QKFormer block: \(hardware.structure)") }
        return b
    }
    /// The QKTA config of a token attention alone.
    var qktaConfig: QKTAConfig {
        guard case .attention(.token(let c)) = hardware.structure else { preconditionFailure("not a QKTA: \(hardware.structure)") }
        return c
    }
    /// The QKCA config of a channel attention alone.
    var qkcaConfig: QKCAConfig {
        guard case .attention(.channel(let c)) = hardware.structure else { preconditionFailure("not a QKCA: \(hardware.structure)") }
        return c
    }
    /// The golden output of one sample.
    func expected(_ x: SpikeTensor) throws -> SpikeTensor { try golden.run(x).output }
}
