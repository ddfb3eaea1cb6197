import Testing
@testable import HDL

// Expected values here are computed independently of the simulator: with Swift integers for
// narrow values, and with a plain bit-list model (`BitList`) for wide ones.

/// Every simulator suite is nested here, so `swift test --filter SimulatorTests` runs them all.
@Suite struct SimulatorTests {}

// MARK: Helpers

private func simulate(_ m: Module) throws -> Simulator { try Simulator(try Elaborate.run(m)) }

private func mask(_ w: Int) -> UInt64 { w >= 64 ? ~0 : (1 << UInt64(w)) - 1 }

/// The `w`-bit two's-complement pattern of `v`.
private func pattern(_ v: Int, _ w: Int) -> UInt64 { UInt64(bitPattern: Int64(v)) & mask(w) }

/// The value of a `w`-bit pattern, read signed or unsigned.
private func reading(_ x: UInt64, _ w: Int, signed: Bool) -> Int {
    if signed && (x >> UInt64(w - 1)) & 1 == 1 { return Int(x) - (1 << w) }
    return Int(x)
}

private func peek(_ sim: Simulator, _ name: String) throws -> UInt64 {
    let b = try sim.peek(name)
    return b.low64
}

/// A small deterministic generator, so the tests do not depend on the library's.
private struct XorShift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func bits(_ w: Int) -> Bits {
        Bits(width: w, truncating: (0..<((w + 63) / 64)).map { _ in next() })
    }
}

/// A bit pattern as a list of bits, least significant first, with the textbook bit-serial
/// algorithms: ripple-carry addition, shift-and-add multiplication.
private struct BitList: Equatable {
    var bits: [Bool]
    var width: Int { bits.count }

    init(_ bits: [Bool]) { self.bits = bits }
    init(_ b: Bits) { bits = (0..<b.width).map { b.bit($0) } }
    init(_ v: UInt64, width: Int) { bits = (0..<width).map { $0 < 64 && (v >> UInt64($0)) & 1 == 1 } }

    var asBits: Bits {
        var words = [UInt64](repeating: 0, count: (width + 63) / 64)
        for (i, b) in bits.enumerated() where b { words[i / 64] |= 1 << UInt64(i % 64) }
        return Bits(width: width, truncating: words)
    }

    func extended(to w: Int, signed: Bool) -> BitList {
        let fill = signed && bits.last == true
        return BitList(Array(bits.prefix(w)) + [Bool](repeating: fill, count: max(0, w - width)))
    }

    static func + (a: BitList, b: BitList) -> BitList {
        var out: [Bool] = []
        var carry = false
        for i in 0..<a.width {
            let s = (a.bits[i] ? 1 : 0) + (b.bits[i] ? 1 : 0) + (carry ? 1 : 0)
            out.append(s & 1 == 1)
            carry = s >= 2
        }
        return BitList(out)
    }

    static prefix func ~ (a: BitList) -> BitList { BitList(a.bits.map { !$0 }) }

    static func - (a: BitList, b: BitList) -> BitList { a + ~b + BitList(1, width: a.width) }

    static func * (a: BitList, b: BitList) -> BitList {
        var acc = BitList(0, width: a.width)
        for i in 0..<b.width where b.bits[i] { acc = acc + a.shiftedLeft(i) }
        return acc
    }

    func shiftedLeft(_ n: Int) -> BitList {
        BitList((0..<width).map { $0 >= n ? bits[$0 - n] : false })
    }

    func shiftedRight(_ n: Int, fill: Bool) -> BitList {
        BitList((0..<width).map { $0 + n < width ? bits[$0 + n] : fill })
    }

    func zip(_ b: BitList, _ f: (Bool, Bool) -> Bool) -> BitList {
        BitList((0..<width).map { f(bits[$0], b.bits[$0]) })
    }

    /// a < b, both the same width.
    static func less(_ a: BitList, _ b: BitList, signed: Bool) -> Bool {
        if signed && a.bits.last != b.bits.last { return a.bits.last == true }
        for i in stride(from: a.width - 1, through: 0, by: -1) where a.bits[i] != b.bits[i] {
            return b.bits[i]
        }
        return false
    }
}

// MARK: MPZ

extension SimulatorTests {
    @Suite struct MPZWrapper {
        @Test func roundTripsBits() {
            var rng = XorShift(state: 7)
            for w in [1, 63, 64, 65, 128, 130, 200, 333] {
                let b = rng.bits(w)
                #expect(MPZ(b).bits(width: w) == b)
            }
            #expect(MPZ(0).isZero)
            #expect(MPZ(Bits.allOnes(130)).popcount() == 130)
        }

