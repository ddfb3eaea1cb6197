import Description
import Foundation

/// The integer parameters of one SSA block (Spikformer's spiking self-attention, QKFormer's
/// last stage; docs/arithmetic.md §6), after BN folding and quantization:
/// `Q, K, V = LIF(W x + b)`; per time step and head, `S = K^T V` over all `N` tokens,
/// `c = Q S`, the attention neuron `attn_lif(c / 8)`, then `out = LIF(Wp A + bp)`.
public struct SSAParameters: Hashable, Sendable {
    /// `C`, the channels.
    public let dim: Int
    /// `h`, the heads; `d = C / h` channels each (channel `c` is lane `c % d` of head `c / d`).
    public let heads: Int
    /// `T`, the time steps of one sample.
    public let timeSteps: Int
    public let q: SpikingLinearLayer
    public let k: SpikingLinearLayer
    public let v: SpikingLinearLayer
    public let proj: SpikingLinearLayer
    /// `attn_lif` on the integer `c` (see `LIFParameters.selfAttention`).
    public let attention: LIFParameters

    /// `attentionExtraFractionBits` (`E_a`, default `T`) are the attention membrane's bits below
    /// 1/8: `E_a = T` is exact (docs/arithmetic.md §6).
    public init(dim: Int, heads: Int, timeSteps: Int, q: SpikingLinearLayer, k: SpikingLinearLayer,
                v: SpikingLinearLayer, proj: SpikingLinearLayer, attentionExtraFractionBits: Int? = nil) throws {
        _ = try HeadLayout(channels: dim, heads: heads)
        guard timeSteps >= 1 else { throw GoldenError(field: "timeSteps", "must be >= 1, got \(timeSteps)") }
        for (name, layer) in [("q", q), ("k", k), ("v", v), ("proj", proj)] {
            guard layer.linear.inputs == dim && layer.linear.outputs == dim else {
                throw GoldenError(field: "\(name).weights",
                                  "expected \(dim)x\(dim) for dim \(dim), got \(layer.linear.outputs)x\(layer.linear.inputs)")
            }
        }
        let ea = attentionExtraFractionBits ?? timeSteps
        guard (0...58).contains(ea) else {
            throw GoldenError(field: "attention.inputShift", "the attention membrane's extra fraction bits must be 0...58, got \(ea)")
        }
        (self.dim, self.heads, self.timeSteps) = (dim, heads, timeSteps)
        (self.q, self.k, self.v, self.proj) = (q, k, v, proj)
        attention = .selfAttention(extraFractionBits: ea)
    }

    public var layout: HeadLayout { try! HeadLayout(channels: dim, heads: heads) }

    /// The largest `S[i][j]` (a count of tokens, `N`) and the largest `c` (`d * N`): the
    /// interval analysis of docs/arithmetic.md §6. Throws when `c << E_a` leaves 64 bits.
    public func ranges(tokens n: Int) throws -> (s: Int64, c: Int64) {
        let d = Int64(layout.headDim)
        let (c, o) = d.multipliedReportingOverflow(by: Int64(n))
        guard !o, c <= (Int64.max >> Int64(attention.inputShift + 2)) else {
            throw GoldenError(field: "attention", "c = Q S reaches d*N = \(layout.headDim)*\(n), beyond what a 64-bit membrane holds with \(attention.inputShift) extra fraction bits; lower the tokens N")
        }
        return (Int64(n), c)
    }

    /// Checks that `input` is `[T][N][C]` for these parameters and returns `N`.
    func tokens(of input: SpikeTensor) throws -> Int {
        guard input.shape.count == 3 else {
            throw GoldenError(field: "input", "expected a [T, N, C] tensor, got shape \(input.shape)")
        }
        guard input.shape[0] == timeSteps else {
            throw GoldenError(field: "input", "has \(input.shape[0]) time steps, the block has T = \(timeSteps)")
        }
        guard input.shape[2] == dim else {
            throw GoldenError(field: "input", "has \(input.shape[2]) channels, the block has C = \(dim)")
        }
        guard input.shape[1] >= 1 else { throw GoldenError(field: "input", "has no tokens") }
        return input.shape[1]
    }

    /// The self-checking attention bank: `N * C` neurons, each fed a `c` in `0...d*N`.
    func attentionBank(tokens n: Int) throws -> LIFBank {
        let r = try ranges(tokens: n)
        do {
            return try LIFBank(count: n * dim, channelParameters: [attention], currentRanges: [0...r.c])
        } catch let e as GoldenError { throw e.within("attention") }
    }
}

extension LIFParameters {
    /// SSA's `attn_lif` (tau 2, hard reset to 0, decayInput, threshold 0.5) fed `0.125 * c`, with
    /// the 0.125 folded in: its current is the integer `c`, its membrane `U` is in units of 1/8
    /// with `E_a` further fraction bits (grid `2^-(3 + E_a)` in real units), and 0.5 is the
    /// integer `4 << E_a`. It fires iff `U + c >= 8` (docs/arithmetic.md §6); `E_a = T` is exact.
    public static func selfAttention(extraFractionBits ea: Int) -> LIFParameters {
        precondition(ea >= 0 && ea <= 58, "the SSA attention neuron needs 0 <= E_a <= 58")
        return LIFParameters(k: 1, threshold: Int64(4) << Int64(ea), reset: .hard(0), decayInput: true,
                             fractionBits: 3 + ea, inputShift: ea)
    }
}

