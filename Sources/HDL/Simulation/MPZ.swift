import CGMP

/// A pointer to a GMP integer. The operations below are thin wrappers over the `__gmpz_*`
/// functions: Swift does not import the `mpz_*` names, which are C macros.
///
/// The simulator keeps bit patterns as non-negative values; negative values appear only as
/// intermediates (the signed reading of an operand) and are reduced modulo `2^width` before
/// they are stored. Any operand may also be the destination, as GMP allows.
typealias MPZRef = UnsafeMutablePointer<__mpz_struct>

extension UnsafeMutablePointer where Pointee == __mpz_struct {
    // MARK: Setting and reading

    func set(_ other: MPZRef) { __gmpz_set(self, other) }
    func set(_ value: UInt64) { __gmpz_set_ui(self, UInt(value)) }
    func set(signed value: Int64) { __gmpz_set_si(self, Int(value)) }

    /// Sets the value to the unsigned reading of `bits`.
    func set(_ bits: Bits) {
        bits.words.withUnsafeBufferPointer { buf in
            __gmpz_import(self, buf.count, -1, 8, 0, 0, buf.baseAddress)
        }
    }

    /// The low `width` bits as a bit pattern (a negative value gives its two's complement).
    func bits(width: Int) -> Bits {
        let r = MPZ()
        var words = [UInt64](repeating: 0, count: (width + 63) / 64)
        withExtendedLifetime(r) {
            __gmpz_fdiv_r_2exp(r.p, self, UInt(width))
            var written = 0
            words.withUnsafeMutableBufferPointer { buf in
                _ = __gmpz_export(buf.baseAddress, &written, -1, 8, 0, 0, r.p)
            }
        }
        return Bits(width: width, truncating: words)
    }

    /// Sets the value from `count` 32-bit words, least significant first, keeping the low
    /// `width` bits.
    func setWords(_ words: UnsafePointer<UInt32>, count: Int, width: Int) {
        __gmpz_import(self, count, -1, 4, 0, 0, words)
        __gmpz_fdiv_r_2exp(self, self, UInt(width))
    }

    /// Writes the (non-negative) value as `count` 32-bit words, least significant first, zero
    /// filled. The value must fit.
    func getWords(_ words: UnsafeMutablePointer<UInt32>, count: Int) {
        words.update(repeating: 0, count: count)
        var written = 0
        _ = __gmpz_export(words, &written, -1, 4, 0, 0, self)
    }

    /// Number of 64-bit limbs of the absolute value.
    var limbCount: Int { Int(abs(pointee._mp_size)) }

    /// 64-bit limb `i` of the absolute value; zero beyond the value's top.
    func limb(_ i: Int) -> UInt64 {
        i < limbCount ? UInt64(pointee._mp_d[i]) : 0
    }

    /// Low 64 bits of the absolute value.
    var low64: UInt64 { pointee._mp_size == 0 ? 0 : UInt64(pointee._mp_d[0]) }

    var isZero: Bool { pointee._mp_size == 0 }
    var isNegative: Bool { pointee._mp_size < 0 }

    func testBit(_ i: Int) -> Bool { __gmpz_tstbit(self, UInt(i)) != 0 }
    func popcount() -> Int { Int(__gmpz_popcount(self)) }

    /// Negative, zero or positive as `self` is below, equal to or above `other`.
    func compare(_ other: MPZRef) -> Int { Int(__gmpz_cmp(self, other)) }

    // MARK: Arithmetic: self = f(a, b)

    func add(_ a: MPZRef, _ b: MPZRef) { __gmpz_add(self, a, b) }
    func sub(_ a: MPZRef, _ b: MPZRef) { __gmpz_sub(self, a, b) }
    func mul(_ a: MPZRef, _ b: MPZRef) { __gmpz_mul(self, a, b) }
    func and(_ a: MPZRef, _ b: MPZRef) { __gmpz_and(self, a, b) }
    func or(_ a: MPZRef, _ b: MPZRef) { __gmpz_ior(self, a, b) }
    func xor(_ a: MPZRef, _ b: MPZRef) { __gmpz_xor(self, a, b) }
    /// `-a - 1`: the bitwise complement in infinite two's complement.
    func complement(_ a: MPZRef) { __gmpz_com(self, a) }
    /// `a * 2^n`.
    func shiftLeft(_ a: MPZRef, _ n: Int) { __gmpz_mul_2exp(self, a, UInt(n)) }
    /// `floor(a / 2^n)`: an arithmetic shift right for negative values.
    func shiftRight(_ a: MPZRef, _ n: Int) { __gmpz_fdiv_q_2exp(self, a, UInt(n)) }
    /// `a mod 2^n`, always in `0 ..< 2^n`: the low `n` bits of the two's-complement pattern.
    func lowBits(_ a: MPZRef, _ n: Int) { __gmpz_fdiv_r_2exp(self, a, UInt(n)) }

