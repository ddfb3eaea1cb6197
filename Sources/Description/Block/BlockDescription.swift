import Foundation

/// One spiking layer with integer parameters (docs/arithmetic.md §1-§4): a 1x1 conv (a linear map
/// over channels) folded with its BatchNorm into integer weights and biases, then QKFormer's LIF
/// (tau 2, threshold 1.0, hard reset to 0). Output channel `o` is on the weight grid
/// `2^-fractionBits[o]` and its membrane on `2^-(fractionBits[o] + decayFractionBits)`. Nothing here
/// computes: the golden model runs these numbers and the generator builds them.
public struct SpikingLayer: Hashable, Sendable {
    /// `q`, `k`, `proj`, `fc1` or `fc2`: the name errors and reports use.
    public var name: String
    /// `[outputs][inputs]`, on each output channel's grid.
    public var weights: [[Int64]]
    public var bias: [Int64]
    /// `Fw` of each output channel.
    public var fractionBits: [Int]
    /// `E`, the membrane's extra fraction bits (`T*k` for exact decay).
    public var decayFractionBits: Int

    public init(name: String, weights: [[Int64]], bias: [Int64], fractionBits: [Int], decayFractionBits: Int) throws {
        let outs = weights.count
        guard outs >= 1, let ins = weights.first?.count, ins >= 1 else {
            throw ConfigError(field: name, "has no weights; a layer needs at least one input and one output channel")
        }
        if let o = weights.firstIndex(where: { $0.count != ins }) {
            throw ConfigError(field: "\(name).weights", "row \(o) has \(weights[o].count) inputs, row 0 has \(ins); every output channel reads the same inputs")
        }
        guard bias.count == outs else { throw ConfigError(field: "\(name).bias", "has \(bias.count) values for \(outs) output channels") }
        guard fractionBits.count == outs else {
            throw ConfigError(field: "\(name).fractionBits", "has \(fractionBits.count) values for \(outs) output channels")
        }
        if let o = fractionBits.firstIndex(where: { !(0...32).contains($0) }) {
            throw ConfigError(field: "\(name).fractionBits", "channel \(o) has Fw = \(fractionBits[o]); the generator supports 0...32")
        }
        guard (0...32).contains(decayFractionBits) else {
            throw ConfigError(field: "\(name).decayFractionBits", "is \(decayFractionBits); the generator supports 0...32")
        }
        (self.name, self.weights, self.bias, self.fractionBits, self.decayFractionBits) = (name, weights, bias, fractionBits, decayFractionBits)
    }

    public var inputs: Int { weights.first?.count ?? 0 }
    public var outputs: Int { weights.count }
    /// All output channels on one grid.
    public var uniformGrid: Bool { Set(fractionBits).count == 1 }

    /// The same layer with every bias shifted by `delta` (on the weight grid).
    public func shiftingBias(by delta: Int64) -> SpikingLayer {
        var l = self
        l.bias = bias.map { $0 + delta }
        return l
    }
}

/// The stream between two parts (docs/formats.md): one vector of `channels` counts per token and
/// time step, tokens in order with the `timeSteps` time steps of a token innermost; every count
/// lies in `0...maxCount`. The hardware's beat layout (counts per beat) is a folding choice of the
/// generator, not part of the stream's meaning.
public struct StreamFormat: Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var tokens: Int
    public var timeSteps: Int
    public var maxCount: Int
    /// The image width of a spatial stream (`tokens = height * width`, token `n = y * width + x`;
    /// docs/arithmetic.md §8), or nil for a stream whose tokens have no geometry (a block alone).
    /// Convolutions and pools need it; token-local parts pass it through.
    public var width: Int?

    public init(channels: Int, tokens: Int, timeSteps: Int, maxCount: Int, width: Int? = nil) {
        (self.channels, self.tokens, self.timeSteps, self.maxCount, self.width) = (channels, tokens, timeSteps, maxCount, width)
    }

    /// The image height of a spatial stream.
    public var height: Int? { width.map { tokens / $0 } }

    /// The same stream (tokens, T, geometry) with other channels and counts.
    public func with(channels: Int, maxCount: Int) -> StreamFormat {
        var f = self
        f.channels = channels
        f.maxCount = maxCount
        return f
    }

    /// Bits of one count.
    public var countWidth: Int { max(1, Int.bitWidth - maxCount.leadingZeroBitCount) }
    public var description: String {
        "C = \(channels), N = \(tokens)\(width.map { " (\(tokens / $0) x \($0))" } ?? ""), T = \(timeSteps), counts 0...\(maxCount)"
    }
}

/// Which Q-K attention an attention part computes (docs/arithmetic.md §7).
public enum AttentionMask: String, Hashable, Sendable, CaseIterable {
    /// QKTA: row sums per token and head, a token mask; token-local.
    case token
    /// QKCA: column sums per channel over all tokens of a time step, a channel mask.
    case channel
}

