import HDL

/// Widths of spike counts, shared by the row and column sums.
enum SummationWidths {
    /// The largest value a count of at most `n` carries after saturating to `w` signed bits.
    static func saturatedMax(_ n: Int, _ w: Int?) -> Int {
        guard let w else { return n }
        return min(n, (1 << (w - 1)) - 1)
    }

    /// Port bits of a count of at most `n`: exact unsigned, or the forced width.
    static func countWidth(_ n: Int, _ w: Int?) -> Int {
        w ?? Interval(0, n).unsignedWidth
    }

    static func check(_ w: Int?, field: String) throws {
        if let w, !(1...62).contains(w) {
            throw BlockError("\(field) = \(w): a forced sum width must be 1...62 bits, or nil for the exact count")
        }
    }

    /// `count` (unsigned, exact, at most `n`) as the output field: saturated at `2^(w-1) - 1`
    /// for a forced width, at the width `countWidth` gives.
    static func output(_ count: Expr, _ n: Int, _ w: Int?) -> Expr {
        guard let w else { return count }
        let limit = (1 << (w - 1)) - 1
        if n <= limit { return count.extend(to: max(count.width, w)).truncate(to: w) }
        let cw = max(count.width, Interval(0, limit).unsignedWidth)
        let c = count.extend(to: cw)
        let clamped = mux(c.gt(.const(limit, width: cw)), .const(limit, width: cw), c)
        return clamped.width >= w ? clamped.truncate(to: w) : clamped.extend(to: w)
    }

    /// A count field (non-negative, at most the saturated maximum) as the attention neuron's
    /// signed current of `width` bits, `width` holding that maximum.
    static func current(_ count: Expr, width: Int) -> Expr {
        let u = count.width >= width ? count.truncate(to: width) : count.extend(to: width)
        return u.asSigned()
    }
}