    /// Reads the `width`-bit pattern `a` as a two's-complement number: `a - 2^width` when its
    /// top bit is set.
    func signedReading(_ a: MPZRef, width: Int) {
        if __gmpz_tstbit(a, UInt(width - 1)) != 0 {
            // a - 2^width = -((2^width - 1 - a) + 1), computed in place without a temporary.
            __gmpz_com(self, a)
            __gmpz_fdiv_r_2exp(self, self, UInt(width))
            __gmpz_add_ui(self, self, 1)
            __gmpz_neg(self, self)
        } else if self != a {
            __gmpz_set(self, a)
        }
    }
}

/// One GMP integer, owned: its `__mpz_struct` is allocated once behind a pointer, so that it
/// can be both source and destination of one call without breaking Swift's exclusivity rule
/// (as passing a stored struct twice with `&` would).
///
/// Prefer these methods to calling through `p` directly: an object is only guaranteed alive
/// for the duration of a call that receives it, and Swift may free a local as soon as `p` has
/// been read from it.
final class MPZ {
    let p: MPZRef

    init() {
        p = MPZRef.allocate(capacity: 1)
        __gmpz_init(p)
    }

    convenience init(_ value: UInt64) {
        self.init()
        p.set(value)
    }

    convenience init(signed value: Int64) {
        self.init()
        p.set(signed: value)
    }

    /// The value of a bit pattern (unsigned).
    convenience init(_ bits: Bits) {
        self.init()
        p.set(bits)
    }

    deinit {
        __gmpz_clear(p)
        p.deallocate()
    }

    func bits(width: Int) -> Bits { p.bits(width: width) }
    var isZero: Bool { p.isZero }
    var isNegative: Bool { p.isNegative }
    var low64: UInt64 { p.low64 }
    var limbCount: Int { p.limbCount }
    func limb(_ i: Int) -> UInt64 { p.limb(i) }
    func popcount() -> Int { p.popcount() }
    func testBit(_ i: Int) -> Bool { p.testBit(i) }

    func set(_ other: MPZ) { p.set(other.p) }
    func set(_ value: UInt64) { p.set(value) }
    func set(signed value: Int64) { p.set(signed: value) }
    func set(_ bits: Bits) { p.set(bits) }
    func setWords(_ words: UnsafePointer<UInt32>, count: Int, width: Int) { p.setWords(words, count: count, width: width) }
    func getWords(_ words: UnsafeMutablePointer<UInt32>, count: Int) { p.getWords(words, count: count) }

    func add(_ a: MPZ, _ b: MPZ) { p.add(a.p, b.p) }
    func sub(_ a: MPZ, _ b: MPZ) { p.sub(a.p, b.p) }
    func mul(_ a: MPZ, _ b: MPZ) { p.mul(a.p, b.p) }
    func and(_ a: MPZ, _ b: MPZ) { p.and(a.p, b.p) }
    func or(_ a: MPZ, _ b: MPZ) { p.or(a.p, b.p) }
    func xor(_ a: MPZ, _ b: MPZ) { p.xor(a.p, b.p) }
    func complement(_ a: MPZ) { p.complement(a.p) }
    func shiftLeft(_ a: MPZ, _ n: Int) { p.shiftLeft(a.p, n) }
    func shiftRight(_ a: MPZ, _ n: Int) { p.shiftRight(a.p, n) }
    func lowBits(_ a: MPZ, _ n: Int) { p.lowBits(a.p, n) }
    func signedReading(_ a: MPZ, width: Int) { p.signedReading(a.p, width: width) }

    static func compare(_ a: MPZ, _ b: MPZ) -> Int { a.p.compare(b.p) }
}

/// `count` GMP integers in one allocation, all owned: the simulator's wide slots and wide
/// memory words. Working through the pointers keeps reference counting out of the wide path.
final class MPZBuffer {
    let base: MPZRef
    let count: Int

    init(count: Int) {
        self.count = count
        base = MPZRef.allocate(capacity: max(count, 1))
        for i in 0..<count { __gmpz_init(base + i) }
    }

    deinit {
        for i in 0..<count { __gmpz_clear(base + i) }
        base.deallocate()
    }

    subscript(i: Int) -> MPZRef { base + i }
}