/// One part of a block: a leaf layer group, or a composition of parts.
public indirect enum Part: Hashable, Sendable {
    /// Q-K attention: `Q = LIF(Wq x + bq)`, `K = LIF(Wk x + bk)`, the mask from K's sums, then
    /// `LIF(Wp (Q masked) + bp)` (docs/arithmetic.md §7). `heads` splits the channels.
    case attention(mask: AttentionMask, heads: Int, q: SpikingLayer, k: SpikingLayer, proj: SpikingLayer)
    /// SSA, Spikformer's spiking self-attention (docs/arithmetic.md §6): `Q, K, V = LIF(W x + b)`;
    /// per time step and head (`d = C / heads`), `S = K^T V` summed over all tokens, `c = Q S`,
    /// the attention neuron `attn_lif(c / 8)` (threshold 0.5: fires iff `U + c >= 8`, `U` its
    /// membrane in units of 1/8), then `LIF(Wp A + bp)`. It reduces over every token of a time
    /// step before its first output.
    case selfAttention(heads: Int, q: SpikingLayer, k: SpikingLayer, v: SpikingLayer, proj: SpikingLayer)
    /// `h = LIF(W1 x + b1)` with `hidden` outputs, `y = LIF(W2 h + b2)` (docs/arithmetic.md §6).
    case mlp(fc1: SpikingLayer, fc2: SpikingLayer)
    /// `x + f(x)`, the SEW residual add on counts (docs/arithmetic.md §5): nothing saturates.
    case residual(Part)
    /// Parts one after another.
    case chain([Part])
    /// A convolution on a spatial count stream, then (optionally) a max pool on its currents,
    /// then QKFormer's LIF (docs/arithmetic.md §8): `LIF(pool(conv(x)))`.
    case conv(ConvLayer)
    /// `main(x) + shortcut(x)`: two branches of the same input, added as counts (a patch
    /// embedding's two LIF outputs, docs/arithmetic.md §8). Both must write the same shape.
    case fork(main: Part, shortcut: Part)

    /// The format this part writes when it reads `input`; throws when the part cannot read that
    /// stream, naming both ends of the connection.
    public func output(reading input: StreamFormat, at path: String = "block") throws -> StreamFormat {
        func reads(_ l: SpikingLayer) throws {
            guard l.inputs == input.channels else {
                throw ConfigError(field: "\(path).\(l.name)", "reads \(l.inputs) channels but its input stream has \(input.channels) (\(input)); the two ends of this connection must agree")
            }
        }
        switch self {
        case .attention(_, let heads, let q, let k, let proj):
            try reads(q)
            try reads(k)
            guard q.outputs == input.channels, k.outputs == input.channels else {
                throw ConfigError(field: "\(path).q", "Q and K must keep the \(input.channels) channels of their input; got \(q.outputs) and \(k.outputs)")
            }
            guard proj.inputs == q.outputs else {
                throw ConfigError(field: "\(path).proj", "reads \(proj.inputs) channels but Q writes \(q.outputs)")
            }
            guard heads >= 1, input.channels % heads == 0 else {
                throw ConfigError(field: "\(path).heads", "\(heads) heads do not divide the \(input.channels) channels")
            }
            return input.with(channels: proj.outputs, maxCount: 1)
        case .selfAttention(let heads, let q, let k, let v, let proj):
            for l in [q, k, v] {
                try reads(l)
                guard l.outputs == input.channels else {
                    throw ConfigError(field: "\(path).\(l.name)", "must keep the \(input.channels) channels of its input; got \(l.outputs)")
                }
            }
            guard proj.inputs == v.outputs else {
                throw ConfigError(field: "\(path).proj", "reads \(proj.inputs) channels but the attention writes \(v.outputs)")
            }
            guard heads >= 1, input.channels % heads == 0 else {
                throw ConfigError(field: "\(path).heads", "\(heads) heads do not divide the \(input.channels) channels")
            }
            return input.with(channels: proj.outputs, maxCount: 1)
        case .mlp(let fc1, let fc2):
            try reads(fc1)
            guard fc2.inputs == fc1.outputs else {
                throw ConfigError(field: "\(path).fc2", "reads \(fc2.inputs) channels but fc1 writes \(fc1.outputs)")
            }
            return input.with(channels: fc2.outputs, maxCount: 1)
        case .residual(let branch):
            let b = try branch.output(reading: input, at: path + "." + branch.name)
            guard b.channels == input.channels, b.tokens == input.tokens, b.timeSteps == input.timeSteps else {
                throw ConfigError(field: "\(path).\(branch.name)", "writes \(b) but the residual adds it to its input \(input); a residual branch keeps the stream's shape")
            }
            return input.with(channels: input.channels, maxCount: input.maxCount + b.maxCount)
        case .chain(let parts):
            var f = input
            for (i, p) in parts.enumerated() { f = try p.output(reading: f, at: "\(path).\(i).\(p.name)") }
            return f
        case .conv(let c):
            return try c.output(reading: input, at: path)
        case .fork(let main, let shortcut):
            let a = try main.output(reading: input, at: path + ".main")
            let b = try shortcut.output(reading: input, at: path + ".shortcut")
            guard a.channels == b.channels, a.tokens == b.tokens, a.timeSteps == b.timeSteps, a.width == b.width else {
                throw ConfigError(field: "\(path).shortcut", "writes \(b) but the main branch writes \(a); the two branches of a patch embedding are added, so they must agree in channels, tokens and image size")
            }
            return a.with(channels: a.channels, maxCount: a.maxCount + b.maxCount)
        }
    }

    /// A short name: `attention`, `ssa`, `mlp`, `residual`, `chain`.
    public var name: String {
        switch self {
        case .attention: "attention"
        case .selfAttention: "ssa"
        case .mlp: "mlp"
        case .residual: "residual"
        case .chain: "chain"
        case .conv(let c): c.layer.name
        case .fork: "fork"
        }
    }

    /// Every spiking layer inside, in stream order.
    public var layers: [SpikingLayer] {
        switch self {
        case .attention(_, _, let q, let k, let proj): [q, k, proj]
        case .selfAttention(_, let q, let k, let v, let proj): [q, k, v, proj]
        case .mlp(let fc1, let fc2): [fc1, fc2]
        case .residual(let p): p.layers
        case .chain(let ps): ps.flatMap(\.layers)
        case .conv(let c): [c.layer]
        case .fork(let m, let s): m.layers + s.layers
        }
    }

    /// The same part with `transform` applied to each spiking layer.
    public func mapLayers(_ transform: (SpikingLayer) throws -> SpikingLayer) rethrows -> Part {
        switch self {
        case .attention(let m, let h, let q, let k, let p): .attention(mask: m, heads: h, q: try transform(q), k: try transform(k), proj: try transform(p))
        case .selfAttention(let h, let q, let k, let v, let p):
            .selfAttention(heads: h, q: try transform(q), k: try transform(k), v: try transform(v), proj: try transform(p))
        case .mlp(let a, let b): .mlp(fc1: try transform(a), fc2: try transform(b))
        case .residual(let p): .residual(try p.mapLayers(transform))
        case .chain(let ps): .chain(try ps.map { try $0.mapLayers(transform) })
        case .conv(var c):
            .conv(try { c.layer = try transform(c.layer); return c }())
        case .fork(let m, let s): .fork(main: try m.mapLayers(transform), shortcut: try s.mapLayers(transform))
        }
    }
}

