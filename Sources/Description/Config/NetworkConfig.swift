import Foundation

/// A whole QKFormer network (docs/arithmetic.md §7-§8), as `config.json` describes it with
/// `"block": "network"` (docs/formats.md): a named model's values overridden field by field.
/// Every field is validated; a bad one is a `ConfigError` naming the field and the fix.
public struct NetworkConfig: Hashable, Sendable {
    /// The patch embedding variant (docs/arithmetic.md §8).
    public enum Embedding: String, Hashable, Sendable, CaseIterable { case imagenet, cifar, dvs }

    public var model: String?
    public var embedding: Embedding
    /// Channels per stage.
    public var dims: [Int]
    /// Heads per stage.
    public var heads: [Int]
    /// QKFormer blocks per stage.
    public var depths: [Int]
    /// `[height, width]` of the input image (or DVS frame).
    public var image: [Int]
    /// Image channels (3), or DVS polarities (2).
    public var inChannels: Int
    public var classes: Int
    public var timeSteps: Int
    public var mlpRatio: Int
    /// The attention of every stage but the last (token: QKTA, channel: QKCA); the last is SSA.
    public var attention: BlockConfig.Attention
    public var layout: BlockConfig.TensorLayout
    public var bnEps: Double
    public var quantization: BlockConfig.Quantization
    /// The largest event count in one DVS frame pixel (config field `maxInputCount`), for the dvs
    /// embedding; counts are uint8.
    public var maxFrameCount: Int

    public var stages: Int { dims.count }

    /// The attention of stage `s` (1-based): SSA in the last stage.
    public func attention(stage s: Int) -> BlockConfig.Attention { s == stages ? .ssa : attention }

    /// The named models' network fields (docs/arithmetic.md §7).
    public static func named(_ name: String) throws -> NetworkConfig {
        guard let m = ModelConfig.named(name) else {
            throw ConfigError(field: "model", "unknown model '\(name)'; choose one of: \(ModelConfig.named.map(\.name).joined(separator: ", "))")
        }
        let (embedding, image, inChannels, classes): (Embedding, [Int], Int, Int)
        switch m.dataset {
        case "ImageNet": (embedding, image, inChannels, classes) = (.imagenet, [224, 224], 3, 1000)
        case "CIFAR-10/100": (embedding, image, inChannels, classes) = (.cifar, [32, 32], 3, 10)
        default: (embedding, image, inChannels, classes) = (.dvs, [128, 128], 2, 11)
        }
        let c = NetworkConfig(model: name, embedding: embedding, dims: m.stageDims, heads: Array(repeating: m.heads, count: m.stages),
                              depths: m.blocksPerStage, image: image, inChannels: inChannels, classes: classes,
                              timeSteps: m.timeSteps, mlpRatio: m.mlpRatio, attention: .token, layout: .auto, bnEps: 1e-5,
                              quantization: BlockConfig.Quantization(), maxFrameCount: 15)
        try c.validate()
        return c
    }

