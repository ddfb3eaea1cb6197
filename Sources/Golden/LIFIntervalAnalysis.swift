import Foundation

/// The reachable values of one LIF neuron, and the signed width that holds them.
public struct LIFRange: Hashable, Sendable {
    /// How the bounds were obtained.
    public enum Method: Hashable, Sendable {
        /// Interval propagation, one interval per time step, for `steps` steps (or until the
        /// per-step interval stopped changing, after which every later step repeats it).
        case iterated(steps: Int)
        /// The per-step propagation did not settle within its budget, so the bounds are the
        /// closed-form inductive invariant (conservative; sound for any number of steps).
        case closedForm
    }

    /// Every reachable charged membrane `H` (before any saturation).
    public var hidden: ClosedRange<Int64>
    /// Every reachable membrane `V`, including the initial `vr`.
    public var membrane: ClosedRange<Int64>
    public var method: Method

    /// The smallest two's-complement width holding every reachable `H` and `V`.
    public var width: Int { max(SignedWidth.required(hidden), SignedWidth.required(membrane)) }
}

/// Interval analysis of the LIF recurrence (docs/arithmetic.md §1), for the golden model's own
/// overflow checks. The RTL generator sizes its registers independently.
///
/// Method: fixed-point iteration over intervals. In offset coordinates `u = V - vr`,
/// `a = I << E`, one step is `H - vr = f(u, a)` with
/// `f = u + ((a - u) >>> k)` (decayInput) or `f = u - (u >>> k) + a`, and both are
/// non-decreasing in `u` and `a`, so the exact bounds of `H` over an interval of `u` and of `a`
/// are `f` at the two corners. The reset maps the `H` interval to the hull of its firing part
/// (`0`, or `H - th`) and its non-firing part (`H < th`). Starting from `u = [0, 0]` this is
/// applied once per time step and the hull of all steps is taken; each step's interval is
/// tight at its ends for the interval it started from. When `timeSteps` is nil (any number of
/// steps) or the interval has not settled within `iterationBudget` steps, the closed-form
/// inductive invariant below is used instead (conservative, never smaller than the truth):
///
/// ```
/// decayInput:   L = min(0, A0)
///   hard        R = max(0, min(A1, th' - 1))                  th' = th - vr
///   soft th>0   R = max(0, min(A1, th - 1), A1 - th)
///   soft th<=0  R = max(0, A1 - 2^k th)
/// not decayInput: L = 2^k min(0, A0)
///   hard        R = max(0, min(th' - 1, 2^k max(A1, 0)))
///   soft th>0   R = max(0, min(th - 1, 2^k A1), 2^k (A1 - th))
///   soft th<=0  R = max(0, 2^k (A1 - th))
/// ```
/// with `[A0, A1]` the shifted current range and `u` in `[L, R]`.
public enum LIFIntervalAnalysis {
    /// How many per-step propagations to try before falling back to the closed form.
    public static let iterationBudget = 1024

