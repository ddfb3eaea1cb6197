import Foundation

/// An analytical hardware model of Spikformer's spiking self-attention (SSA, docs/arithmetic.md §6): no SSA
/// hardware exists in this project, so its storage and logic are counted from what a streaming
/// implementation in the same style as the generated QKTA must hold.
///
/// `Q, K, V = LIF(BN(Conv1d(x)))`, `c = Q (K^T V)` per head, `attn_lif` fires iff `U + c >= 8`,
/// then `LIF(BN(Conv1d))`. `K^T V` is `d x d` per head and sums over all `N` tokens of a time
/// step, so no output of a time step exists before every token of it has been seen:
/// - Projections: Q, K, V and the output projection are four event-driven accumulators with their
///   LIF banks, each the size of one of QKTA's (the generated QKTA's Q accumulator and Q LIF bank
///   are taken as the unit: `layerMemoryBits`, `layerFlipFlops`, `layerLUTs`).
/// - Counters: `T * h * d * d` counters of `ceil(log2(N + 1))` bits (`K[n][i] AND V[n][j]`
///   counted over the tokens), registers, as QKCA's column counters are.
/// - Token buffer: pass 1 streams every token into the counters; pass 2 needs each token's Q
///   again, so Q is buffered, `N * T * C` bits of RAM (K and V are consumed into the counters in
///   pass 1 and need no buffer).
/// - Attention neurons: `C` membranes of the count width `ceil(log2(d*N + 1)) + 1` bits, one
///   per channel, stepped per token (token-local once `K^T V` is known).
/// - LUTs beyond the four layers: every counter is an incrementer with an enable (one LUT per
///   bit on a carry chain); each of the `P` lanes forms `c = sum_j Q[j] * KV[j][lane]` with a
///   `d`-input adder tree of `w + log2 d` bits (about `d * (w + log2 d)` LUTs), selecting its
///   counter column among `G` (about `d * w * (G - 1) / 3` LUTs of 4:1 multiplexers); control
///   and the attention LIF (a few tens of LUTs) are left out. This is a lower-bound style count.
public struct SSAModel: Sendable {
    public var channels: Int, heads: Int, tokens: Int, timeSteps: Int, lanes: Int
    public var layerMemoryBits: Int, layerFlipFlops: Int, layerLUTs: Int

    public init(channels: Int, heads: Int, tokens: Int, timeSteps: Int, lanes: Int,
                layerMemoryBits: Int, layerFlipFlops: Int, layerLUTs: Int) {
        (self.channels, self.heads, self.tokens, self.timeSteps, self.lanes) = (channels, heads, tokens, timeSteps, lanes)
        (self.layerMemoryBits, self.layerFlipFlops, self.layerLUTs) = (layerMemoryBits, layerFlipFlops, layerLUTs)
    }

    static func bits(_ maxValue: Int) -> Int { max(1, Int(ceil(log2(Double(maxValue) + 1)))) }

    public var headDim: Int { channels / heads }
    public var groups: Int { (channels + lanes - 1) / lanes }
    /// Bits of one `K^T V` counter.
    public var counterWidth: Int { Self.bits(tokens) }
    /// `T * h * d * d`.
    public var counters: Int { timeSteps * heads * headDim * headDim }
    public var counterBits: Int { counters * counterWidth }
    /// The Q token buffer, `N * T * C` bits.
    public var tokenBufferBits: Int { tokens * timeSteps * channels }
    /// Bits of one attention membrane.
    public var attentionWidth: Int { Self.bits(headDim * tokens) + 1 }
    public var attentionBits: Int { channels * attentionWidth }

    /// RAM bits: four layers and the token buffer.
    public var memoryBits: Int { 4 * layerMemoryBits + tokenBufferBits }
    /// Register bits: four layers, the counters and the attention membranes.
    public var flipFlops: Int { 4 * layerFlipFlops + counterBits + attentionBits }
    public var storageBits: Int { memoryBits + flipFlops }
    public var luts: Int {
        let w = counterWidth, d = headDim
        let logd = Self.bits(d - 1)
        return 4 * layerLUTs + counterBits + lanes * d * (w + logd) + lanes * d * w * (groups - 1) / 3
    }
}
