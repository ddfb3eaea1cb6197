/// The values one LIF neuron can reach, from its parameters and the range of its current: the
/// source of every width in a LIF datapath.
///
/// Work in offset coordinates `u = V - vr` with `a = I << E` in `[A0, A1]`. One step gives
/// `H - vr = f(u, a)` with `f = u + ((a - u) >>> k)` (decayInput) or `f = u - (u >>> k) + a`.
/// Both are non-decreasing in `u` and in `a` (raising `u` by one lowers `(a - u) >>> k`, or
/// raises `u >>> k`, by at most one), so over `u` in `[L, R]` the charged membrane lies in
/// `[f(L, A0), f(R, A1)]`, tight at both ends. The reset maps that to the hull of the part that
/// does not fire (`H - vr < th - vr`, kept) and the part that fires (`0`, or `H - th`).
///
/// The reachable set is the least interval `X` with `0 in X` and `step(X) in X`. It is found
/// by widening `X` with `step(X)` until it stops growing. When that takes too long (slow decay,
/// large `k`), the closed-form invariant below is used instead, after checking that it is one:
///
///     decayInput     L = min(0, A0)
///       hard         R = max(0, min(A1, th' - 1))               th' = th - vr
///       soft, th>0   R = max(0, min(A1, th - 1), A1 - th)
///       soft, th<=0  R = max(0, A1 - 2^k th)
///     otherwise      L = 2^k min(0, A0)
///       hard         R = max(0, min(th' - 1, 2^k max(A1, 0)))
///       soft, th>0   R = max(0, min(th - 1, 2^k A1), 2^k (A1 - th))
///       soft, th<=0  R = max(0, 2^k (A1 - th))
///
/// (decayInput: `f(u, a)` lies between `u` and `a`; otherwise `f(2^k m, a) >= 2^k m` for
/// `m <= a`, and `f(R, A1) - th <= R` whenever `A1 - th <= R >>> k`.)
///
/// With a forced width the register range is the whole `Wv`-bit range and only `H` needs a
/// bound, over that range.
struct LIFRangeAnalysis: Hashable, Sendable {
    /// `I << E`.
    let shifted: Interval
    /// Every membrane value the register holds, `vr` included.
    let membrane: Interval
    /// Every charged membrane `H`, before any saturation.
    let hidden: Interval
    /// The register width: forced, or the proven one.
    let membraneWidth: Int
    /// How many widening steps settled the range (nil: the closed form was used, or forced).
    let settledAfter: Int?

    static let iterationBudget = 4096

    init(neuron p: LIFNeuronConfig, current: Interval, field: String) throws {
        try p.validate(field)
        let a = try current.shiftedLeft(p.inputShift)
        shifted = a
        let vr = p.resetValue
        let k = p.k
        func f(_ u: Int, _ x: Int) throws -> Int {
            if p.decayInput { return try Self.add(u, try Self.sub(x, u) >> k) }
            return try Self.add(try Self.sub(u, u >> k), x)
        }
        if let w = p.membraneWidth {
            let v = Interval.ofWidth(w, signed: true)
            let u = try v.subtracting(.point(vr))
            membrane = v
            hidden = try Interval(f(u.lo, a.lo), f(u.hi, a.hi)).adding(.point(vr))
            membraneWidth = w
            settledAfter = nil
            return
        }
        let thp = try Self.sub(p.threshold, vr)
        func step(_ x: Interval) throws -> Interval {
            let hl = try f(x.lo, a.lo), hh = try f(x.hi, a.hi)
            var lo = Int.max, hi = Int.min
            if hl < thp { lo = min(lo, hl); hi = max(hi, min(hh, thp - 1)) }
            if hh >= thp {
                if p.isHardReset {
                    lo = min(lo, 0); hi = max(hi, 0)
                } else {
                    lo = min(lo, try Self.sub(max(hl, thp), thp)); hi = max(hi, try Self.sub(hh, thp))
                }
            }
            return Interval(lo, hi)
        }
        var x = Interval.point(0)
        var settled: Int?
        for n in 1...Self.iterationBudget {
            let grown = x.union(try step(x))
            if grown == x { settled = n; break }
            x = grown
        }
        if settled == nil {
            let c = try Self.closedForm(p, a: a, thp: thp)
            guard c.contains(0), c.contains(try step(c)) else {
                throw BlockError("\(field): the LIF range analysis found no invariant for current \(current) with \(p); force membraneWidth")
            }
            x = c
        }
        membrane = try x.adding(.point(vr))
        hidden = try Interval(f(x.lo, a.lo), f(x.hi, a.hi)).adding(.point(vr))
        guard membrane.signedWidth <= 62, hidden.signedWidth <= 62 else {
            throw BlockError("\(field): the membrane needs \(max(membrane.signedWidth, hidden.signedWidth)) bits for current \(current); force membraneWidth (saturating) or narrow the current range")
        }
        membraneWidth = membrane.signedWidth
        settledAfter = settled
    }

    static func closedForm(_ p: LIFNeuronConfig, a: Interval, thp: Int) throws -> Interval {
        let two = 1 << p.k
        let th = p.threshold
        if p.decayInput {
            let l = min(0, a.lo)
            let r: Int
            if p.isHardReset {
                r = max(0, min(a.hi, thp - 1))
            } else if th > 0 {
                r = max(0, min(a.hi, th - 1), try sub(a.hi, th))
            } else {
                r = max(0, try sub(a.hi, try mul(two, th)))
            }
            return Interval(l, r)
        }
        let l = try mul(two, min(0, a.lo))
        let r: Int
        if p.isHardReset {
            r = max(0, min(thp - 1, try mul(two, max(a.hi, 0))))
        } else if th > 0 {
            r = max(0, min(th - 1, try mul(two, a.hi)), try mul(two, try sub(a.hi, th)))
        } else {
            r = max(0, try mul(two, try sub(a.hi, th)))
        }
        return Interval(l, r)
    }

    private static func fail() -> BlockError {
        BlockError("LIF range analysis overflows 64 bits; force membraneWidth or narrow the current range")
    }
    static func add(_ x: Int, _ y: Int) throws -> Int {
        let (r, o) = x.addingReportingOverflow(y); if o { throw fail() }; return r
    }
    static func sub(_ x: Int, _ y: Int) throws -> Int {
        let (r, o) = x.subtractingReportingOverflow(y); if o { throw fail() }; return r
    }
    static func mul(_ x: Int, _ y: Int) throws -> Int {
        let (r, o) = x.multipliedReportingOverflow(by: y); if o { throw fail() }; return r
    }
}