        @Test func arithmeticMatchesBitLists() {
            var rng = XorShift(state: 99)
            for _ in 0..<20 {
                let a = rng.bits(130), b = rng.bits(130)
                let x = MPZ(a), y = MPZ(b), r = MPZ()
                r.add(x, y)
                #expect(r.bits(width: 130) == (BitList(a) + BitList(b)).asBits)
                r.sub(x, y)
                #expect(r.bits(width: 130) == (BitList(a) - BitList(b)).asBits)
                r.mul(x, y)
                #expect(r.bits(width: 130) == (BitList(a) * BitList(b)).asBits)
                r.xor(x, y)
                #expect(r.bits(width: 130) == BitList(a).zip(BitList(b)) { $0 != $1 }.asBits)
                r.complement(x)
                #expect(r.bits(width: 130) == (~BitList(a)).asBits)
                // The same integer as source and destination is fine: it lives behind a pointer.
                r.set(x)
                r.add(r, r)
                #expect(r.bits(width: 130) == (BitList(a) + BitList(a)).asBits)
            }
        }

        @Test func signedReadingAndLowBits() {
            let x = MPZ(Bits.allOnes(130))   // -1 in 130 bits
            let r = MPZ()
            r.signedReading(x, width: 130)
            #expect(MPZ.compare(r, MPZ(signed: -1)) == 0)
            r.lowBits(r, 70)
            #expect(r.bits(width: 70) == Bits.allOnes(70))
            r.signedReading(MPZ(5), width: 130)
            #expect(r.low64 == 5 && !r.isNegative)
            let top = MPZ(Bits(width: 130, truncating: [0, 0, 2]))   // 2^129: the most negative value
            r.signedReading(top, width: 130)
            #expect(r.isNegative && r.bits(width: 130) == top.bits(width: 130))
            // floor division by a power of two shifts negative values arithmetically.
            r.set(signed: -9)
            r.shiftRight(r, 2)
            #expect(MPZ.compare(r, MPZ(signed: -3)) == 0)
        }

        @Test func limbsAndWords() {
            let x = MPZ(Bits(width: 130, truncating: [0x1122_3344_5566_7788, 0x99AA_BBCC_DDEE_FF00, 2]))
            #expect(x.limbCount == 3)
            #expect(x.limb(1) == 0x99AA_BBCC_DDEE_FF00)
            #expect(x.limb(5) == 0)
            var words = [UInt32](repeating: 0xFFFF_FFFF, count: 6)
            words.withUnsafeMutableBufferPointer { x.getWords($0.baseAddress!, count: 6) }
            #expect(words == [0x5566_7788, 0x1122_3344, 0xDDEE_FF00, 0x99AA_BBCC, 2, 0])
            let y = MPZBuffer(count: 2)
            words[5] = 0xFFFF_FFFF   // above the width: dropped
            withExtendedLifetime(y) {
                words.withUnsafeBufferPointer { y[1].setWords($0.baseAddress!, count: 6, width: 130) }
                #expect(MPZ.compare(MPZ(y[1].bits(width: 130)), x) == 0)
                #expect(y[0].isZero)
            }
        }
    }
}

// MARK: Operators

extension SimulatorTests {
    @Suite struct Operators {
        /// Every operand pair of a 4-bit and a 3-bit value through every arithmetic, logic and
        /// comparison operator.
        @Test(arguments: [false, true])
        func arithmeticAndComparisons(signed: Bool) throws {
            let m = Module("arith_\(signed ? "s" : "u")")
            let a = m.input("a", width: 4, signed: signed)
            let b = m.input("b", width: 3, signed: signed)
            m.output("add_w", a +& b)
            m.output("add_r", a +% b)
            m.output("sub_w", a -& b)
            m.output("sub_r", a -% b)
            m.output("mul", a * b)
            m.output("and_", a & b)
            m.output("or_", a | b)
            m.output("xor_", a ^ b)
            m.output("neg", a.negate())
            m.output("eq", a.eq(b))
            m.output("ne", a.ne(b))
            m.output("lt", a.lt(b))
            m.output("le", a.le(b))
            m.output("gt", a.gt(b))
            m.output("ge", a.ge(b))
            let sim = try simulate(m)
            for x in 0..<16 {
                for y in 0..<8 {
                    try sim.poke("a", UInt64(x))
                    try sim.poke("b", UInt64(y))
                    sim.eval()
                    let va = reading(UInt64(x), 4, signed: signed), vb = reading(UInt64(y), 3, signed: signed)
                    #expect(try peek(sim, "add_w") == pattern(va + vb, 5))
                    #expect(try peek(sim, "add_r") == pattern(va + vb, 4))
                    #expect(try peek(sim, "sub_w") == pattern(va - vb, 5))
                    #expect(try peek(sim, "sub_r") == pattern(va - vb, 4))
                    #expect(try peek(sim, "mul") == pattern(va * vb, 7))
                    #expect(try peek(sim, "and_") == pattern(va & vb, 4))
                    #expect(try peek(sim, "or_") == pattern(va | vb, 4))
                    #expect(try peek(sim, "xor_") == pattern(va ^ vb, 4))
                    #expect(try peek(sim, "neg") == pattern(-va, 5))
                    #expect(try peek(sim, "eq") == (va == vb ? 1 : 0))
                    #expect(try peek(sim, "ne") == (va != vb ? 1 : 0))
                    #expect(try peek(sim, "lt") == (va < vb ? 1 : 0))
                    #expect(try peek(sim, "le") == (va <= vb ? 1 : 0))
                    #expect(try peek(sim, "gt") == (va > vb ? 1 : 0))
                    #expect(try peek(sim, "ge") == (va >= vb ? 1 : 0))
                }
            }
        }

