import Foundation

/// The spike sums and masks of Q-K attention (docs/arithmetic.md §2).
///
/// Sums are exact (their width follows from the count: `d` or `N`) unless a width is forced;
/// then the sum saturates to that signed width. The increments are non-negative, so saturating
/// each addition and saturating the final sum agree, and the order of addition does not matter.
public enum SpikeSummation {
    /// QKTA row sums of one token: `s[j] = sum of the d Q spikes of head j`.
    public static func rowSums(_ q: ArraySlice<UInt8>, layout: HeadLayout, width: Int? = nil) -> [Int64] {
        precondition(q.count == layout.channels, "row sum needs \(layout.channels) channels, got \(q.count)")
        var s = [Int64](repeating: 0, count: layout.heads)
        for (c, x) in zip(0..<layout.channels, q) { s[layout.head(of: c)] += Int64(x) }
        return saturate(s, width)
    }

    /// QKCA column sums of one time step: `s[c] = sum over the N tokens of Q[token, c]`,
    /// with `q` the `[N][C]` spikes in C order.
    public static func columnSums(_ q: ArraySlice<UInt8>, tokens: Int, channels: Int, width: Int? = nil) -> [Int64] {
        precondition(q.count == tokens * channels, "column sum needs \(tokens)x\(channels) spikes, got \(q.count)")
        var s = [Int64](repeating: 0, count: channels)
        var c = 0
        for x in q {
            s[c] += Int64(x)
            c += 1
            if c == channels { c = 0 }
        }
        return saturate(s, width)
    }

    /// QKTA token mask of one token: `X'[c] = A[c / d] AND K[c]`.
    public static func tokenMask(keys: ArraySlice<UInt8>, headMask: [UInt8], layout: HeadLayout) -> [UInt8] {
        precondition(keys.count == layout.channels && headMask.count == layout.heads, "token mask shape mismatch")
        return zip(0..<layout.channels, keys).map { c, k in (headMask[layout.head(of: c)] != 0 && k != 0) ? 1 : 0 }
    }

    /// QKCA channel mask of one time step: `X'[n][c] = A[c] AND K[n][c]`, over `[N][C]` keys.
    public static func channelMask(keys: ArraySlice<UInt8>, channelMask: [UInt8]) -> [UInt8] {
        let channels = channelMask.count
        precondition(channels > 0 && keys.count % channels == 0, "channel mask shape mismatch")
        var out = [UInt8](repeating: 0, count: keys.count)
        for (j, k) in zip(0..<keys.count, keys) where k != 0 && channelMask[j % channels] != 0 { out[j] = 1 }
        return out
    }

    static func saturate(_ s: [Int64], _ width: Int?) -> [Int64] {
        guard let w = width else { return s }
        return s.map { SignedWidth.saturate($0, w) }
    }
}
