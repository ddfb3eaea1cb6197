/// Decides comparisons whose result follows from the operands' ranges alone, such as an
/// unsigned value `>= 0`, or a 4-bit value `< 200`. The emitter writes those as constants:
/// they are what the IR means, and Verilator `-Wall` rejects the spelled-out comparison
/// (CMPCONST, UNSIGNED).
enum ComparisonFolding {
    /// The constant result, or nil when it depends on the values.
    static func fold(_ op: Expr.BinaryOp, _ x: Expr, _ kx: KnownBits, _ y: Expr, _ ky: KnownBits) -> Bool? {
        let m = max(x.width, y.width)
        let signed = x.isSigned
        let (xlo, xhi) = kx.extended(signed: signed, to: m).range(signed: signed)
        let (ylo, yhi) = ky.extended(signed: signed, to: m).range(signed: signed)
        func holds(_ a: Bits, _ b: Bits) -> Bool {
            let c = compare(a, b, signed: signed)
            switch op {
            case .eq: return c == 0
            case .ne: return c != 0
            case .lt: return c < 0
            case .le: return c <= 0
            case .gt: return c > 0
            case .ge: return c >= 0
            default: return false
            }
        }
        switch op {
        case .eq, .ne:
            // Equal is impossible when the ranges do not overlap; certain when both are one value.
            let disjoint = compare(xhi, ylo, signed: signed) < 0 || compare(yhi, xlo, signed: signed) < 0
            if disjoint { return op == .ne }
            if xlo == xhi && ylo == yhi && xlo == ylo { return op == .eq }
            return nil
        case .lt, .le, .gt, .ge:
            // The relation is monotone in each operand: constant iff the extreme corners agree.
            let corners = [holds(xlo, yhi), holds(xhi, ylo), holds(xlo, ylo), holds(xhi, yhi)]
            return corners.allSatisfy { $0 == corners[0] } ? corners[0] : nil
        default:
            return nil
        }
    }

    static func extend(_ b: Bits, signed: Bool, to width: Int) -> Bits {
        var words = b.words + [UInt64](repeating: 0, count: (width + 63) / 64)
        if signed && b.bit(b.width - 1) {
            for i in b.width..<max(width, b.width) { words[i / 64] |= 1 << UInt64(i % 64) }
        }
        return Bits(width: width, truncating: words)
    }

    /// Three-way comparison of equal-width patterns, as signed or unsigned numbers.
    static func compare(_ a: Bits, _ b: Bits, signed: Bool) -> Int {
        if signed {
            let sa = a.bit(a.width - 1), sb = b.bit(b.width - 1)
            if sa != sb { return sa ? -1 : 1 }
        }
        for i in stride(from: a.words.count - 1, through: 0, by: -1) where a.words[i] != b.words[i] {
            return a.words[i] < b.words[i] ? -1 : 1
        }
        return 0
    }
}
