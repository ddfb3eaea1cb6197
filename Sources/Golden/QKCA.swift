import Description
import Foundation

/// The golden Q-K channel attention block (docs/arithmetic.md §6).
///
/// Unlike QKTA, the channel mask of a time step needs the column sums over all N tokens of that
/// step, so this runs time step by time step and keeps the Q, K and projection membranes of
/// every (token, channel), O(N*C) state, as the hardware must. The attention LIF of channel `c`
/// evolves over the T steps. Every neuron starts at its reset value at the start of the sample.
public enum QKCA {
    /// Runs one sample, `input` `[T][N][C]` spike counts (0/1, or SEW residual counts).
    public static func run(_ p: AttentionBlockParameters, input: SpikeTensor) throws -> AttentionTrace {
        let n = try p.tokens(of: input)
        let (t, c) = (p.timeSteps, p.dim)
        let maxCount = input.scalars.max() ?? 0
        var trace = AttentionTrace(kind: .channel, timeSteps: t, tokens: n, dim: c, heads: p.heads)
        var qBank = try wrap("q") { try p.q.makeBank(groups: n, maxCount: maxCount) }
        var kBank = try wrap("k") { try p.k.makeBank(groups: n, maxCount: maxCount) }
        var projBank = try wrap("proj") { try p.proj.makeBank(groups: n, maxCount: 1) }
        var attnBank = try p.attentionBank(count: c, terms: n)
        var cur = [Int64](repeating: 0, count: c)
        for step in 0..<t {
            let plane = (step * n * c)..<((step + 1) * n * c)
            for token in 0..<n {
                let base = (step * n + token) * c
                let x = input.scalars[base..<(base + c)]
                trace.q.ops += p.q.linear.apply(x, into: &cur)
                trace.q.step(&qBank, neuronBase: token * c, currents: cur, at: base)
                trace.k.ops += p.k.linear.apply(x, into: &cur)
                trace.k.step(&kBank, neuronBase: token * c, currents: cur, at: base)
            }
            let sums = SpikeSummation.columnSums(trace.q.spikes.scalars[plane], tokens: n, channels: c,
                                                 width: p.attentionSumWidth)
            trace.attention.step(&attnBank, neuronBase: 0, currents: sums, at: step * c)
            let mask = Array(trace.attention.spikes.scalars[(step * c)..<((step + 1) * c)])
            let xp = SpikeSummation.channelMask(keys: trace.k.spikes.scalars[plane], channelMask: mask)
            trace.maskedKeys.scalars.replaceSubrange(plane, with: xp)
            for token in 0..<n {
                let base = (step * n + token) * c
                trace.proj.ops += p.proj.linear.apply(trace.maskedKeys.scalars[base..<(base + c)], into: &cur)
                trace.proj.step(&projBank, neuronBase: token * c, currents: cur, at: base)
            }
        }
        return trace
    }
}