        /// 64-bit operands: the narrow path at its edge, where a product or sum needs the wrap.
        @Test func sixtyFourBitEdges() throws {
            let m = Module("edge64")
            let a = m.input("a", width: 64, signed: true)
            let b = m.input("b", width: 64, signed: true)
            m.output("sum", a +& b)          // 65 bits: wide
            m.output("wrap", a +% b)         // 64 bits: narrow
            m.output("prod", (a * b).truncate(to: 64))
            m.output("lt", a.lt(b))
            let sim = try simulate(m)
            let cases: [(Int64, Int64)] = [(.max, 1), (.min, -1), (.min, .max), (-5, 7), (1 << 40, 1 << 30)]
            for (x, y) in cases {
                try sim.poke("a", UInt64(bitPattern: x))
                try sim.poke("b", UInt64(bitPattern: y))
                let sum = BitList(UInt64(bitPattern: x), width: 64).extended(to: 65, signed: true)
                    + BitList(UInt64(bitPattern: y), width: 64).extended(to: 65, signed: true)
                #expect(try sim.peek("sum") == sum.asBits)
                #expect(try peek(sim, "wrap") == UInt64(bitPattern: x &+ y))
                #expect(try peek(sim, "prod") == UInt64(bitPattern: x &* y))
                #expect(try peek(sim, "lt") == (x < y ? 1 : 0))
            }
        }

        @Test(arguments: [false, true])
        func shifts(signed: Bool) throws {
            let m = Module("shifts_\(signed ? "s" : "u")")
            let a = m.input("a", width: 8, signed: signed)
            let n = m.input("n", width: 4)
            m.output("shl3", a.shiftLeft(3))
            m.output("shr3", a.shiftRight(3))
            m.output("shr7", a.shiftRight(7))
            m.output("shr8", a.shiftRight(8))
            m.output("shr12", a.shiftRight(12))
            m.output("dshl", a.shiftLeft(by: n))
            m.output("dshr", a.shiftRight(by: n))
            let sim = try simulate(m)
            for x in 0..<256 {
                for s in 0..<16 {
                    try sim.poke("a", UInt64(x))
                    try sim.poke("n", UInt64(s))
                    let v = reading(UInt64(x), 8, signed: signed)
                    #expect(try peek(sim, "shl3") == pattern(v << 3, 11))
                    #expect(try peek(sim, "shr3") == pattern(v >> 3, 5))
                    #expect(try peek(sim, "shr7") == pattern(v >> 7, 1))
                    #expect(try peek(sim, "shr8") == pattern(v >> 8, 1))
                    #expect(try peek(sim, "shr12") == pattern(v >> 12, 1))
                    #expect(try peek(sim, "dshl") == (s >= 8 ? 0 : pattern(v << s, 8)))
                    // Swift's >> on Int is arithmetic and saturates at the width: what Verilog's
                    // >>> on a signed value and >> on an unsigned one do.
                    #expect(try peek(sim, "dshr") == pattern(v >> s, 8))
                }
            }
        }

        /// Dynamic shifts of 64-bit (narrow) and 100-bit (wide) values by up to 127.
        @Test(arguments: [64, 100])
        func dynamicShiftsAtAndBeyondTheWidth(width: Int) throws {
            let m = Module("dshift\(width)")
            let u = m.input("u", width: width)
            let s = m.input("s", width: width, signed: true)
            let n = m.input("n", width: 7)
            m.output("ushl", u.shiftLeft(by: n))
            m.output("ushr", u.shiftRight(by: n))
            m.output("sshl", s.shiftLeft(by: n))
            m.output("sshr", s.shiftRight(by: n))
            let sim = try simulate(m)
            var rng = XorShift(state: 42)
            for trial in 0..<6 {
                var x = rng.bits(width)
                if trial == 0 { x = Bits.allOnes(width) }
                if trial == 1 { x = Bits(width: width, truncating: [1]) }
                try sim.poke("u", x)
                try sim.poke("s", x)
                for by in [0, 1, 5, 31, 32, 63, 64, 65, 99, 100, 101, 127] {
                    try sim.poke("n", UInt64(by))
                    let l = BitList(x)
                    let top = l.bits.last!
                    #expect(try sim.peek("ushl") == l.shiftedLeft(min(by, width)).asBits)
                    #expect(try sim.peek("ushr") == l.shiftedRight(min(by, width), fill: false).asBits)
                    #expect(try sim.peek("sshl") == l.shiftedLeft(min(by, width)).asBits)
                    #expect(try sim.peek("sshr") == l.shiftedRight(min(by, width), fill: top).asBits)
                }
            }
        }

