import Description
/// The firing rates a performance estimate runs at: the fraction of non-zero values in each
/// tensor of the block.
///
/// `input` (the block's input `x`) sets the Q and K accumulators' work; `xPrime` (`X' = A AND K`)
/// sets the projection's; `q`, `k`, `attention` and `out` are carried for the energy report and to
/// derive `xPrime` when it is not given.
public struct FiringRates: Sendable, Hashable, Codable {
    public var input: Double
    public var q: Double
    public var k: Double
    /// `A_t` (QKTA: per token and head) or `A_c` (QKCA: per channel and time step).
    public var attention: Double
    /// `X'`.
    public var xPrime: Double
    public var out: Double
    /// Where each number came from, for the report.
    public var source: String

    public init(input: Double, q: Double, k: Double, attention: Double, xPrime: Double, out: Double, source: String) {
        (self.input, self.q, self.k, self.attention, self.xPrime, self.out, self.source) = (input, q, k, attention, xPrime, out, source)
    }

    /// The input rate the estimator assumes when none is given. QKFormer's Table 7 does not list
    /// the attention block's input rate; 0.2 is the co-simulation's default (`cosim --rate`), and
    /// lies between the Table 7 rates of the blocks that feed an attention block (MLP layer 2:
    /// 0.2733 and 0.1869).
    public static let defaultInputRate = 0.2

    /// QKFormer's measured rates (seed 001, Table 7: the trained 64.9M model on ImageNet-1K,
    /// stages 1 and 2): Q, K, A_t, X' and X'' (the block output). Stage 3 and beyond have no
    /// entry; they use stage 2's.
    public static func qkformerTable7(stage: Int) -> (q: Double, k: Double, attention: Double, xPrime: Double, out: Double) {
        stage == 1 ? (0.0432, 0.1784, 0.3477, 0.0832, 0.1478) : (0.0231, 0.0847, 0.2655, 0.0350, 0.0577)
    }

    /// The rates of a QKTA or QKCA block of `shape` at `stage`: QKFormer's Table 7 for Q, K and
    /// out unless overridden. For QKTA, A_t and X' are Table 7's unless Q or K is overridden;
    /// then `A_t = 1 - (1 - q)^d` (one head's `d` Q spikes ORed, independent) and `X' = k * A_t`.
    /// For QKCA (not in Table 7), `A_c = 1 - (1 - q)^N` (a channel's `N` Q spikes ORed: the
    /// `attn_lif` OR form) and `X' = k * A_c`. An explicit `attention` or `xPrime` wins.
    public static func resolve(shape: AcceleratorShape, stage: Int, input: Double? = nil, q: Double? = nil, k: Double? = nil,
                               attention: Double? = nil, xPrime: Double? = nil, out: Double? = nil) -> FiringRates {
        let t7 = qkformerTable7(stage: stage)
        let table = "QKFormer Table 7, stage \(min(max(stage, 1), 2))"
        var notes: [String] = []
        let inRate = input ?? defaultInputRate
        notes.append(input == nil ? "input \(inRate) (default; not in Table 7)" : "input \(inRate) (given)")
        let qr = q ?? t7.q, kr = k ?? t7.k, outRate = out ?? t7.out
        notes.append("q, k, out: \(q == nil && k == nil && out == nil ? table : "given or \(table)")")
        var a: Double, x: Double
        if shape.mask == .token && q == nil && k == nil {
            a = attention ?? t7.attention
            x = xPrime ?? (attention == nil ? t7.xPrime : kr * a)
            notes.append(attention == nil && xPrime == nil ? "A_t, X': \(table)" : "A_t, X': given or derived")
        } else {
            let fan = shape.mask == .token ? shape.headDim : shape.tokens
            a = attention ?? (1 - pow1m(qr, fan))
            x = xPrime ?? kr * a
            notes.append("\(shape.mask == .token ? "A_t" : "A_c") = 1-(1-q)^\(fan), X' = k*A (independent spikes)\(attention != nil || xPrime != nil ? ", or given" : "")")
        }
        return FiringRates(input: inRate, q: qr, k: kr, attention: a, xPrime: x, out: outRate, source: notes.joined(separator: "; "))
    }

    /// `(1 - p)^n`.
    static func pow1m(_ p: Double, _ n: Int) -> Double {
        var r = 1.0, b = 1 - p, e = n
        while e > 0 { if e & 1 == 1 { r *= b }; b *= b; e >>= 1 }
        return r
    }
}
