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
    /// A convolution (with its pool, if any) and its LIF (docs/arithmetic.md §8).
    case conv(ConvTrace)
    /// Both branches' traces and `main(x) + shortcut(x)`.
    case fork(main: PartTrace, shortcut: PartTrace, output: SpikeTensor)

    /// The part's output, `[T][N][C]` counts.
    public var output: SpikeTensor {
        switch self {
        case .attention(let t): t.output
        case .selfAttention(let t): t.output
        case .mlp(let t): t.output
        case .residual(_, let o): o
        case .chain(let ts): ts.last!.output
        case .conv(let t): t.output
        case .fork(_, _, let o): o
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
        case .conv(let t): [t.layer]
        case .fork(let m, let s, _): m.layers + s.layers
        }
    }

    /// Every part's output in stream order (`f(x)` before `x + f(x)`; a fork's main branch, then
    /// its shortcut, then their sum); the last is the block's. A convolution is named by its layer.
    public var streams: [(name: String, tensor: SpikeTensor)] {
        switch self {
        case .attention(let t): [("attention", t.output)]
        case .selfAttention(let t): [("ssa", t.output)]
        case .mlp(let t): [("mlp", t.output)]
        case .residual(let b, let o): b.streams + [("residual", o)]
        case .chain(let ts): ts.flatMap(\.streams)
        case .conv(let t): [(t.name, t.output)]
        case .fork(let m, let s, let o): m.streams + s.streams + [("fork", o)]
        }
    }
}

/// The golden model of a block description: the integer arithmetic of docs/arithmetic.md applied
/// to the description's layers, part by part. It reads only the description (no hardware layer),
/// and every range is proven up front for the input's largest count.
public struct GoldenBlock: Sendable {
    public let block: BlockDescription
    private let root: GoldenPart

    public init(_ d: BlockDescription) throws {
        block = d
        root = try GoldenPart(d.body, input: d.input, path: "block")
    }

    /// Runs one sample, `input` `[T][N][C]` with counts in `0...block.input.maxCount`.
    public func run(_ input: SpikeTensor) throws -> PartTrace { try root.run(input) }
}

/// The golden model of one part on a given input stream (a block's body, or a network section
/// such as a patch embedding): every range proven up front for the stream's largest count.
public struct GoldenPart: Sendable {
    public let part: Part
    public let input: StreamFormat
    private let root: Prepared

    private indirect enum Prepared: Sendable {
        case attention(AttentionMask, AttentionBlockParameters)
        case selfAttention(SSAParameters, maxCount: UInt8)
        case mlp(MLPParameters, maxCount: Int)
        case residual(Prepared, maxCount: Int)
        case chain([Prepared])
        case conv(GoldenConv)
        case fork(main: Prepared, shortcut: Prepared, maxCount: Int)
    }

    /// Prepares `part` reading `input`; errors name the part by `path`.
    public init(_ part: Part, input: StreamFormat, path: String = "block") throws {
        (self.part, self.input) = (part, input)
        root = try Self.prepare(part, input, path: path)
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
            case .conv(let c):
                guard let w = input.width, let h = input.height, h * w == input.tokens else {
                    throw GoldenError(field: c.layer.name, "is a convolution but its input stream \(input) has no image geometry; a convolution reads a spatial stream")
                }
                guard c.inChannels == input.channels else {
                    throw GoldenError(field: c.layer.name, "reads \(c.inChannels) channels but its input stream has \(input.channels)")
                }
                return .conv(try GoldenConv(c, height: h, width: w, inputRange: 0...Int64(input.maxCount)))
            case .fork(let m, let s):
                let out = try format(p, input)
                guard out.maxCount <= 255 else {
                    throw GoldenError(field: "fork", "main(x) + shortcut(x) reaches counts up to \(out.maxCount), beyond uint8")
                }
                return .fork(main: try prepare(m, input, path: "main.\(m.name)"),
                             shortcut: try prepare(s, input, path: "shortcut.\(s.name)"), maxCount: out.maxCount)
            }
        }
    }

    /// Runs one sample, `input` `[T][N][C]` with counts in `0...input.maxCount`.
    public func run(_ input: SpikeTensor) throws -> PartTrace {
        let f = self.input
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
        case .conv(let c):
            return .conv(try c.run(x))
        case .fork(let m, let s, let maxCount):
            let a = try wrap("main") { try run(m, x) }
            let b = try wrap("shortcut") { try run(s, x) }
            let o = try wrap("fork") { try SEWResidual.add(a.output, b.output, maxCount: maxCount) }
            return .fork(main: a, shortcut: b, output: o)
        }
    }
}