        @Test func slicesConcatMuxExtendTruncateSaturate() throws {
            let m = Module("shape")
            let s = m.input("s", width: 8, signed: true)
            let u = m.input("u", width: 8)
            let sel = m.input("sel", width: 1)
            let s4 = m.input("s4", width: 4, signed: true)
            m.output("slice", u.slice(5, 2))
            m.output("bit7", s.bit(7))
            m.output("cat", cat(u.slice(3, 0), s.asUnsigned().slice(7, 4), .const(1, width: 1)))
            m.output("mux_s", mux(sel, s4, s))                 // arms sign-extended to 8
            m.output("mux_u", mux(sel, u.slice(2, 0), u))       // arms zero-extended to 8
            m.output("ext_s", s.extend(to: 12))
            m.output("ext_u", u.extend(to: 12))
            m.output("trunc", s.truncate(to: 5))
            m.output("sat_s", s.saturate(to: 5))
            m.output("sat_u", u.saturate(to: 5))
            m.output("not_", ~u)
            m.output("and_r", u.andReduce())
            m.output("or_r", u.orReduce())
            m.output("xor_r", u.xorReduce())
            m.output("signed_view", u.asSigned().extend(to: 10))
            let sim = try simulate(m)
            var rng = XorShift(state: 5)
            var values = Array(0..<256)
            for _ in 0..<8 { values.append(Int(rng.next() % 256)) }
            for x in values {
                let y = (x * 37 + 11) % 256
                let z = (x >> 2) % 16
                let pick = x & 1
                let xs = reading(UInt64(x), 8, signed: true)
                let zs = reading(UInt64(z), 4, signed: true)
                try sim.poke("s", UInt64(x))
                try sim.poke("u", UInt64(y))
                try sim.poke("sel", UInt64(pick))
                try sim.poke("s4", UInt64(z))
                #expect(try peek(sim, "slice") == UInt64((y >> 2) & 0xF))
                #expect(try peek(sim, "bit7") == UInt64(x >> 7))
                #expect(try peek(sim, "cat") == UInt64(((y & 0xF) << 5) | ((x >> 4) << 1) | 1))
                #expect(try peek(sim, "mux_s") == pattern(pick == 1 ? zs : xs, 8))
                #expect(try peek(sim, "mux_u") == UInt64(pick == 1 ? y & 7 : y))
                #expect(try peek(sim, "ext_s") == pattern(xs, 12))
                #expect(try peek(sim, "ext_u") == UInt64(y))
                #expect(try peek(sim, "trunc") == UInt64(x & 31))
                #expect(try peek(sim, "sat_s") == pattern(min(max(xs, -16), 15), 5))
                #expect(try peek(sim, "sat_u") == UInt64(min(y, 31)))
                #expect(try peek(sim, "not_") == UInt64(~y & 0xFF))
                #expect(try peek(sim, "and_r") == (y == 255 ? 1 : 0))
                #expect(try peek(sim, "or_r") == (y != 0 ? 1 : 0))
                #expect(try peek(sim, "xor_r") == UInt64(y.nonzeroBitCount & 1))
                #expect(try peek(sim, "signed_view") == pattern(reading(UInt64(y), 8, signed: true), 10))
            }
        }
    }
}

// MARK: Wide values

