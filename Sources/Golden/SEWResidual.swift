import Description
import Foundation

/// QKFormer's SEW residual add (docs/arithmetic.md §5): spike tensors are added as integers,
/// `x1 = x + Attn(x)`, `x2 = x1 + MLP(x1)`, so the stream holds small counts.
public enum SEWResidual {
    /// Elementwise `a + b` on counts of equal shape. Throws `GoldenError` when a sum exceeds
    /// `maxCount`, the largest count the block was sized for: a sum is never wrapped or clamped.
    public static func add(_ a: SpikeTensor, _ b: SpikeTensor, maxCount: Int) throws -> SpikeTensor {
        guard a.shape == b.shape else {
            throw GoldenError(field: "residual", "cannot add tensors of shapes \(a.shape) and \(b.shape); both sides of a residual add must have the same [T, N, C] shape")
        }
        guard (0...255).contains(maxCount) else {
            throw GoldenError(field: "residual", "maxCount must be in 0...255 (uint8 counts), got \(maxCount)")
        }
        var out = a
        for i in a.scalars.indices {
            let s = Int(a.scalars[i]) + Int(b.scalars[i])
            guard s <= maxCount else {
                throw GoldenError(field: "residual",
                                  "\(a.scalars[i]) + \(b.scalars[i]) = \(s) at \(index(i, a.shape)) exceeds maxCount \(maxCount), the count the block was sized for; raise maxInputCount")
            }
            out.scalars[i] = UInt8(s)
        }
        return out
    }

    /// The C-order index of flat offset `i`, as text (`[t, n, c]`).
    static func index(_ i: Int, _ shape: [Int]) -> String {
        var rest = i
        var idx = [Int](repeating: 0, count: shape.count)
        for d in shape.indices.reversed() where shape[d] > 0 {
            idx[d] = rest % shape[d]
            rest /= shape[d]
        }
        return "[\(idx.map(String.init).joined(separator: ", "))]"
    }
}
