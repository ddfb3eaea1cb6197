import Foundation

/// Two's-complement width helpers shared by every saturating value of the golden model.
///
/// The arithmetic contract forbids silent truncation: a value either fits its width, or saturates to it when a
/// width was forced. These helpers are that rule in one place, so every clamp point agrees.
public enum SignedWidth {
    /// The smallest value a `width`-bit two's-complement register holds: `-2^(width-1)`.
    @inlinable
    public static func minimum(_ width: Int) -> Int64 {
        precondition(width >= 1 && width <= 64, "signed width \(width) is outside 1...64")
        return width == 64 ? Int64.min : -(Int64(1) << Int64(width - 1))
    }

    /// The largest value a `width`-bit two's-complement register holds: `2^(width-1) - 1`.
    @inlinable
    public static func maximum(_ width: Int) -> Int64 {
        precondition(width >= 1 && width <= 64, "signed width \(width) is outside 1...64")
        return width == 64 ? Int64.max : (Int64(1) << Int64(width - 1)) - 1
    }

    /// The range `[-2^(width-1), 2^(width-1) - 1]`.
    @inlinable
    public static func range(_ width: Int) -> ClosedRange<Int64> {
        minimum(width)...maximum(width)
    }

    /// Whether `value` fits in `width` signed bits.
    @inlinable
    public static func fits(_ value: Int64, _ width: Int) -> Bool {
        value >= minimum(width) && value <= maximum(width)
    }

    /// `value` saturated (clamped) to `width` signed bits.
    @inlinable
    public static func saturate(_ value: Int64, _ width: Int) -> Int64 {
        Swift.min(Swift.max(value, minimum(width)), maximum(width))
    }

    /// The smallest signed width holding `value` (at least 1: a 1-bit signed register holds -1 and 0).
    @inlinable
    public static func required(_ value: Int64) -> Int {
        // A non-negative v needs its magnitude bits plus a sign bit; a negative v needs the
        // bits of ~v (= -v - 1) plus a sign bit.
        let magnitude = value < 0 ? ~value : value
        return 64 - magnitude.leadingZeroBitCount + 1
    }

    /// The smallest signed width holding every value of `range`.
    @inlinable
    public static func required(_ range: ClosedRange<Int64>) -> Int {
        Swift.max(required(range.lowerBound), required(range.upperBound))
    }
}
