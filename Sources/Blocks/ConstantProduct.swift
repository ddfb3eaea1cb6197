import HDL

/// `x * k` for an unsigned `x` and a constant `k >= 1`, at its exact width (the largest product's bits),
/// without a multiplier: a shift for a power of two, otherwise the copies of `x` shifted to the
/// nonzero digits of `k`'s non-adjacent form, added and subtracted (`14x = 16x - 2x`, one carry
/// chain; `11x = 16x - 4x - x`, two). Synthesis maps a `*` by a constant of a few bits to a hard
/// multiplier (a MULT18X18D on ECP5, a DSP48E1 on xc7), whose delay sat on the weight-address path
/// of every accumulator with a group count that is not a power of two (held-out seed 24,
/// docs/estimate-accuracy.md).
func timesConst(_ x: Expr, _ k: Int) -> Expr {
    precondition(k >= 1 && !x.isSigned, "timesConst takes an unsigned value and a positive constant")
    if k == 1 { return x }
    if k & (k - 1) == 0 { return x.shiftLeft(k.trailingZeroBitCount) }
    // Non-adjacent form, least significant digit first: no two adjacent digits are nonzero.
    var plus: [Int] = [], minus: [Int] = []
    var n = k, shift = 0
    while n != 0 {
        if n & 1 == 1 {
            if n & 3 == 3 { minus.append(shift); n += 1 } else { plus.append(shift); n -= 1 }
        }
        n >>= 1
        shift += 1
    }
    // The positive digits first, then each negative one: every partial result is at least
    // `k * x >= 0`, so unsigned arithmetic one bit wider than its operands never wraps.
    var sum = plus.dropFirst().reduce(x.shiftLeft(plus[0])) { $0 +& x.shiftLeft($1) }
    for s in minus { sum = sum -& x.shiftLeft(s) }
    // The bits of the largest product, `(2^w - 1) * k`.
    let width = x.width < 48 ? Int.bitWidth - (((1 << x.width) - 1) * k).leadingZeroBitCount
                             : x.width + (Int.bitWidth - k.leadingZeroBitCount)
    return sum.width > width ? sum.truncate(to: width) : sum.extend(to: width)
}
