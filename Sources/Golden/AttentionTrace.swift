import Description
import Foundation

/// Everything one spiking layer computed, so a mismatch with the RTL can be traced to its first
/// wrong value.
public struct SpikingLayerTrace: Hashable, Sendable {
    /// The current entering each LIF, before `<< E` (the accumulator output, or the spike sum).
    public var currents: Tensor<Int64>
    /// `H` at each step (saturated when the membrane width is forced).
    public var hidden: Tensor<Int64>
    /// `V` after each step.
    public var membranes: Tensor<Int64>
    public var spikes: SpikeTensor
    /// The linear layer's work (zero for the attention neuron, which sums rather than multiplies).
    public var ops: SynapticOps

    init(shape: [Int]) {
        currents = Tensor(shape: shape, repeating: 0)
        hidden = Tensor(shape: shape, repeating: 0)
        membranes = Tensor(shape: shape, repeating: 0)
        spikes = Tensor(shape: shape, repeating: 0)
        ops = SynapticOps()
    }

    /// Steps bank neurons `neuronBase + j` with `currents[j]` and records them at `offset + j`.
    mutating func step(_ bank: inout LIFBank, neuronBase: Int, currents cur: [Int64], at offset: Int) {
        for j in cur.indices {
            let s = bank.step(neuron: neuronBase + j, current: cur[j])
            currents.scalars[offset + j] = cur[j]
            hidden.scalars[offset + j] = s.hidden
            membranes.scalars[offset + j] = s.membrane
            spikes.scalars[offset + j] = s.spike ? 1 : 0
        }
    }
}

/// The intermediate tensors of a QKTA or QKCA block for one sample.
///
/// `q`, `k`, `proj`, `maskedKeys` and `output` are `[T][N][C]`. The attention neuron's tensors
/// are `[T][N][h]` for QKTA (per token and head) and `[T][C]` for QKCA (per channel).
public struct AttentionTrace: Hashable, Sendable {
    public let kind: AttentionMask
    public var q: SpikingLayerTrace
    public var k: SpikingLayerTrace
    /// The attention LIF: `currents` are the spike sums, `spikes` the mask `A`.
    public var attention: SpikingLayerTrace
    /// `X' = A AND K`.
    public var maskedKeys: SpikeTensor
    public var proj: SpikingLayerTrace

    init(kind: AttentionMask, timeSteps t: Int, tokens n: Int, dim c: Int, heads h: Int) {
        self.kind = kind
        q = SpikingLayerTrace(shape: [t, n, c])
        k = SpikingLayerTrace(shape: [t, n, c])
        attention = SpikingLayerTrace(shape: kind == .token ? [t, n, h] : [t, c])
        maskedKeys = Tensor(shape: [t, n, c], repeating: 0)
        proj = SpikingLayerTrace(shape: [t, n, c])
    }

    /// The spike sums fed to the attention LIF.
    public var attentionSums: Tensor<Int64> { attention.currents }
    /// The attention mask `A_t` (QKTA) or `A_c` (QKCA).
    public var attentionMask: SpikeTensor { attention.spikes }
    /// The block's output spikes, `[T][N][C]`.
    public var output: SpikeTensor { proj.spikes }
}
