import HDL

/// The flattened design as a bit-level netlist: the form in which synthesis sees it after
/// `flatten`, `opt` and `simplemap`. Every IR operator is expanded into single-bit gates
/// (AND, OR, XOR, NOT, 2:1 MUX) with constant folding and structural hashing (what `opt_expr`
/// and ABC's strash do), except the operators that 7-series synthesis keeps as hard blocks:
/// adders and subtractors (one LUT per bit beside a CARRY4 chain), multipliers (DSP48E1) and
/// memories (block RAM, LUT RAM, or logic, by `MemoryMapping`).
///
/// Bit 0 is the constant 0, bit 1 the constant 1. Bits 2 and 3 are the *late* constants 0
/// and 1: values that synthesis learns only after `synth_xilinx` has mapped adders to CARRY4
/// (a flop that `opt_dff` finds constant on the gate-level netlist, such as a one-step time
/// counter at T = 1, and whatever follows from it). Gates fold them like constants, since the
/// gate-level `opt` and ABC do; the hard-block builders (`FlatBuilder`'s adders, comparisons
/// and products) test `isConst` and see them as variables, because Yosys built those blocks
/// before the value was known and never folds a CARRY4. Every other bit is a gate or a leaf
/// (an input port, a flip-flop output, a carry-chain output, a RAM output).
final class BitNetlist {
    enum Kind: UInt8 { case const0, const1, leaf, not, and, or, xor, mux }

    var kind: [Kind] = [.const0, .const1, .const0, .const1]
    var a: [Int32] = [0, 0, 0, 0]
    var b: [Int32] = [0, 0, 0, 0]
    var c: [Int32] = [0, 0, 0, 0]
    /// Placed-module index that owns the bit (for per-module attribution).
    var owner: [Int32] = [0, 0, 0, 0]
    private var strash: [SIMD4<Int32>: Int32] = [:]
    /// The module placement new gates are attributed to.
    var currentOwner: Int32 = 0

    static let zero = 0, one = 1
    static let lateZero = 2, lateOne = 3

    /// The value of a constant or late-constant bit, nil for any other.
    static func value(_ x: Int) -> Int? { x <= 3 ? x & 1 : nil }
    /// Whether `x` is a late constant.
    static func isLate(_ x: Int) -> Bool { x == lateZero || x == lateOne }

    func leaf() -> Int {
        kind.append(.leaf); a.append(0); b.append(0); c.append(0); owner.append(currentOwner)
        return kind.count - 1
    }

    private func gate(_ k: Kind, _ x: Int, _ y: Int = 0, _ z: Int = 0) -> Int {
        let key = SIMD4<Int32>(Int32(k.rawValue), Int32(x), Int32(y), Int32(z))
        if let id = strash[key] { return Int(id) }
        kind.append(k); a.append(Int32(x)); b.append(Int32(y)); c.append(Int32(z)); owner.append(currentOwner)
        let id = kind.count - 1
        strash[key] = Int32(id)
        return id
    }

    func isConst(_ x: Int) -> Bool { x <= 1 }

    func not(_ x: Int) -> Int {
        if x <= 3 { return x ^ 1 }
        if kind[x] == .not { return Int(a[x]) }
        return gate(.not, x)
    }

    func and(_ x: Int, _ y: Int) -> Int {
        if x == 0 || y == 0 { return 0 }
        if x == 1 { return y }
        if y == 1 || x == y { return x }
        if x == 2 || y == 2 { return 2 }
        if x == 3 { return y }
        if y == 3 { return x }
        if (kind[x] == .not && Int(a[x]) == y) || (kind[y] == .not && Int(a[y]) == x) { return 0 }
        return gate(.and, min(x, y), max(x, y))
    }

    func or(_ x: Int, _ y: Int) -> Int {
        if x == 1 || y == 1 { return 1 }
        if x == 0 { return y }
        if y == 0 || x == y { return x }
        if x == 3 || y == 3 { return 3 }
        if x == 2 { return y }
        if y == 2 { return x }
        if (kind[x] == .not && Int(a[x]) == y) || (kind[y] == .not && Int(a[y]) == x) { return 1 }
        return gate(.or, min(x, y), max(x, y))
    }

