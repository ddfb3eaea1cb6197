/// Which bits of a value are known at elaboration time, and to what.
///
/// Verilator propagates constants through wires, extensions and slices before it lints, and
/// flags any comparison whose result is then fixed (CMPCONST, UNSIGNED). The emitter runs the
/// same kind of analysis so that it can write such comparisons as the constants they are.
struct KnownBits: Equatable {
    /// Bits known to be 0, and bits known to be 1 (never both).
    var zeros: Bits
    var ones: Bits

    var width: Int { zeros.width }

    static func unknown(_ width: Int) -> KnownBits { KnownBits(zeros: .zero(width), ones: .zero(width)) }

    static func constant(_ c: Bits) -> KnownBits {
        KnownBits(zeros: Bits(width: c.width, truncating: c.words.map { ~$0 }), ones: c)
    }

    var isConstant: Bool { (0..<zeros.words.count).allSatisfy { i in (zeros.words[i] | ones.words[i]) == Bits.allOnes(width).words[i] } }

    func knownZero(_ i: Int) -> Bool { zeros.bit(i) }
    func knownOne(_ i: Int) -> Bool { ones.bit(i) }

    /// Bits `hi...lo`.
    func slice(_ hi: Int, _ lo: Int) -> KnownBits {
        KnownBits(zeros: Self.slice(zeros, hi, lo), ones: Self.slice(ones, hi, lo))
    }

    static func slice(_ b: Bits, _ hi: Int, _ lo: Int) -> Bits {
        var words = [UInt64](repeating: 0, count: (hi - lo + 64) / 64)
        for i in lo...hi where b.bit(i) { words[(i - lo) / 64] |= 1 << UInt64((i - lo) % 64) }
        return Bits(width: hi - lo + 1, truncating: words)
    }

    /// `parts[0]` most significant.
    static func concat(_ parts: [KnownBits]) -> KnownBits {
        let width = parts.reduce(0) { $0 + $1.width }
        var z = [UInt64](repeating: 0, count: (width + 63) / 64), o = z
        var pos = 0
        for p in parts.reversed() {
            for i in 0..<p.width {
                if p.knownZero(i) { z[(pos + i) / 64] |= 1 << UInt64((pos + i) % 64) }
                if p.knownOne(i) { o[(pos + i) / 64] |= 1 << UInt64((pos + i) % 64) }
            }
            pos += p.width
        }
        return KnownBits(zeros: Bits(width: width, truncating: z), ones: Bits(width: width, truncating: o))
    }

    /// Zero- or sign-extended to `width`.
    func extended(signed: Bool, to width: Int) -> KnownBits {
        if width <= self.width { return self }
        let pad = width - self.width
        let top: KnownBits
        if signed {
            let msb = slice(self.width - 1, self.width - 1)
            top = KnownBits(zeros: msb.zeros.isZero ? .zero(pad) : .allOnes(pad),
                            ones: msb.ones.isZero ? .zero(pad) : .allOnes(pad))
        } else {
            top = .constant(.zero(pad))
        }
        return Self.concat([top, self])
    }

    func map(_ f: (UInt64, UInt64) -> (UInt64, UInt64)) -> KnownBits {
        var z = zeros.words, o = ones.words
        for i in 0..<z.count { (z[i], o[i]) = f(z[i], o[i]) }
        return KnownBits(zeros: Bits(width: width, truncating: z), ones: Bits(width: width, truncating: o))
    }

    static func zip(_ a: KnownBits, _ b: KnownBits, _ f: (UInt64, UInt64, UInt64, UInt64) -> (UInt64, UInt64)) -> KnownBits {
        var z = a.zeros.words, o = a.ones.words
        for i in 0..<z.count { (z[i], o[i]) = f(a.zeros.words[i], a.ones.words[i], b.zeros.words[i], b.ones.words[i]) }
        return KnownBits(zeros: Bits(width: a.width, truncating: z), ones: Bits(width: a.width, truncating: o))
    }

    /// Smallest and largest value consistent with the known bits.
    func range(signed: Bool) -> (Bits, Bits) {
        let w = width
        var lo = ones.words, hi = zeros.words.map { ~$0 }
        if signed {
            let m = w - 1
            let bit = UInt64(1) << UInt64(m % 64)
            if !knownZero(m) { lo[m / 64] |= bit }     // most negative: sign set if it can be
            if !knownOne(m) { hi[m / 64] &= ~bit }     // most positive: sign clear if it can be
        }
        return (Bits(width: w, truncating: lo), Bits(width: w, truncating: hi))
    }
}