extension SimulatorTests {
    @Suite struct WideValues {
        /// 130-bit and 200-bit operators, checked against `BitList`.
        @Test(arguments: [false, true])
        func wideArithmetic(signed: Bool) throws {
            let m = Module("wide_\(signed ? "s" : "u")")
            let a = m.input("a", width: 130, signed: signed)
            let b = m.input("b", width: 130, signed: signed)
            let c = m.input("c", width: 200, signed: signed)
            let n = m.input("n", width: 8)
            let sel = m.input("sel", width: 1)
            m.output("add_w", a +& b)
            m.output("add_r", a +% b)
            m.output("sub_w", a -& b)
            m.output("sub_r", a -% b)
            m.output("mul", a * b)
            m.output("mul_ac", a * c)
            m.output("add_ac", a +& c)
            m.output("xor_ac", a ^ c)
            m.output("and_", a & b)
            m.output("or_", a | b)
            m.output("not_", ~c)
            m.output("lt", a.lt(b))
            m.output("ge_ac", a.ge(c))
            m.output("eq", a.eq(b))
            m.output("eq_self", a.eq(a))
            m.output("ext", a.extend(to: 200))
            m.output("slice_wide", c.slice(150, 20))
            m.output("slice_narrow", c.slice(127, 70))
            m.output("slice_low", c.slice(63, 0))
            m.output("trunc", c.truncate(to: 140))
            m.output("cat", cat(a, c.slice(9, 0), b))
            m.output("mux", mux(sel, a, c))
            m.output("shl", a.shiftLeft(70))
            m.output("shr", c.shiftRight(75))
            m.output("shr_all", c.shiftRight(200))
            m.output("dshl", c.shiftLeft(by: n))
            m.output("dshr", c.shiftRight(by: n))
            m.output("and_r", a.andReduce())
            m.output("or_r", a.orReduce())
            m.output("xor_r", c.xorReduce())
            m.output("sat", c.saturate(to: 100))
            let sim = try simulate(m)

            var rng = XorShift(state: signed ? 11 : 12)
            for trial in 0..<40 {
                var x = rng.bits(130), y = rng.bits(130), z = rng.bits(200)
                if trial == 0 { x = Bits.allOnes(130); y = Bits(width: 130, truncating: [1]) }
                if trial == 1 { x = Bits.zero(130); y = Bits.allOnes(130); z = Bits.allOnes(200) }
                if trial == 2 { z = Bits(width: 200, truncating: [0, 0, 0, 1 << 7]) }   // 2^199
                if trial == 3 { y = x }
                let shift = Int(rng.next() % 256)
                let pick = trial % 2
                try sim.poke("a", x)
                try sim.poke("b", y)
                try sim.poke("c", z)
                try sim.poke("n", UInt64(shift))
                try sim.poke("sel", UInt64(pick))
                let la = BitList(x), lb = BitList(y), lc = BitList(z)
                func ext(_ l: BitList, _ w: Int) -> BitList { l.extended(to: w, signed: signed) }

                #expect(try sim.peek("add_w") == (ext(la, 131) + ext(lb, 131)).asBits)
                #expect(try sim.peek("add_r") == (la + lb).asBits)
                #expect(try sim.peek("sub_w") == (ext(la, 131) - ext(lb, 131)).asBits)
                #expect(try sim.peek("sub_r") == (la - lb).asBits)
                #expect(try sim.peek("mul") == (ext(la, 260) * ext(lb, 260)).asBits)
                #expect(try sim.peek("mul_ac") == (ext(la, 330) * ext(lc, 330)).asBits)
                #expect(try sim.peek("add_ac") == (ext(la, 201) + ext(lc, 201)).asBits)
                #expect(try sim.peek("xor_ac") == ext(la, 200).zip(lc) { $0 != $1 }.asBits)
                #expect(try sim.peek("and_") == la.zip(lb) { $0 && $1 }.asBits)
                #expect(try sim.peek("or_") == la.zip(lb) { $0 || $1 }.asBits)
                #expect(try sim.peek("not_") == (~lc).asBits)
                #expect(try peek(sim, "lt") == (BitList.less(la, lb, signed: signed) ? 1 : 0))
                #expect(try peek(sim, "ge_ac") == (BitList.less(ext(la, 200), lc, signed: signed) ? 0 : 1))
                #expect(try peek(sim, "eq") == (la == lb ? 1 : 0))
                #expect(try peek(sim, "eq_self") == 1)
                #expect(try sim.peek("ext") == ext(la, 200).asBits)
                #expect(try sim.peek("slice_wide") == BitList(Array(lc.bits[20...150])).asBits)
                #expect(try sim.peek("slice_narrow") == BitList(Array(lc.bits[70...127])).asBits)
                #expect(try sim.peek("slice_low") == BitList(Array(lc.bits[0...63])).asBits)
                #expect(try sim.peek("trunc") == BitList(Array(lc.bits[0..<140])).asBits)
                #expect(try sim.peek("cat") == BitList(lb.bits + Array(lc.bits[0..<10]) + la.bits).asBits)
                #expect(try sim.peek("mux") == (pick == 1 ? ext(la, 200) : lc).asBits)
                #expect(try sim.peek("shl") == BitList([Bool](repeating: false, count: 70) + la.bits).asBits)
                let top = lc.bits.last!
                #expect(try sim.peek("shr") == BitList(Array(lc.bits[75...])).asBits)
                #expect(try peek(sim, "shr_all") == (signed && top ? 1 : 0))
                #expect(try sim.peek("dshl") == lc.shiftedLeft(min(shift, 200)).asBits)
                #expect(try sim.peek("dshr") == lc.shiftedRight(min(shift, 200), fill: signed && top).asBits)
                #expect(try peek(sim, "and_r") == (la.bits.allSatisfy { $0 } ? 1 : 0))
                #expect(try peek(sim, "or_r") == (la.bits.contains(true) ? 1 : 0))
                #expect(try peek(sim, "xor_r") == UInt64(lc.bits.filter { $0 }.count & 1))
                // Saturation to 100 bits: the largest/smallest 100-bit value outside the range.
                let hi = BitList(signed ? [Bool](repeating: true, count: 99) + [false] : [Bool](repeating: true, count: 100))
                let lo = BitList(signed ? [Bool](repeating: false, count: 99) + [true] : [Bool](repeating: false, count: 100))
                let expected: BitList
                if BitList.less(ext(hi, 200), lc, signed: signed) {
                    expected = hi
                } else if signed && BitList.less(lc, ext(lo, 200), signed: true) {
                    expected = lo
                } else {
                    expected = BitList(Array(lc.bits[0..<100]))
                }
                #expect(try sim.peek("sat") == expected.asBits)
            }
        }

