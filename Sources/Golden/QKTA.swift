import Description
import Foundation

/// The golden Q-K token attention block (docs/arithmetic.md §6).
///
/// QKTA is token-local, so this runs as the hardware streams: token by token, with the time
/// steps of a token innermost, and every LIF (Q, K, attention, projection) reset at the first
/// time step of each token. Each neuron therefore evolves over the T steps of one
/// (token, channel), exactly as spikingjelly's multi-step LIF does per element.
public enum QKTA {
    /// Runs one sample, `input` `[T][N][C]` spike counts (0/1, or SEW residual counts).
    public static func run(_ p: AttentionBlockParameters, input: SpikeTensor) throws -> AttentionTrace {
        let n = try p.tokens(of: input)
        let (t, c, layout) = (p.timeSteps, p.dim, p.layout)
        let h = layout.heads
        let maxCount = input.scalars.max() ?? 0
        var trace = AttentionTrace(kind: .token, timeSteps: t, tokens: n, dim: c, heads: h)
        var qBank = try wrap("q") { try p.q.makeBank(groups: 1, maxCount: maxCount) }
        var kBank = try wrap("k") { try p.k.makeBank(groups: 1, maxCount: maxCount) }
        var projBank = try wrap("proj") { try p.proj.makeBank(groups: 1, maxCount: 1) }
        var attnBank = try p.attentionBank(count: h, terms: layout.headDim)
        var cur = [Int64](repeating: 0, count: c)
        for token in 0..<n {
            qBank.reset(); kBank.reset(); attnBank.reset(); projBank.reset()
            for step in 0..<t {
                let base = (step * n + token) * c
                let x = input.scalars[base..<(base + c)]
                trace.q.ops += p.q.linear.apply(x, into: &cur)
                trace.q.step(&qBank, neuronBase: 0, currents: cur, at: base)
                trace.k.ops += p.k.linear.apply(x, into: &cur)
                trace.k.step(&kBank, neuronBase: 0, currents: cur, at: base)
                let sums = SpikeSummation.rowSums(trace.q.spikes.scalars[base..<(base + c)], layout: layout,
                                                  width: p.attentionSumWidth)
                let abase = (step * n + token) * h
                trace.attention.step(&attnBank, neuronBase: 0, currents: sums, at: abase)
                let mask = Array(trace.attention.spikes.scalars[abase..<(abase + h)])
                let xp = SpikeSummation.tokenMask(keys: trace.k.spikes.scalars[base..<(base + c)],
                                                  headMask: mask, layout: layout)
                trace.maskedKeys.scalars.replaceSubrange(base..<(base + c), with: xp)
                trace.proj.ops += p.proj.linear.apply(xp[...], into: &cur)
                trace.proj.step(&projBank, neuronBase: 0, currents: cur, at: base)
            }
        }
        return trace
    }
}