    func xor(_ x: Int, _ y: Int) -> Int {
        if x == 0 { return y }
        if y == 0 { return x }
        if x == 1 { return not(y) }
        if y == 1 { return not(x) }
        if x == 2 { return y }
        if y == 2 { return x }
        if x == 3 { return not(y) }
        if y == 3 { return not(x) }
        if x == y { return 0 }
        return gate(.xor, min(x, y), max(x, y))
    }

    /// `s ? t : f`.
    func mux(_ s: Int, _ t: Int, _ f: Int) -> Int {
        if s == 1 || t == f { return t }
        if s == 0 { return f }
        // A late select makes a constant it picks late too.
        if s == 3 { return t <= 1 ? t + 2 : t }
        if s == 2 { return f <= 1 ? f + 2 : f }
        if let tv = Self.value(t), let fv = Self.value(f) {
            // Equal values, one of them late: the late one (known only at gate level).
            if tv == fv { return max(t, f) }
            return tv == 1 ? s : not(s)
        }
        if f == 0 || f == 2 { return and(s, t) }
        if t == 0 || t == 2 { return and(not(s), f) }
        if t == 1 || t == 3 { return or(s, f) }
        if f == 1 || f == 3 { return or(not(s), t) }
        if kind[s] == .not { return gate(.mux, Int(a[s]), f, t) }
        return gate(.mux, s, t, f)
    }

    /// Operand bits of gate `x`.
    func fanins(_ x: Int) -> [Int] {
        switch kind[x] {
        case .const0, .const1, .leaf: return []
        case .not: return [Int(a[x])]
        case .and, .or, .xor: return [Int(a[x]), Int(b[x])]
        case .mux: return [Int(a[x]), Int(b[x]), Int(c[x])]
        }
    }

    // MARK: Word-level helpers (bit arrays, least significant first)

    func consts(_ v: Bits) -> [Int] { (0..<v.width).map { v.bit($0) ? 1 : 0 } }

    func extend(_ x: [Int], signed: Bool, to w: Int) -> [Int] {
        if x.count >= w { return Array(x.prefix(w)) }
        let fill = signed ? x[x.count - 1] : 0
        return x + [Int](repeating: fill, count: w - x.count)
    }

    /// An associative reduction, grouped six operands at a time (one LUT6 each), then the
    /// group results likewise: the shape a LUT mapper wants, and what ABC's balancing and
    /// choice computation give it. A pairwise tree would hide the 6-input groups from the
    /// cut enumeration.
    func reduceTree(_ bits: [Int], _ op: (Int, Int) -> Int, empty: Int) -> Int {
        var level = bits
        if level.isEmpty { return empty }
        while level.count > 1 {
            var next: [Int] = []
            var i = 0
            while i < level.count {
                let group = level[i..<min(i + 6, level.count)]
                var acc = group.first!
                for v in group.dropFirst() { acc = op(acc, v) }
                next.append(acc)
                i += 6
            }
            level = next
        }
        return level[0]
    }

    /// `x == y` as XNORs and an AND tree (what `simplemap` makes of `$eq`).
    func equal(_ x: [Int], _ y: [Int]) -> Int {
        reduceTree(zip(x, y).map { not(xor($0, $1)) }, and, empty: 1)
    }

    /// `x < y` (unsigned), as a balanced tree (what ABC's balancing makes of the ripple
    /// comparison): `lt = lt_hi | (eq_hi & lt_lo)` over halves of the bits.
    func lessThan(_ x: [Int], _ y: [Int]) -> Int {
        func rec(_ lo: Int, _ hi: Int) -> (lt: Int, eq: Int) {
            if hi - lo == 1 {
                return (and(not(x[lo]), y[lo]), not(xor(x[lo], y[lo])))
            }
            let mid = (lo + hi) / 2
            let l = rec(lo, mid), h = rec(mid, hi)
            return (or(h.lt, and(h.eq, l.lt)), and(h.eq, l.eq))
        }
        if x.isEmpty { return 0 }
        return rec(0, x.count).lt
    }
}