        /// A 130-bit accumulator register with a wide reset pattern and a wide RAM.
        @Test func wideRegistersAndMemories() throws {
            let m = Module("wide_state")
            let x = m.input("x", width: 130)
            let acc = m.reg("acc", width: 130, resetBits: Bits(width: 130, truncating: [5, 0, 2]))
            m.next(acc, acc +% x)
            m.output("acc_out", acc)
            let mem = m.memory("mem", width: 150, depth: 3)
            let wa = m.input("wa", width: 2)
            let we = m.input("we", width: 1)
            let ra = m.input("ra", width: 2)
            m.write(mem, address: wa, data: x.extend(to: 150), enable: we)
            m.output("rd", m.read(mem, ra))
            m.output("rq", m.readSync(mem, ra, enable: .const(1, width: 1), name: "rq"))
            let sim = try simulate(m)
            #expect(sim.inputs.map(\.name) == ["rst", "x", "wa", "we", "ra"])
            try sim.poke("rst", 1)
            sim.tick()
            #expect(try sim.peek("acc_out") == Bits(width: 130, truncating: [5, 0, 2]))
            try sim.poke("rst", 0)
            let v = Bits(width: 130, truncating: [~0, ~0, 3])   // 2^130 - 1
            try sim.poke("x", v)
            sim.tick()
            #expect(try sim.peek("acc_out") == Bits(width: 130, truncating: [4, 0, 2]))   // wrapped
            try sim.poke("we", 1)
            try sim.poke("wa", 2)
            try sim.poke("ra", 2)
            #expect(try sim.peek("rd").isZero)
            sim.tick()
            #expect(try sim.peek("rd") == Bits(width: 150, truncating: v.words))
            #expect(try sim.peek("rq").isZero)   // sampled before the write
            try sim.poke("wa", 3)                 // out of range: ignored
            sim.tick()
            #expect(try sim.peek("rq") == Bits(width: 150, truncating: v.words))
            try sim.poke("ra", 3)
            #expect(try sim.peek("rd").isZero)   // out-of-range read: 0, as in Verilator
            #expect(try sim.readMemory("mem", 2) == Bits(width: 150, truncating: v.words))
        }
    }
}

// MARK: State

extension SimulatorTests {
    @Suite struct State {
        @Test func counterWithEnableAndReset() throws {
            let m = Module("counter")
            let en = m.input("en", width: 1)
            let count = m.reg("count", width: 8, reset: 3)
            m.next(count, count +% .const(1, width: 8), enable: en)
            m.output("value", count)
            let sim = try simulate(m)
            #expect(sim.inputs == [SimPort(name: "rst", width: 1), SimPort(name: "en", width: 1)])
            #expect(sim.outputs == [SimPort(name: "value", width: 8)])
            #expect(try peek(sim, "value") == 0)   // power-on value
            try sim.poke("en", 1)
            try sim.poke("rst", 1)
            sim.tick()
            #expect(try peek(sim, "value") == 3)   // reset wins over enable
            try sim.poke("rst", 0)
            try sim.poke("en", 0)
            sim.tick()
            #expect(try peek(sim, "value") == 3)
            try sim.poke("en", 1)
            for i in 1...300 {
                sim.tick()
                #expect(try peek(sim, "value") == UInt64((3 + i) % 256))
            }
            #expect(try peek(sim, "count") == UInt64(303 % 256))   // registers by name too
            sim.powerOn()
            #expect(try peek(sim, "value") == 0)
        }

        @Test func romWithInitialContents() throws {
            let m = Module("rom")
            let words = [10, 20, 30, 40, 50].map { Bits(width: 8, truncating: $0) }
            let rom = m.memory("table", width: 8, depth: 5, initial: words)
            let addr = m.input("addr", width: 3)
            let en = m.input("en", width: 1)
            m.output("q", m.read(rom, addr))
            m.output("q_sync", m.readSync(rom, addr, enable: en, name: "q_reg"))
            let sim = try simulate(m)
            #expect(sim.inputs.map(\.name) == ["addr", "en"])   // no reset: no rst port
            for a in 0..<8 {
                try sim.poke("addr", UInt64(a))
                #expect(try peek(sim, "q") == (a < 5 ? UInt64(10 * (a + 1)) : 0))
            }
            try sim.poke("addr", 3)
            try sim.poke("en", 1)
            sim.tick()
            #expect(try peek(sim, "q_sync") == 40)
            try sim.poke("addr", 1)
            try sim.poke("en", 0)
            sim.tick()
            #expect(try peek(sim, "q_sync") == 40)   // held while disabled
            try sim.poke("en", 1)
            try sim.poke("addr", 6)
            sim.tick()
            #expect(try peek(sim, "q_sync") == 0)
        }

