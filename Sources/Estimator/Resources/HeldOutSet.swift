import Description

/// One whole block design by its config and lanes, as `qkforge generate --lanes P` builds it
/// (random weights, seed 1).
public struct EstimateDesign: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let config: BlockConfig
    public let lanes: Int

    public init(name: String, config: BlockConfig, lanes: Int) {
        self.name = name
        self.config = config
        self.lanes = lanes
    }

    /// What makes two designs the same hardware: block, attention, sizes, mlpRatio, lanes
    /// (the model name and stage only supply defaults, so they are not part of it).
    public var key: String {
        let c = config
        let att = c.block == .qkformerBlock ? "/\(c.attention.rawValue)" : ""
        return "\(c.block.rawValue)\(att) C\(c.dim) h\(c.heads) N\(c.tokens) T\(c.timeSteps) r\(c.mlpRatio) P\(lanes)"
    }

    public var description: String { name }
}

/// The designs the estimator's rules were fitted on or checked against while they were chosen
/// (the whole designs of `qkforge calibrate`, those its parts are cut from, and the composite
/// rows of docs/estimate-accuracy.md). A held-out draw never contains one of them.
public enum CalibrationSet {
    static func custom(_ kind: BlockKind, dim: Int, heads: Int, tokens: Int, timeSteps: Int, lanes: Int,
                       attention: BlockConfig.Attention = .token) -> EstimateDesign {
        var c = try! BlockConfig.named("hst-4-384", stage: 1, block: kind)
        c.dim = dim; c.heads = heads; c.tokens = tokens; c.timeSteps = timeSteps; c.mlpRatio = 4
        c.attention = attention
        return EstimateDesign(name: "\(kind.rawValue) C\(dim) P\(lanes)", config: c, lanes: lanes)
    }

    static func named(_ model: String, stage: Int, _ kind: BlockKind, lanes: Int) -> EstimateDesign {
        EstimateDesign(name: "\(model) s\(stage) \(kind.rawValue) P\(lanes)",
                       config: try! BlockConfig.named(model, stage: stage, block: kind), lanes: lanes)
    }

    /// Every design of the calibration set (whole designs, and those parts are cut from).
    public static var designs: [EstimateDesign] {
        [
            custom(.qkta, dim: 16, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
            custom(.qkca, dim: 16, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
            custom(.qkta, dim: 16, heads: 2, tokens: 16, timeSteps: 2, lanes: 2),
            custom(.qkta, dim: 32, heads: 4, tokens: 64, timeSteps: 4, lanes: 8),
            custom(.qkca, dim: 32, heads: 4, tokens: 64, timeSteps: 4, lanes: 8),
            named("hst-4-384", stage: 1, .qkta, lanes: 12),
            named("hst-4-384", stage: 1, .qkta, lanes: 32),
            named("hst-4-384", stage: 1, .qkca, lanes: 12),
            named("hst-2-256", stage: 1, .qkta, lanes: 16),
            named("hst-2-256", stage: 1, .qkca, lanes: 16),
            named("hst-4-384", stage: 2, .qkta, lanes: 24),
            // Composite rows (BlockResourcesVsYosysTests).
            custom(.mlp, dim: 32, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
            custom(.mlp, dim: 24, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
            custom(.qkformerBlock, dim: 16, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
            custom(.qkformerBlock, dim: 16, heads: 2, tokens: 8, timeSteps: 2, lanes: 4, attention: .channel),
            custom(.qkformerBlock, dim: 24, heads: 2, tokens: 16, timeSteps: 2, lanes: 4),
            custom(.qkformerBlock, dim: 24, heads: 2, tokens: 8, timeSteps: 2, lanes: 6, attention: .channel),
        ]
    }

    public static var keys: Set<String> { Set(designs.map(\.key)) }
}

/// A held-out validation set drawn at random by seed (SplitMix64): each design picks a model
/// (one of the named ones, or a custom config), a stage, a block kind, odd lanes and small odd
/// sizes, so that synthesis of a round stays within minutes per design. A draw that equals a
/// calibration design, repeats an earlier draw of the same round or is not a valid config is
/// drawn again; the sequence depends on the seed alone.
public enum HeldOutSet {
    public static let models = ["hst-4-384", "hst-10-384", "hst-2-256", "hst-10-512", "hst-10-768", "custom"]
    public static let kinds: [BlockKind] = [.qkta, .qkca, .mlp, .qkformerBlock]
    public static let lanes = [3, 5, 7]
    public static let timeSteps = [1, 2, 3, 4]
    /// Channels per block kind: the composite blocks hold several layers, so they draw smaller.
    public static func dims(_ kind: BlockKind) -> [Int] {
        switch kind {
        case .qkta, .qkca, .ssa: [12, 20, 24, 28, 36, 40]
        case .mlp: [12, 20, 24, 28]
        case .qkformerBlock: [12, 20]
        }
    }
    public static let tokens = [8, 12, 24, 40, 48]

    public static func draw(seed: UInt64, count: Int) -> [EstimateDesign] {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let excluded = CalibrationSet.keys
        var seen = Set<String>()
        var out: [EstimateDesign] = []
        var attempts = 0
        while out.count < count && attempts < 10_000 {
            attempts += 1
            let model = pick(models)
            let stage = pick([1, 2])
            let kind = pick(kinds)
            var c: BlockConfig
            if model == "custom" {
                // The defaults of a config.json without "model" (docs/formats.md).
                c = try! BlockConfig.named("hst-4-384", stage: 1, block: kind)
                c.model = nil
                c.mlpRatio = pick([2, 4])
            } else {
                guard let n = try? BlockConfig.named(model, stage: stage, block: kind) else { continue }
                c = n
            }
            c.dim = pick(dims(kind))
            c.heads = pick([1, 2, 3, 4].filter { c.dim % $0 == 0 && c.dim / $0 >= 4 })
            c.tokens = pick(tokens)
            c.timeSteps = pick(timeSteps)
            if kind == .qkformerBlock { c.attention = pick([.token, .channel]) }
            let p = pick(lanes)
            guard (try? c.validate()) != nil else { continue }
            let where_ = model == "custom" ? "custom" : "\(model) s\(stage)"
            let att = kind == .qkformerBlock ? " " + c.attention.rawValue : ""
            let d = EstimateDesign(name: "\(kind.rawValue)\(att) C\(c.dim) h\(c.heads) N\(c.tokens) T\(c.timeSteps) r\(c.mlpRatio) P\(p) (\(where_))",
                                   config: c, lanes: p)
            guard !excluded.contains(d.key), seen.insert(d.key).inserted else { continue }
            out.append(d)
        }
        return out
    }
}