/// A whole block as data: what it reads, what it computes, where its numbers came from. Every
/// other layer implements one function over it: the golden model runs it, the block library
/// builds it, the estimator estimates it, co-simulation drives it.
public struct BlockDescription: Hashable, Sendable {
    /// The config it was made from (model, stage, index, dims, quantization).
    public var config: BlockConfig
    public var input: StreamFormat
    public var body: Part
    /// Where the weights came from, for reports.
    public var origin: String

    /// Checks every connection; throws the first that does not fit.
    public init(config: BlockConfig, input: StreamFormat, body: Part, origin: String) throws {
        _ = try body.output(reading: input)
        (self.config, self.input, self.body, self.origin) = (config, input, body, origin)
    }

    public var output: StreamFormat {
        // Checked in init.
        try! body.output(reading: input)
    }

    /// A module name stem: `<block>_<model>_s<stage>`.
    public var name: String {
        "\(config.block.rawValue.replacingOccurrences(of: "-", with: "_"))_\((config.model ?? "custom").replacingOccurrences(of: "-", with: "_"))_s\(config.stage)"
    }

    /// The same block with `transform` applied to each spiking layer (bias calibration).
    public func mapLayers(_ transform: (SpikingLayer) throws -> SpikingLayer) throws -> BlockDescription {
        try BlockDescription(config: config, input: input, body: try body.mapLayers(transform), origin: origin)
    }
}

extension StreamFormat {
    /// A random sample `[T][N][C]` of this stream: each count is non-zero with probability
    /// `rate`, and then uniform in `1...maxCount`. The same seed gives the same sample.
    public func randomSample(rate: Double, seed: UInt64) -> SpikeTensor {
        var rng = SplitMix64(seed: seed)
        var t = SpikeTensor(shape: [timeSteps, tokens, channels], repeating: 0)
        for i in t.scalars.indices where Double.random(in: 0..<1, using: &rng) < rate {
            t.scalars[i] = UInt8(Int.random(in: 1...max(1, maxCount), using: &rng))
        }
        return t
    }

    /// `count` random samples; sample `s` is `randomSample(seed: seed &+ s * 0x9E3779B9)`.
    public func randomSamples(rate: Double, count: Int, seed: UInt64) -> [SpikeTensor] {
        (0..<count).map { randomSample(rate: rate, seed: seed &+ UInt64($0) &* 0x9E37_79B9) }
    }
}