    /// Parses `config.json` text of a network (its `block`, if given, must be `network`).
    public static func parse(json data: Data) throws -> NetworkConfig {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(field: "config.json", "is not valid JSON; write one JSON object such as {\"model\": \"hst-4-384\"}")
        }
        if let key = JSONValue.duplicateKey(in: data) {
            throw ConfigError(field: key, "is given twice in config.json; keep one of them")
        }
        guard case .object(let dict) = value else { throw ConfigError(field: "config.json", "must be one JSON object ({ ... })") }
        let known: Set<String> = ["model", "block", "embedding", "dims", "heads", "depths", "image", "inChannels", "classes",
                                  "timeSteps", "mlpRatio", "attention", "layout", "bnEps", "quantization", "maxInputCount"]
        if let unknown = dict.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError(field: unknown, "is not a network config field; known fields: \(known.sorted().joined(separator: ", "))")
        }
        if let b = try BlockConfig.string(dict, "block"), b != "network" {
            throw ConfigError(field: "block", "is '\(b)' but a network config needs \"network\" (or no block field)")
        }
        var c: NetworkConfig
        if let name = try BlockConfig.string(dict, "model") {
            c = try named(name)
        } else {
            for f in ["embedding", "dims", "heads", "depths", "image", "classes", "timeSteps"] where dict[f] == nil {
                throw ConfigError(field: f, "is required when no \"model\" is named; give it, or name a model such as \"hst-4-384\"")
            }
            c = NetworkConfig(model: nil, embedding: .cifar, dims: [], heads: [], depths: [], image: [], inChannels: 3, classes: 0,
                              timeSteps: 0, mlpRatio: 4, attention: .token, layout: .auto, bnEps: 1e-5,
                              quantization: BlockConfig.Quantization(), maxFrameCount: 15)
        }
        if let v = try BlockConfig.string(dict, "embedding") {
            guard let e = Embedding(rawValue: v) else {
                throw ConfigError(field: "embedding", "must be imagenet, cifar or dvs, got '\(v)'")
            }
            c.embedding = e
            if dict["inChannels"] == nil { c.inChannels = e == .dvs ? 2 : 3 }
        }
        func ints(_ key: String) throws -> [Int]? {
            guard let v = dict[key] else { return nil }
            guard case .array(let a) = v else { throw ConfigError(field: key, "must be a list of whole numbers such as [96, 192, 384], got \(v)") }
            return try a.map {
                guard case .int(let i) = $0 else { throw ConfigError(field: key, "must hold whole numbers only, got \($0)") }
                return i
            }
        }
        if let v = try ints("dims") { c.dims = v }
        if let v = try ints("depths") { c.depths = v }
        if let v = dict["heads"] {
            if case .int(let h) = v { c.heads = Array(repeating: h, count: c.dims.count) } else if let a = try ints("heads") { c.heads = a }
        } else if c.heads.count != c.dims.count, let h = c.heads.first {
            c.heads = Array(repeating: h, count: c.dims.count)
        }
        if let v = try ints("image") { c.image = v }
        if let v = try BlockConfig.int(dict, "inChannels") { c.inChannels = v }
        if let v = try BlockConfig.int(dict, "classes") { c.classes = v }
        if let v = try BlockConfig.int(dict, "timeSteps") { c.timeSteps = v }
        if let v = try BlockConfig.int(dict, "mlpRatio") { c.mlpRatio = v }
        if let v = try BlockConfig.int(dict, "maxInputCount") { c.maxFrameCount = v }
        if let v = try BlockConfig.string(dict, "attention") {
            guard let a = BlockConfig.Attention(rawValue: v), a != .ssa else {
                throw ConfigError(field: "attention", "must be \"token\" (QKTA) or \"channel\" (QKCA) for the stages before the last, which is SSA; got '\(v)'")
            }
            c.attention = a
        }
        if let v = try BlockConfig.string(dict, "layout") {
            guard let l = BlockConfig.TensorLayout(rawValue: v) else {
                throw ConfigError(field: "layout", "must be one of auto, qkformer, spikingjelly, got '\(v)'")
            }
            c.layout = l
        }
        if let v = dict["bnEps"] {
            switch v {
            case .int(let i): c.bnEps = Double(i)
            case .number(let d): c.bnEps = d
            default: throw ConfigError(field: "bnEps", "must be a number such as 1e-5, got \(v)")
            }
        }
        if let q = dict["quantization"] { c.quantization = try BlockConfig.Quantization.parse(q) }
        try c.validate()
        return c
    }

    /// The spatial down-sampling of each stage's embedding: the image side divided by these gives
    /// each stage's token grid (imagenet 4, 2, 2; cifar 1, 2, 2; dvs 8, 2).
    public var stageStrides: [Int] {
        (0..<stages).map { s in s > 0 ? 2 : (embedding == .imagenet ? 4 : embedding == .cifar ? 1 : 8) }
    }

    /// Checks every value; throws the first problem.
    public func validate() throws {
        guard (1...4).contains(stages) else { throw ConfigError(field: "dims", "gives \(stages) stages; a network has 1 to 4") }
        guard depths.count == stages else { throw ConfigError(field: "depths", "has \(depths.count) values for \(stages) stages (dims); give one block count per stage") }
        guard heads.count == stages else { throw ConfigError(field: "heads", "has \(heads.count) values for \(stages) stages (dims); give one head count per stage, or one number for all") }
        for s in 0..<stages {
            guard (2...65_536).contains(dims[s]), dims[s] % 2 == 0 else {
                throw ConfigError(field: "dims", "stage \(s + 1) has \(dims[s]) channels; give an even number from 2 to 65536 (the embedding's first conv writes dim / 2)")
            }
            if embedding == .dvs && s == 0 && dims[0] % 8 != 0 {
                throw ConfigError(field: "dims", "the dvs embedding writes dim / 8, dim / 4 and dim / 2 channels; stage 1's \(dims[0]) is not a multiple of 8")
            }
            guard heads[s] >= 1, dims[s] % heads[s] == 0 else {
                throw ConfigError(field: "heads", "stage \(s + 1): \(heads[s]) heads do not divide \(dims[s]) channels; choose a divisor")
            }
            guard (0...64).contains(depths[s]) else { throw ConfigError(field: "depths", "stage \(s + 1) has \(depths[s]) blocks; give 0...64") }
        }
        guard image.count == 2, image.allSatisfy({ (1...4096).contains($0) }) else {
            throw ConfigError(field: "image", "must be [height, width], each 1...4096, got \(image)")
        }
        var side = image
        for (s, stride) in stageStrides.enumerated() {
            guard side[0] >= stride, side[1] >= stride, side[0] % stride == 0, side[1] % stride == 0 else {
                throw ConfigError(field: "image", "\(image[0]) x \(image[1]) does not divide into stage \(s + 1)'s token grid (a \(stride)x down-sampling of \(side[0]) x \(side[1])); choose a size that is a multiple of \(stageStrides.reduce(1, *))")
            }
            side = side.map { $0 / stride }
        }
        guard (1...16).contains(inChannels) else { throw ConfigError(field: "inChannels", "must be from 1 to 16, got \(inChannels)") }
        guard (1...100_000).contains(classes) else { throw ConfigError(field: "classes", "must be from 1 to 100000, got \(classes)") }
        guard (1...64).contains(timeSteps) else { throw ConfigError(field: "timeSteps", "must be from 1 to 64, got \(timeSteps)") }
        guard (1...16).contains(mlpRatio) else { throw ConfigError(field: "mlpRatio", "must be from 1 to 16, got \(mlpRatio)") }
        guard (1...255).contains(maxFrameCount) else { throw ConfigError(field: "maxInputCount", "the largest DVS frame count must be 1...255, got \(maxFrameCount)") }
        guard bnEps >= 0, bnEps.isFinite else { throw ConfigError(field: "bnEps", "must be a finite number >= 0, got \(bnEps)") }
        for (s, d) in depths.enumerated() where 2 + 2 * d > 255 {
            throw ConfigError(field: "depths", "stage \(s + 1)'s \(d) blocks reach counts of \(2 + 2 * d), beyond uint8")
        }
        // Each block's own checks (widths, T and E).
        for s in 1...stages where depths[s - 1] > 0 { try block(stage: s, index: 0).validate() }
    }

    /// Tokens `[height, width]` of stage `s` (1-based).
    public func tokenGrid(stage s: Int) -> [Int] {
        let f = stageStrides.prefix(s).reduce(1, *)
        return image.map { $0 / f }
    }

    /// The config of block `index` of stage `s` (1-based), as a QKFormer block alone.
    public func block(stage s: Int, index: Int) -> BlockConfig {
        let g = tokenGrid(stage: s)
        var b = BlockConfig(model: model, stage: s, index: index, block: .qkformerBlock, dim: dims[s - 1], heads: heads[s - 1],
                            tokens: g[0] * g[1], timeSteps: timeSteps, mlpRatio: mlpRatio, layout: layout, bnEps: bnEps,
                            quantization: quantization)
        b.attention = attention(stage: s)
        return b
    }
}