        @Test func ramWriteThenRead() throws {
            let m = Module("ram")
            let mem = m.memory("mem", width: 12, depth: 6)
            let wa = m.input("wa", width: 3)
            let wd = m.input("wd", width: 12)
            let we = m.input("we", width: 1)
            let ra = m.input("ra", width: 3)
            let re = m.input("re", width: 1)
            m.write(mem, address: wa, data: wd, enable: we)
            m.output("rd", m.read(mem, ra))
            m.output("rq", m.readSync(mem, ra, enable: re, name: "rq"))
            let sim = try simulate(m)
            // Write i*100+7 to every address, including the two beyond the depth.
            try sim.poke("we", 1)
            for i in 0..<8 {
                try sim.poke("wa", UInt64(i))
                try sim.poke("wd", UInt64(i * 100 + 7))
                sim.tick()
            }
            try sim.poke("we", 0)
            for i in 0..<8 {
                try sim.poke("ra", UInt64(i))
                #expect(try peek(sim, "rd") == (i < 6 ? UInt64(i * 100 + 7) : 0))
            }
            // A synchronous read in the cycle of a write to the same address sees the old word.
            try sim.poke("ra", 2)
            try sim.poke("re", 1)
            try sim.poke("we", 1)
            try sim.poke("wa", 2)
            try sim.poke("wd", 0xABC)
            sim.tick()
            #expect(try peek(sim, "rq") == 207)
            #expect(try peek(sim, "rd") == 0xABC)
            try sim.poke("we", 0)
            sim.tick()
            #expect(try peek(sim, "rq") == 0xABC)
            try sim.poke("re", 0)
            try sim.poke("ra", 4)
            sim.tick()
            #expect(try peek(sim, "rq") == 0xABC)
            #expect(try sim.readMemory("mem", 4) == Bits(width: 12, truncating: 407))
            try sim.writeMemory("mem", 4, Bits(width: 12, truncating: 99))
            #expect(try peek(sim, "rd") == 99)
        }

        /// Registers that feed each other sample before any updates: a swap and a shift register.
        @Test func nonBlockingUpdates() throws {
            let m = Module("swap")
            let a = m.reg("a", width: 4, reset: 1)
            let b = m.reg("b", width: 4, reset: 2)
            m.next(a, b)
            m.next(b, a)
            let d = m.input("d", width: 4)
            let s0 = m.reg("s0", width: 4), s1 = m.reg("s1", width: 4), s2 = m.reg("s2", width: 4)
            m.next(s0, d)
            m.next(s1, s0)
            m.next(s2, s1)
            m.output("a_out", a)
            m.output("b_out", b)
            m.output("tail", s2)
            let sim = try simulate(m)
            try sim.poke("rst", 1)
            sim.tick()
            try sim.poke("rst", 0)
            #expect(try peek(sim, "a_out") == 1 && peek(sim, "b_out") == 2)
            sim.tick()
            #expect(try peek(sim, "a_out") == 2 && peek(sim, "b_out") == 1)
            for i in 0..<6 {
                try sim.poke("d", UInt64(i + 1))
                sim.tick()
                #expect(try peek(sim, "tail") == (i >= 2 ? UInt64(i - 1) : 0))
            }
        }

        /// Two instances of `pair`, each with two instances of `acc`: four independent accumulators.
        @Test func hierarchyKeepsSeparateState() throws {
            let acc = Module("acc")
            let x = acc.input("x", width: 8)
            let sum = acc.reg("sum", width: 8, reset: 0)
            acc.next(sum, sum +% x)
            acc.output("sum", sum)

            let pair = Module("pair")
            let px = pair.input("x", width: 8)
            let u0 = pair.instance(acc, "u0")
            let u1 = pair.instance(acc, "u1")
            u0.connect("x", px)
            u1.connect("x", px +% .const(1, width: 8))
            pair.output("total", u0.output("sum") +& u1.output("sum"))

            let top = Module("top")
            let a = top.input("a", width: 8)
            let b = top.input("b", width: 8)
            let p0 = top.instance(pair, "p0")
            let p1 = top.instance(pair, "p1")
            p0.connect("x", a)
            p1.connect("x", b)
            top.output("t0", p0.output("total"))
            top.output("t1", p1.output("total"))

            let sim = try simulate(top)
            #expect(sim.inputs.map(\.name) == ["rst", "a", "b"])
            try sim.poke("rst", 1)
            sim.tick()
            try sim.poke("rst", 0)
            var s = [0, 0, 0, 0]   // p0.u0, p0.u1, p1.u0, p1.u1
            for cycle in 0..<10 {
                let av = cycle * 7 % 256, bv = cycle * 13 % 256
                try sim.poke("a", UInt64(av))
                try sim.poke("b", UInt64(bv))
                sim.tick()
                s = [(s[0] + av) % 256, (s[1] + av + 1) % 256, (s[2] + bv) % 256, (s[3] + (bv + 1) % 256) % 256]
                #expect(try peek(sim, "t0") == UInt64(s[0] + s[1]))
                #expect(try peek(sim, "t1") == UInt64(s[2] + s[3]))
                #expect(try peek(sim, "p1.u0.sum") == UInt64(s[2]))
                #expect(try peek(sim, "p0.u1.sum") == UInt64(s[1]))
            }
        }
    }
}

// MARK: Interface

extension SimulatorTests {
    @Suite struct Interface {
        private func design() -> Module {
            let m = Module("packed")
            let a = m.input("a", width: 33)
            let b = m.input("b", width: 70)
            let en = m.input("en", width: 1)
            let count = m.reg("count", width: 5, reset: 0)
            m.next(count, count +% .const(1, width: 5), enable: en)
            m.output("a_plus", a +& .const(1, width: 33))
            m.output("b_not", ~b)
            m.output("count", count)
            return m
        }

