import Foundation

/// One block of one model, as `config.json` describes it (docs/formats.md): a named model's values,
/// overridden field by field. Every field is validated; a bad one is a `ConfigError` naming the
/// field and the fix.
public struct BlockConfig: Hashable, Sendable {
    public var model: String?
    public var stage: Int
    public var index: Int
    public var block: BlockKind
    public var dim: Int
    public var heads: Int
    public var tokens: Int
    public var timeSteps: Int
    public var mlpRatio: Int
    public var layout: TensorLayout
    public var bnEps: Double
    public var quantization: Quantization
    /// The attention inside a QKFormer block (config field `attention`: "token" for QKTA,
    /// "channel" for QKCA, "ssa" for SSA; docs/arithmetic.md §6-7). A named model's last stage
    /// (hst-2-256's second) is SSA, its other stages QKTA; a custom config is QKTA unless it says.
    public var attention: Attention = .token
    /// The largest count on the block input (config field `maxInputCount`); nil means the
    /// default of docs/arithmetic.md §5 (`BlockDescription.defaultMaxInputCount`).
    public var maxInputCount: Int?

    /// The attention operator of a block (config field `attention`).
    public enum Attention: String, Hashable, Sendable, CaseIterable {
        case token, channel, ssa
        /// The Q-K attention's mask, or nil for SSA.
        public var mask: AttentionMask? {
            switch self { case .token: .token; case .channel: .channel; case .ssa: nil }
        }
    }

    public enum TensorLayout: String, Hashable, Sendable, CaseIterable { case auto, qkformer, spikingjelly }

    public struct Quantization: Hashable, Sendable {
        public var weightBits: Int = 8
        public var perChannel: Bool = true
        /// `E`; nil means `T*k` (exact decay).
        public var decayFractionBits: Int?
        /// Bits of a fixed-point image pixel (docs/arithmetic.md §8); a network's first layer only.
        public var inputBits: Int = 8
        /// Fraction bits of a pixel: integer `p` stands for `p * 2^-inputFractionBits`.
        public var inputFractionBits: Int = 5
        public init() {}

        /// Parses the `quantization` object of config.json; unknown fields and wrong types are errors.
        static func parse(_ q: JSONValue) throws -> Quantization {
            guard case .object(let qd) = q else {
                throw ConfigError(field: "quantization", "must be an object such as {\"weightBits\": 8}, got \(q)")
            }
            let qKnown: Set<String> = ["weightBits", "perChannel", "decayFractionBits", "inputBits", "inputFractionBits"]
            if let unknown = qd.keys.sorted().first(where: { !qKnown.contains($0) }) {
                throw ConfigError(field: "quantization.\(unknown)", "is not a quantization field; known: \(qKnown.sorted().joined(separator: ", "))")
            }
            var r = Quantization()
            if let v = try int(qd, "weightBits", prefix: "quantization.") { r.weightBits = v }
            if let v = qd["perChannel"] {
                guard case .bool(let b) = v else {
                    throw ConfigError(field: "quantization.perChannel", "must be true or false, got \(v)")
                }
                r.perChannel = b
            }
            if let v = try int(qd, "decayFractionBits", prefix: "quantization.") { r.decayFractionBits = v }
            if let v = try int(qd, "inputBits", prefix: "quantization.") { r.inputBits = v }
            if let v = try int(qd, "inputFractionBits", prefix: "quantization.") { r.inputFractionBits = v }
            guard (2...16).contains(r.inputBits) else {
                throw ConfigError(field: "quantization.inputBits", "must be from 2 to 16, got \(r.inputBits)")
            }
            guard (0...(r.inputBits + 8)).contains(r.inputFractionBits) else {
                throw ConfigError(field: "quantization.inputFractionBits", "must be from 0 to inputBits + 8 = \(r.inputBits + 8), got \(r.inputFractionBits)")
            }
            return r
        }
    }

    public var headDim: Int { dim / heads }

    /// The config of block `index` of `stage` of a named model.
    public static func named(_ name: String, stage: Int = 1, index: Int = 0, block: BlockKind? = nil) throws -> BlockConfig {
        guard let m = ModelConfig.named(name) else {
            throw ConfigError(field: "model", "unknown model '\(name)'; choose one of: \(ModelConfig.named.map(\.name).joined(separator: ", "))")
        }
        guard (1...m.stages).contains(stage) else {
            throw ConfigError(field: "stage", "\(name) has stages 1 to \(m.stages), got \(stage)")
        }
        guard (0..<m.blocksPerStage[stage - 1]).contains(index) else {
            throw ConfigError(field: "index", "stage \(stage) of \(name) has blocks 0 to \(m.blocksPerStage[stage - 1] - 1), got \(index)")
        }
        var c = BlockConfig(model: name, stage: stage, index: index, block: block ?? m.defaultBlock(stage: stage),
                            dim: m.stageDims[stage - 1], heads: m.heads, tokens: m.tokensPerStage[stage - 1],
                            timeSteps: m.timeSteps, mlpRatio: m.mlpRatio, layout: .auto, bnEps: 1e-5,
                            quantization: Quantization())
        if m.defaultBlock(stage: stage) == .ssa { c.attention = .ssa }
        try c.validate()
        c.model = name
        return c
    }

