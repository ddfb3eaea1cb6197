import Description
import Foundation

/// The integer parameters of one QKTA or QKCA block (docs/arithmetic.md §6), after BN folding and
/// quantization: `Q = LIF(W_q x + b_q)`, `K = LIF(W_k x + b_k)`, the attention LIF on spike sums,
/// `X' = A AND K`, `out = LIF(W_p X' + b_p)`. Q and K have a bias because BN folds into one.
public struct AttentionBlockParameters: Hashable, Sendable {
    /// `C`, the channels.
    public let dim: Int
    /// `h`, the heads (QKTA sums per head; QKCA ignores heads, as its mask is per channel).
    public let heads: Int
    /// `T`, the time steps of one sample.
    public let timeSteps: Int
    public let q: SpikingLinearLayer
    public let k: SpikingLinearLayer
    public let proj: SpikingLinearLayer
    /// `attn_lif` (threshold 0.5 on its grid). Its current is the integer spike sum, shifted left
    /// by its `inputShift`.
    public let attention: LIFParameters
    /// A forced width for the spike sums (saturating), or nil for exact sums.
    public let attentionSumWidth: Int?

    public init(dim: Int, heads: Int, timeSteps: Int, q: SpikingLinearLayer, k: SpikingLinearLayer,
                proj: SpikingLinearLayer, attention: LIFParameters = .attention(),
                attentionSumWidth: Int? = nil) throws {
        _ = try HeadLayout(channels: dim, heads: heads)
        guard timeSteps >= 1 else { throw GoldenError(field: "timeSteps", "must be >= 1, got \(timeSteps)") }
        for (name, layer) in [("q", q), ("k", k), ("proj", proj)] {
            guard layer.linear.inputs == dim && layer.linear.outputs == dim else {
                throw GoldenError(field: "\(name).weights",
                                  "expected \(dim)x\(dim) for dim \(dim), got \(layer.linear.outputs)x\(layer.linear.inputs)")
            }
        }
        do { try attention.validate() } catch let e as GoldenError { throw e.within("attention") }
        if let w = attentionSumWidth, !(1...64).contains(w) {
            throw GoldenError(field: "attentionSumWidth", "must be in 1...64 bits, got \(w)")
        }
        self.dim = dim
        self.heads = heads
        self.timeSteps = timeSteps
        self.q = q
        self.k = k
        self.proj = proj
        self.attention = attention
        self.attentionSumWidth = attentionSumWidth
    }

    public var layout: HeadLayout { try! HeadLayout(channels: dim, heads: heads) }

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

    /// The self-checking bank of the attention LIF, whose current is a sum of at most `terms` spikes.
    func attentionBank(count: Int, terms: Int) throws -> LIFBank {
        var hi = Int64(terms)
        if let w = attentionSumWidth { hi = SignedWidth.saturate(hi, w) }
        do {
            return try LIFBank(count: count, channelParameters: [attention], currentRanges: [0...hi])
        } catch let e as GoldenError { throw e.within("attention") }
    }
}