/// Everything one SSA block computed for one sample.
///
/// `q`, `k`, `v`, `attention` (currents `c`, spikes `A`), `proj` and `output` are `[T][N][C]`;
/// `kv` is `S = K^T V`, `[T][h][d][d]` (`kv[t][h][i][j]` counts the tokens whose K spikes on lane
/// `i` and V on lane `j` of head `h`).
public struct SSATrace: Hashable, Sendable {
    public var q: SpikingLayerTrace
    public var k: SpikingLayerTrace
    public var v: SpikingLayerTrace
    public var kv: Tensor<Int64>
    /// The attention LIF: `currents` are `c = Q S`, `spikes` are `A`.
    public var attention: SpikingLayerTrace
    public var proj: SpikingLayerTrace

    init(timeSteps t: Int, tokens n: Int, dim c: Int, heads h: Int) {
        q = SpikingLayerTrace(shape: [t, n, c])
        k = SpikingLayerTrace(shape: [t, n, c])
        v = SpikingLayerTrace(shape: [t, n, c])
        kv = Tensor(shape: [t, h, c / h, c / h], repeating: 0)
        attention = SpikingLayerTrace(shape: [t, n, c])
        proj = SpikingLayerTrace(shape: [t, n, c])
    }

    /// The block's output spikes, `[T][N][C]`.
    public var output: SpikeTensor { proj.spikes }
}

/// The golden SSA block (docs/arithmetic.md §6).
///
/// `S` sums over every token of a time step, so this runs time step by time step, keeping the
/// membranes of every (token, channel) of Q, K, V, the attention neuron and the projection:
/// each neuron evolves over the `T` steps of its (token, channel), as spikingjelly's multi-step
/// LIFs do per element, and starts at its reset value at the start of the sample.
public enum SSA {
    /// Runs one sample, `input` `[T][N][C]` counts (0/1, or SEW residual counts).
    public static func run(_ p: SSAParameters, input: SpikeTensor) throws -> SSATrace {
        try run(p, input: input, maxCount: input.scalars.max() ?? 0)
    }

    /// Runs one sample whose counts are declared to be at most `maxCount`.
    public static func run(_ p: SSAParameters, input: SpikeTensor, maxCount: UInt8) throws -> SSATrace {
        let n = try p.tokens(of: input)
        if let i = input.scalars.firstIndex(where: { $0 > maxCount }) {
            throw GoldenError(field: "input", "count \(input.scalars[i]) at time step \(i / (n * p.dim)), token \((i / p.dim) % n), channel \(i % p.dim) exceeds maxCount \(maxCount)")
        }
        let (t, c, layout) = (p.timeSteps, p.dim, p.layout)
        let (h, d) = (layout.heads, layout.headDim)
        var trace = SSATrace(timeSteps: t, tokens: n, dim: c, heads: h)
        var qBank = try wrap("q") { try p.q.makeBank(groups: n, maxCount: maxCount) }
        var kBank = try wrap("k") { try p.k.makeBank(groups: n, maxCount: maxCount) }
        var vBank = try wrap("v") { try p.v.makeBank(groups: n, maxCount: maxCount) }
        var projBank = try wrap("proj") { try p.proj.makeBank(groups: n, maxCount: 1) }
        var attnBank = try p.attentionBank(tokens: n)
        var cur = [Int64](repeating: 0, count: c)
        for step in 0..<t {
            // Q, K, V of every token of this time step.
            for token in 0..<n {
                let base = (step * n + token) * c
                let x = input.scalars[base..<(base + c)]
                trace.q.ops += p.q.linear.apply(x, into: &cur)
                trace.q.step(&qBank, neuronBase: token * c, currents: cur, at: base)
                trace.k.ops += p.k.linear.apply(x, into: &cur)
                trace.k.step(&kBank, neuronBase: token * c, currents: cur, at: base)
                trace.v.ops += p.v.linear.apply(x, into: &cur)
                trace.v.step(&vBank, neuronBase: token * c, currents: cur, at: base)
            }
            // S = K^T V per head: S[i][j] += 1 for every token with K on lane i and V on lane j.
            let sBase = step * h * d * d
            for token in 0..<n {
                let base = (step * n + token) * c
                for head in 0..<h {
                    let lane0 = base + head * d
                    let block = sBase + head * d * d
                    for i in 0..<d where trace.k.spikes.scalars[lane0 + i] != 0 {
                        for j in 0..<d where trace.v.spikes.scalars[lane0 + j] != 0 {
                            trace.kv.scalars[block + i * d + j] += 1
                        }
                    }
                }
            }
            // c = Q S: each Q spike on lane i adds row i of its head's S; then attn_lif.
            for token in 0..<n {
                let base = (step * n + token) * c
                for o in 0..<c { cur[o] = 0 }
                for head in 0..<h {
                    let block = sBase + head * d * d
                    for i in 0..<d where trace.q.spikes.scalars[base + head * d + i] != 0 {
                        for j in 0..<d { cur[head * d + j] += trace.kv.scalars[block + i * d + j] }
                    }
                }
                trace.attention.step(&attnBank, neuronBase: token * c, currents: cur, at: base)
            }
            // out = LIF(Wp A + bp).
            for token in 0..<n {
                let base = (step * n + token) * c
                trace.proj.ops += p.proj.linear.apply(trace.attention.spikes.scalars[base..<(base + c)], into: &cur)
                trace.proj.step(&projBank, neuronBase: token * c, currents: cur, at: base)
            }
        }
        return trace
    }
}