    /// Parses `config.json` text. Unknown fields, wrong types and out-of-range values are errors.
    public static func parse(json data: Data) throws -> BlockConfig {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(field: "config.json", "is not valid JSON; write one JSON object such as {\"model\": \"hst-4-384\"}")
        }
        if let key = JSONValue.duplicateKey(in: data) {
            throw ConfigError(field: key, "is given twice in config.json; keep one of them")
        }
        guard case .object(let dict) = value else {
            throw ConfigError(field: "config.json", "must be one JSON object ({ ... })")
        }
        let known: Set<String> = ["model", "stage", "index", "block", "dim", "heads", "tokens", "timeSteps",
                                  "mlpRatio", "layout", "bnEps", "quantization", "attention", "maxInputCount"]
        if let unknown = dict.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError(field: unknown, "is not a config field; known fields: \(known.sorted().joined(separator: ", "))")
        }
        let stage = try int(dict, "stage") ?? 1
        let index = try int(dict, "index") ?? 0
        var block: BlockKind?
        if let b = try string(dict, "block") {
            guard let k = BlockKind(rawValue: b) else {
                throw ConfigError(field: "block", "must be one of \(BlockKind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(b)'")
            }
            block = k
        }
        var c: BlockConfig
        if let name = try string(dict, "model") {
            c = try named(name, stage: stage, index: index, block: block)
        } else {
            for f in ["dim", "heads", "tokens", "timeSteps"] where dict[f] == nil {
                throw ConfigError(field: f, "is required when no \"model\" is named; give it, or name a model such as \"hst-4-384\"")
            }
            c = BlockConfig(model: nil, stage: stage, index: index, block: block ?? .qkta, dim: 0, heads: 0, tokens: 0,
                            timeSteps: 0, mlpRatio: 4, layout: .auto, bnEps: 1e-5, quantization: Quantization())
        }
        if let v = try int(dict, "dim") { c.dim = v }
        if let v = try int(dict, "heads") { c.heads = v }
        if let v = try int(dict, "tokens") { c.tokens = v }
        if let v = try int(dict, "timeSteps") { c.timeSteps = v }
        if let v = try int(dict, "mlpRatio") { c.mlpRatio = v }
        if let v = try string(dict, "attention") {
            guard let a = Attention(rawValue: v) else {
                throw ConfigError(field: "attention", "must be \"token\" (QKTA), \"channel\" (QKCA) or \"ssa\" (SSA), got '\(v)'")
            }
            c.attention = a
        }
        if let v = try int(dict, "maxInputCount") { c.maxInputCount = v }
        if let v = try string(dict, "layout") {
            guard let l = TensorLayout(rawValue: v) else {
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
        if let q = dict["quantization"] { c.quantization = try Quantization.parse(q) }
        try c.validate()
        return c
    }

    /// Checks every value; throws the first problem.
    public func validate() throws {
        guard (1...65_536).contains(dim) else { throw ConfigError(field: "dim", "must be from 1 to 65536, got \(dim)") }
        guard heads >= 1 else { throw ConfigError(field: "heads", "must be at least 1, got \(heads)") }
        guard dim % heads == 0 else {
            throw ConfigError(field: "heads", "\(heads) heads do not divide dim \(dim); choose a divisor of \(dim)")
        }
        guard (1...1_000_000).contains(tokens) else { throw ConfigError(field: "tokens", "must be from 1 to 1000000, got \(tokens)") }
        guard (1...64).contains(timeSteps) else { throw ConfigError(field: "timeSteps", "must be from 1 to 64, got \(timeSteps)") }
        guard (1...16).contains(mlpRatio) else { throw ConfigError(field: "mlpRatio", "must be from 1 to 16, got \(mlpRatio)") }
        guard bnEps >= 0, bnEps.isFinite else { throw ConfigError(field: "bnEps", "must be a finite number >= 0 (PyTorch allows 0), got \(bnEps)") }
        guard (2...16).contains(quantization.weightBits) else {
            throw ConfigError(field: "quantization.weightBits", "must be from 2 to 16, got \(quantization.weightBits)")
        }
        if let m = maxInputCount, !(1...253).contains(m) {
            throw ConfigError(field: "maxInputCount", "must be from 1 to 253 (a block adds 2 to it and its output is uint8), got \(m)")
        }
        if let e = quantization.decayFractionBits, !(0...32).contains(e) {
            throw ConfigError(field: "quantization.decayFractionBits", "must be from 0 to 32 (or omitted for T*k), got \(e)")
        }
        // Exact decay (decayFractionBits omitted) puts the membrane on the grid 2^-(Fw + T): the
        // neuron's entry shift E = T must fit the generator's 32 (docs/arithmetic.md §1).
        if quantization.decayFractionBits == nil && timeSteps > 32 {
            throw ConfigError(field: "timeSteps", "\(timeSteps) with exact decay (quantization.decayFractionBits omitted, so E = T = \(timeSteps)) needs more than the 32 membrane fraction bits the generator supports; set quantization.decayFractionBits to 32 or less (docs/arithmetic.md §1), or use at most 32 time steps")
        }
    }

    static func int(_ d: [String: JSONValue], _ key: String, prefix: String = "") throws -> Int? {
        guard let v = d[key] else { return nil }
        guard case .int(let i) = v else { throw ConfigError(field: prefix + key, "must be a whole number, got \(v)") }
        return i
    }

    static func string(_ d: [String: JSONValue], _ key: String) throws -> String? {
        guard let v = d[key] else { return nil }
        guard case .string(let s) = v else { throw ConfigError(field: key, "must be a string, got \(v)") }
        return s
    }
}

/// A configuration value, bundle or description is wrong: one line naming the field and the fix.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public let field: String
    public let message: String
    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }

    /// The same error with its field prefixed, for errors raised by a nested part.
    public func within(_ prefix: String) -> ConfigError { ConfigError(field: prefix + "." + field, message) }
}
