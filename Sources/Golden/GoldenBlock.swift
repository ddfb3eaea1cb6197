import Description
import Foundation

/// What a part of a block computed for one sample: its output, and the trace of every layer
/// inside, so that firing rates, work and a first wrong value can be read off.
public indirect enum PartTrace: Hashable, Sendable {
    case attention(AttentionTrace)
    /// SSA (docs/arithmetic.md §6).
    case selfAttention(SSATrace)
    case mlp(MLPTrace)
    /// The branch's trace and `x + branch(x)`.
    case residual(branch: PartTrace, output: SpikeTensor)
    case chain([PartTrace])

    /// The part's output, `[T][N][C]` counts.
    public var output: SpikeTensor {
        switch self {
        case .attention(let t): t.output
        case .selfAttention(let t): t.output
        case .mlp(let t): t.output
        case .residual(_, let o): o
        case .chain(let ts): ts.last!.output
        }
    }

    /// The trace of every spiking layer, in the order of `Part.layers` (the attention neuron,
    /// which sums spikes rather than multiplying, is not among them; SSA's is `t.attention`).
    public var layers: [SpikingLayerTrace] {
        switch self {
        case .attention(let t): [t.q, t.k, t.proj]
        case .selfAttention(let t): [t.q, t.k, t.v, t.proj]
        case .mlp(let t): [t.fc1, t.fc2]
        case .residual(let b, _): b.layers
        case .chain(let ts): ts.flatMap(\.layers)
        }
    }

    /// Every part's output in stream order (`f(x)` before `x + f(x)`); the last is the block's.
    public var streams: [(name: String, tensor: SpikeTensor)] {
        switch self {
        case .attention(let t): [("attention", t.output)]
        case .selfAttention(let t): [("ssa", t.output)]
        case .mlp(let t): [("mlp", t.output)]
        case .residual(let b, let o): b.streams + [("residual", o)]
        case .chain(let ts): ts.flatMap(\.streams)
        }
    }
}

/// The golden model of a block description: the integer arithmetic of docs/arithmetic.md applied
/// to the description's layers, part by part. It reads only the description (no hardware layer),
/// and every range is proven up front for the input's largest count.
public struct GoldenBlock: Sendable {
    public let block: BlockDescription
    private let root: Prepared

    private indirect enum Prepared: Sendable {
        case attention(AttentionMask, AttentionBlockParameters)
        case selfAttention(SSAParameters, maxCount: UInt8)
        case mlp(MLPParameters, maxCount: Int)
        case residual(Prepared, maxCount: Int)
        case chain([Prepared])
    }

    public init(_ d: BlockDescription) throws {
        block = d
        root = try Self.prepare(d.body, d.input, path: "block")
    }

    private static func layer(_ l: SpikingLayer) throws -> SpikingLinearLayer {
        let neurons = l.fractionBits.map { LIFParameters.qkformer(weightFractionBits: $0, extraFractionBits: l.decayFractionBits) }
        return try wrap(l.name) { try SpikingLinearLayer(linear: LinearLayer(weights: l.weights, bias: l.bias), neurons: neurons) }
    }

    private static func format(_ p: Part, _ input: StreamFormat) throws -> StreamFormat {
        do { return try p.output(reading: input) } catch let e as ConfigError { throw GoldenError(field: e.field, e.message) }
    }