    /// The reachable `H` and `V` of a neuron with `parameters` whose current (on the weight grid,
    /// before `<< E`) stays in `current`, over `timeSteps` steps from the reset value (nil: any
    /// number of steps). Throws when a bound does not fit in 64 bits, since the golden model
    /// cannot then hold the membrane unforced.
    public static func analyze(current: ClosedRange<Int64>, parameters p: LIFParameters,
                               timeSteps: Int? = nil) throws -> LIFRange {
        try p.validate()
        if let t = timeSteps, t < 0 {
            throw GoldenError(field: "timeSteps", "must be >= 0, got \(t)")
        }
        let c = Checked()
        let scale = Int64(1) << Int64(p.inputShift)
        let a0 = try c.mul(current.lowerBound, scale)
        let a1 = try c.mul(current.upperBound, scale)
        let vr = p.resetValue
        let thp = try c.sub(p.threshold, vr)   // th' = th - vr (th for a soft reset)
        let k = Int64(p.k)

        func f(_ u: Int64, _ a: Int64) throws -> Int64 {
            if p.decayInput { return try c.add(u, (try c.sub(a, u)) >> k) }
            return try c.add(try c.sub(u, u >> k), a)
        }
        func resetHull(_ hl: Int64, _ hh: Int64) throws -> (Int64, Int64) {
            var lo = Int64.max, hi = Int64.min
            if hl < thp {                           // non-firing part: [hl, min(hh, th' - 1)]
                lo = min(lo, hl); hi = max(hi, min(hh, thp - 1))
            }
            if hh >= thp {                          // firing part
                if p.isHardReset {
                    lo = min(lo, 0); hi = max(hi, 0)
                } else {
                    lo = min(lo, try c.sub(max(hl, thp), thp)); hi = max(hi, try c.sub(hh, thp))
                }
            }
            return (lo, hi)
        }

        var u = (Int64(0), Int64(0))
        var hAll: (Int64, Int64)? = nil
        var vAll = (Int64(0), Int64(0))
        var steps = 0
        var settled = false
        let limit = min(timeSteps ?? Int.max, iterationBudget)
        while steps < limit {
            let h = (try f(u.0, a0), try f(u.1, a1))
            let next = try resetHull(h.0, h.1)
            hAll = hAll.map { (min($0.0, h.0), max($0.1, h.1)) } ?? h
            vAll = (min(vAll.0, next.0), max(vAll.1, next.1))
            steps += 1
            if next == u { settled = true; break }
            u = next
        }
        let method: LIFRange.Method
        if settled || steps == timeSteps {
            method = .iterated(steps: steps)
        } else {
            let (l, r) = try closedForm(a0: a0, a1: a1, thp: thp, p: p, c: c)
            vAll = (min(vAll.0, l), max(vAll.1, r))
            let h = (try f(l, a0), try f(r, a1))
            hAll = hAll.map { (min($0.0, h.0), max($0.1, h.1)) } ?? h
            method = .closedForm
        }
        let hidden: ClosedRange<Int64>
        if let (hl, hh) = hAll {
            hidden = try c.add(hl, vr)...(try c.add(hh, vr))
        } else {
            hidden = vr...vr    // zero time steps: no H is ever formed; report the reset value
        }
        let membrane = try c.add(vAll.0, vr)...(try c.add(vAll.1, vr))
        return LIFRange(hidden: hidden, membrane: membrane, method: method)
    }

    /// The closed-form invariant `[L, R]` of `u = V - vr` (see the type's documentation).
    static func closedForm(a0: Int64, a1: Int64, thp: Int64, p: LIFParameters, c: Checked) throws -> (Int64, Int64) {
        let two = Int64(1) << Int64(p.k)
        let hard = p.isHardReset
        if p.decayInput {
            let l = min(0, a0)
            let r: Int64
            if hard {
                r = max(0, min(a1, thp - 1))
            } else if thp > 0 {
                r = max(0, min(a1, thp - 1), try c.sub(a1, thp))
            } else {
                r = max(0, try c.sub(a1, try c.mul(two, thp)))
            }
            return (l, r)
        }
        let l = try c.mul(two, min(0, a0))
        let r: Int64
        if hard {
            r = max(0, min(thp - 1, try c.mul(two, max(a1, 0))))
        } else if thp > 0 {
            r = max(0, min(thp - 1, try c.mul(two, a1)), try c.mul(two, try c.sub(a1, thp)))
        } else {
            r = max(0, try c.mul(two, try c.sub(a1, thp)))
        }
        return (l, r)
    }

    /// Int64 arithmetic that throws, rather than wraps, when a bound leaves 64 bits.
    struct Checked {
        func fail() -> GoldenError {
            GoldenError(field: "membraneWidth",
                        "the LIF membrane range exceeds 64 bits, which the golden model cannot hold; force a narrower membraneWidth (saturating) or narrow the current range")
        }
        func add(_ x: Int64, _ y: Int64) throws -> Int64 {
            let (r, o) = x.addingReportingOverflow(y); if o { throw fail() }; return r
        }
        func sub(_ x: Int64, _ y: Int64) throws -> Int64 {
            let (r, o) = x.subtractingReportingOverflow(y); if o { throw fail() }; return r
        }
        func mul(_ x: Int64, _ y: Int64) throws -> Int64 {
            let (r, o) = x.multipliedReportingOverflow(by: y); if o { throw fail() }; return r
        }
    }
}
