/// A QKFormer model size (docs/arithmetic.md §6): the named configurations the generator knows.
public struct ModelConfig: Hashable, Sendable {
    public let name: String
    public let dataset: String
    public let timeSteps: Int
    /// Channels per stage.
    public let stageDims: [Int]
    public let heads: Int
    /// Blocks per stage; stages 1-2 are QKTA blocks, stage 3 SSA blocks.
    public let blocksPerStage: [Int]
    /// Tokens (N) per stage.
    public let tokensPerStage: [Int]
    public let mlpRatio: Int

    public var stages: Int { stageDims.count }

    public static let named: [ModelConfig] = [
        ModelConfig(name: "hst-10-384", dataset: "ImageNet", timeSteps: 4, stageDims: [96, 192, 384], heads: 6,
                    blocksPerStage: [1, 2, 7], tokensPerStage: [3136, 784, 196], mlpRatio: 4),
        ModelConfig(name: "hst-10-512", dataset: "ImageNet", timeSteps: 4, stageDims: [128, 256, 512], heads: 8,
                    blocksPerStage: [1, 2, 7], tokensPerStage: [3136, 784, 196], mlpRatio: 4),
        ModelConfig(name: "hst-10-768", dataset: "ImageNet", timeSteps: 4, stageDims: [192, 384, 768], heads: 12,
                    blocksPerStage: [1, 2, 7], tokensPerStage: [3136, 784, 196], mlpRatio: 4),
        ModelConfig(name: "hst-4-384", dataset: "CIFAR-10/100", timeSteps: 4, stageDims: [96, 192, 384], heads: 8,
                    blocksPerStage: [1, 1, 2], tokensPerStage: [1024, 256, 64], mlpRatio: 4),
        ModelConfig(name: "hst-2-256", dataset: "DVS128 Gesture", timeSteps: 16, stageDims: [128, 256], heads: 16,
                    blocksPerStage: [1, 1], tokensPerStage: [256, 64], mlpRatio: 4),
    ]

    public static func named(_ name: String) -> ModelConfig? { named.first { $0.name == name } }

    /// The block kind of stage `s` (1-based): QKTA in the first two stages, SSA after. In the
    /// two-stage hst-2-256 the second stage is SSA.
    public func defaultBlock(stage s: Int) -> BlockKind {
        if stages == 2 { return s == 1 ? .qkta : .ssa }
        return s <= 2 ? .qkta : .ssa
    }
}

/// The attention or block operator a design implements.
public enum BlockKind: String, Hashable, Sendable, CaseIterable {
    case qkta, qkca, ssa
    case qkformerBlock = "qkformer-block"
    /// The MLP of a QKFormer block alone.
    case mlp
}