    private static func prepare(_ p: Part, _ input: StreamFormat, path: String) throws -> Prepared {
        guard (0...255).contains(input.maxCount) else {
            throw GoldenError(field: path, "reads counts up to \(input.maxCount); counts are uint8 (0...255)")
        }
        let maxCount = UInt8(input.maxCount)
        return try wrap(path) {
            switch p {
            case .attention(let mask, let heads, let q, let k, let proj):
                let a = try AttentionBlockParameters(dim: input.channels, heads: heads, timeSteps: input.timeSteps,
                                                     q: layer(q), k: layer(k), proj: layer(proj))
                _ = try wrap("q") { try a.q.makeBank(groups: 1, maxCount: maxCount) }
                _ = try wrap("k") { try a.k.makeBank(groups: 1, maxCount: maxCount) }
                _ = try wrap("proj") { try a.proj.makeBank(groups: 1, maxCount: 1) }
                return .attention(mask, a)
            case .selfAttention(let heads, let q, let k, let v, let proj):
                let a = try SSAParameters(dim: input.channels, heads: heads, timeSteps: input.timeSteps,
                                          q: layer(q), k: layer(k), v: layer(v), proj: layer(proj))
                // Every range up front (docs/arithmetic.md §6): Q, K, V read the input's counts,
                // proj reads 0/1 spikes, S counts up to N tokens, c reaches d*N.
                _ = try wrap("q") { try a.q.makeBank(groups: 1, maxCount: maxCount) }
                _ = try wrap("k") { try a.k.makeBank(groups: 1, maxCount: maxCount) }
                _ = try wrap("v") { try a.v.makeBank(groups: 1, maxCount: maxCount) }
                _ = try wrap("proj") { try a.proj.makeBank(groups: 1, maxCount: 1) }
                _ = try a.attentionBank(tokens: input.tokens)
                return .selfAttention(a, maxCount: maxCount)
            case .mlp(let fc1, let fc2):
                let m = try MLPParameters(dim: input.channels, hidden: fc1.outputs, timeSteps: input.timeSteps,
                                          fc1: layer(fc1), fc2: layer(fc2))
                _ = try m.banks(maxCount: maxCount)
                return .mlp(m, maxCount: input.maxCount)
            case .residual(let b):
                let out = try format(p, input)
                guard out.maxCount <= 255 else {
                    throw GoldenError(field: "residual", "x + f(x) reaches counts up to \(out.maxCount), beyond uint8; lower the input's largest count")
                }
                return .residual(try prepare(b, input, path: b.name), maxCount: out.maxCount)
            case .chain(let ps):
                var f = input
                var prepared: [Prepared] = []
                for (i, q) in ps.enumerated() {
                    prepared.append(try prepare(q, f, path: "\(i).\(q.name)"))
                    f = try format(q, f)
                }
                return .chain(prepared)
            case .conv, .fork:
                throw GoldenError(field: path, "convolutions and patch embeddings are not run by the block golden model yet")
            }
        }
    }

    /// Runs one sample, `input` `[T][N][C]` with counts in `0...block.input.maxCount`.
    public func run(_ input: SpikeTensor) throws -> PartTrace {
        let f = block.input
        guard input.shape == [f.timeSteps, f.tokens, f.channels] else {
            throw GoldenError(field: "input", "has shape \(input.shape) but the block reads [T, N, C] = [\(f.timeSteps), \(f.tokens), \(f.channels)]")
        }
        if let i = input.scalars.firstIndex(where: { Int($0) > f.maxCount }) {
            throw GoldenError(field: "input",
                              "count \(input.scalars[i]) at time step \(i / (f.tokens * f.channels)), token \((i / f.channels) % f.tokens), channel \(i % f.channels) exceeds the block's largest input count \(f.maxCount); set maxInputCount to the largest count on the block input")
        }
        return try Self.run(root, input)
    }

    private static func run(_ p: Prepared, _ x: SpikeTensor) throws -> PartTrace {
        switch p {
        case .attention(let mask, let a):
            return .attention(try wrap("attention") { try mask == .token ? QKTA.run(a, input: x) : QKCA.run(a, input: x) })
        case .selfAttention(let a, let maxCount):
            return .selfAttention(try wrap("ssa") { try SSA.run(a, input: x, maxCount: maxCount) })
        case .mlp(let m, let maxCount):
            return .mlp(try wrap("mlp") { try MLP.run(m, input: x, maxCount: maxCount) })
        case .residual(let b, let maxCount):
            let t = try run(b, x)
            return .residual(branch: t, output: try SEWResidual.add(x, t.output, maxCount: maxCount))
        case .chain(let ps):
            var traces: [PartTrace] = []
            var y = x
            for q in ps {
                let t = try run(q, y)
                traces.append(t)
                y = t.output
            }
            return .chain(traces)
        }
    }
}