        @Test func packedLayoutAndRun() throws {
            let sim = try simulate(design())
            #expect(sim.inputs.map(\.name) == ["rst", "a", "b", "en"])
            #expect(sim.inputWords == 1 + 2 + 3 + 1)
            #expect(sim.outputWords == 2 + 3 + 1)
            let cycles = 6
            var input = [UInt32](repeating: 0, count: cycles * sim.inputWords)
            for c in 0..<cycles {
                let base = c * sim.inputWords
                input[base] = c == 0 ? 1 : 0                                        // rst
                input[base + 1] = UInt32(0xFFFF_FFFF - c); input[base + 2] = 0xFFFF_FFFF   // a: junk above bit 33
                input[base + 3] = UInt32(c); input[base + 4] = 0x1234_5678; input[base + 5] = 0xFFFF_FFF0 // b
                input[base + 6] = 0xFFFF_FFFF                                        // en (only bit 0 counts)
            }
            var output = [UInt32](repeating: 0xDEAD_BEEF, count: cycles * sim.outputWords)
            input.withUnsafeBufferPointer { i in
                output.withUnsafeMutableBufferPointer { o in sim.run(cycles: cycles, inputs: i, outputs: o) }
            }
            for c in 0..<cycles {
                let o = Array(output[(c * sim.outputWords)..<((c + 1) * sim.outputWords)])
                // a = 0x1_FFFF_FFFF - c (33 bits); a + 1 in 34 bits.
                let aPlus = (UInt64(1) << 33) - UInt64(c)
                #expect(o[0] == UInt32(truncatingIfNeeded: aPlus) && o[1] == UInt32(aPlus >> 32))
                // b = 0x30_1234_5678_xxxx_xxxx (70 bits: the word above holds 6 bits, 0x30).
                #expect(o[2] == ~UInt32(c) && o[3] == ~UInt32(0x1234_5678) && o[4] == 0x0F)
                // Outputs are sampled before the edge: reset in cycle 0, counting from cycle 1.
                #expect(o[5] == (c == 0 ? 0 : UInt32(c - 1)))
            }
            #expect(try sim.peek("count") == Bits(width: 5, truncating: cycles - 1))
            // setInputs/getOutputs one cycle at a time agree with run.
            let again = try simulate(design())
            var out = [UInt32](repeating: 0, count: again.outputWords)
            for c in 0..<cycles {
                input[(c * again.inputWords)..<((c + 1) * again.inputWords)].withUnsafeBufferPointer { again.setInputs($0) }
                again.eval()
                out.withUnsafeMutableBufferPointer { again.getOutputs($0) }
                #expect(out == Array(output[(c * again.outputWords)..<((c + 1) * again.outputWords)]))
                again.tick()
            }
        }

        @Test func portErrors() throws {
            let sim = try simulate(design())
            #expect(throws: SimulationError.self) { try sim.poke("nope", 1) }
            #expect(throws: SimulationError.self) { try sim.poke("en", 2) }
            #expect(throws: SimulationError.self) { try sim.poke("a", Bits(width: 40, truncating: [1 << 35])) }
            #expect(throws: SimulationError.self) { try sim.peek("nope") }
            try sim.poke("a", Bits(width: 8, truncating: [200]))   // narrower: zero-extended
            #expect(try sim.peek("a") == Bits(width: 33, truncating: [200]))
            try sim.poke("b", Bits.allOnes(70))
            #expect(try sim.peek("b_not").isZero)
        }
    }
}

// MARK: Scale

/// A 100,000-node chain: elaboration, emission, simulation and freeing the IR must all work
/// without deep recursion.
private func makeLongChain() -> (module: Module, length: Int) {
    let m = Module("chain")
    let x = m.input("x", width: 16)
    var e = x
    let n = 100_000
    for i in 0..<n {
        switch i % 3 {
        case 0: e = e +% .const(3, width: 16)
        case 1: e = e ^ .const(0x5A5A, width: 16)
        default: e = (e * .const(5, width: 16)).truncate(to: 16)
        }
    }
    m.output("y", e)
    return (m, n)
}

extension SimulatorTests {
    @Suite struct Scale {
        @Test func longChainDoesNotOverflowTheStack() throws {
            let longChain = makeLongChain()
            let sim = try simulate(longChain.module)
            #expect(VerilogEmitter.emit(try Elaborate.run(longChain.module)).verilog.count == 1)
            for input in [0, 1, 0xBEEF] as [UInt64] {
                try sim.poke("x", input)
                var v = input
                for i in 0..<longChain.length {
                    switch i % 3 {
                    case 0: v = (v + 3) & 0xFFFF
                    case 1: v ^= 0x5A5A
                    default: v = (v * 5) & 0xFFFF
                    }
                }
                #expect(try peek(sim, "y") == v)
            }
        }
    }
}
