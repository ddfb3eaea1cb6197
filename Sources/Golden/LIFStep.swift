import Foundation

/// The outcome of one LIF time step: the charged membrane, the spike, the new membrane.
public struct LIFStep: Hashable, Sendable {
    /// `H`, after saturation when the membrane width is forced (the value compared with `th`).
    public var hidden: Int64
    /// `S = H >= th`.
    public var spike: Bool
    /// The membrane after the reset, saturated when the width is forced.
    public var membrane: Int64

    public init(hidden: Int64, spike: Bool, membrane: Int64) {
        self.hidden = hidden
        self.spike = spike
        self.membrane = membrane
    }
}

extension LIFParameters {
    /// One time step of docs/arithmetic.md §1 from membrane `v` with input `current` (on the weight
    /// grid; it is shifted left by `inputShift` here). Exact, or saturating at the forced width.
    public func step(membrane v: Int64, current: Int64) -> LIFStep {
        LIFKernel(self).step(v, current)
    }

    /// Runs one neuron over `currents.count` time steps from the reset value.
    public func run(currents: [Int64]) -> [LIFStep] {
        let kernel = LIFKernel(self)
        var v = resetValue
        return currents.map { i in
            let s = kernel.step(v, i)
            v = s.membrane
            return s
        }
    }
}

/// `LIFParameters` flattened for the inner loop: the clamp bounds and flags are precomputed.
///
/// The fast path is plain Int64 arithmetic with overflow reporting; any overflow falls back to
/// an exact 128-bit path, so a forced 64-bit width still saturates exactly and an unforced width
/// traps with a clear message rather than wrapping.
@usableFromInline
struct LIFKernel: Sendable {
    @usableFromInline let k: Int64
    @usableFromInline let shift: Int64
    @usableFromInline let scale: Int64
    @usableFromInline let threshold: Int64
    @usableFromInline let vr: Int64
    @usableFromInline let lo: Int64
    @usableFromInline let hi: Int64
    @usableFromInline let saturates: Bool
    @usableFromInline let decayInput: Bool
    @usableFromInline let hard: Bool

    @usableFromInline
    init(_ p: LIFParameters) {
        do { try p.validate() } catch { preconditionFailure("invalid LIF parameters: \(error)") }
        k = Int64(p.k)
        shift = Int64(p.inputShift)
        scale = Int64(1) << Int64(p.inputShift)
        threshold = p.threshold
        vr = p.resetValue
        if let w = p.membraneWidth {
            saturates = true
            lo = SignedWidth.minimum(w)
            hi = SignedWidth.maximum(w)
        } else {
            saturates = false
            lo = Int64.min
            hi = Int64.max
        }
        decayInput = p.decayInput
        hard = p.isHardReset
    }

    @inlinable @inline(__always)
    func step(_ v: Int64, _ i: Int64) -> LIFStep {
        let (ie, o0) = i.multipliedReportingOverflow(by: scale)
        let (u, o1) = v.subtractingReportingOverflow(vr)
        var h: Int64
        var o2 = false, o3 = false
        if decayInput {
            // H = V + ((I - (V - vr)) >>> k)
            let d: Int64
            (d, o2) = ie.subtractingReportingOverflow(u)
            (h, o3) = v.addingReportingOverflow(d >> k)
        } else {
            // H = V - ((V - vr) >>> k) + I
            let a: Int64
            (a, o2) = v.subtractingReportingOverflow(u >> k)
            (h, o3) = a.addingReportingOverflow(ie)
        }
        if o0 || o1 || o2 || o3 { return wideStep(v, i) }
        if saturates { h = Swift.min(Swift.max(h, lo), hi) }
        let spike = h >= threshold
        var next: Int64
        if hard {
            next = spike ? vr : h
        } else if spike {
            let (n, o) = h.subtractingReportingOverflow(threshold)
            if o { return wideStep(v, i) }
            next = n
        } else {
            next = h
        }
        if saturates { next = Swift.min(Swift.max(next, lo), hi) }
        return LIFStep(hidden: h, spike: spike, membrane: next)
    }

    /// The same step in 128-bit arithmetic, taken only when an Int64 intermediate overflowed.
    @usableFromInline @inline(never)
    func wideStep(_ v: Int64, _ i: Int64) -> LIFStep {
        guard #available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *) else {
            preconditionFailure("LIF step overflowed 64-bit arithmetic (V = \(v), I = \(i)) and 128-bit integers are unavailable on this OS")
        }
        let ie = Int128(i) << Int128(shift)
        let wv = Int128(v), wvr = Int128(vr), wk = Int128(k)
        let h: Int128 = decayInput ? wv + ((ie - (wv - wvr)) >> wk) : wv - ((wv - wvr) >> wk) + ie
        let hc = fit(h, what: "H", v: v, i: i)
        let spike = hc >= threshold
        let next: Int128 = hard ? (spike ? wvr : Int128(hc)) : (spike ? Int128(hc) - Int128(threshold) : Int128(hc))
        return LIFStep(hidden: hc, spike: spike, membrane: fit(next, what: "V", v: v, i: i))
    }

    /// Saturates a wide value to the forced width, or insists that it fits Int64 when no width is
    /// forced (interval analysis sizes unforced membranes, so not fitting is a golden-model bug
    /// or a membrane that needs more than 64 bits).
    @available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
    func fit(_ x: Int128, what: String, v: Int64, i: Int64) -> Int64 {
        if saturates { return Int64(Swift.min(Swift.max(x, Int128(lo)), Int128(hi))) }
        precondition(x >= Int128(Int64.min) && x <= Int128(Int64.max),
                     "LIF overflow: \(what) = \(x) (from V = \(v), I = \(i)) needs more than 64 bits; the golden model holds unforced membranes in Int64. Force membraneWidth to saturate, or lower the current's range")
        return Int64(x)
    }
}
