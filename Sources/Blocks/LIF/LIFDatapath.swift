import HDL

/// The combinational datapath of one LIF lane: from the stored membrane, the current and the
/// `first` flag to the spike and the next membrane. Every intermediate is sized by the
/// intervals of `LIFRangeAnalysis`, so the hardware computes exactly what the contract says,
/// and saturates only at the two points a forced width names (see `LIFNeuronConfig`).
struct LIFDatapath {
    let neuron: LIFNeuronConfig
    let current: Interval
    let ranges: LIFRangeAnalysis

    init(neuron: LIFNeuronConfig, current: Interval, field: String) throws {
        self.neuron = neuron
        self.current = current
        ranges = try LIFRangeAnalysis(neuron: neuron, current: current, field: field)
    }

    /// Signed bits of one current.
    var currentWidth: Int { current.signedWidth }
    /// Signed bits of the membrane register.
    var membraneWidth: Int { ranges.membraneWidth }

    /// Builds one lane. `membrane` is the stored `V` (`membraneWidth` bits, signed), `current`
    /// the lane's `I` (`currentWidth` bits, signed), `first` restarts the neuron at `vr`.
    /// `threshold`, when given, replaces the constant `neuron.threshold`: a per-neuron threshold
    /// the caller selects (hard reset only, never above `neuron.threshold`, for which the ranges
    /// were proven). Returns the spike (1 bit) and the next membrane (`membraneWidth` bits, signed).
    func build(_ m: Module, _ p: String, membrane v: Expr, current i: Expr, first: Expr,
               threshold: Expr? = nil) throws -> (spike: Expr, next: Expr) {
        let v0 = start(m, p, membrane: v, first: first)
        let hs = try charge(m, p, start: v0, current: i)
        return fire(m, p, charged: hs, threshold: threshold)
    }

    /// Step 1 of 3: the membrane the step starts from, `vr` on a token's first time step.
    func start(_ m: Module, _ p: String, membrane v: Expr, first: Expr) -> Expr {
        let vrConst = Expr.const(neuron.resetValue, width: membraneWidth, signed: true)
        return m.wire("\(p)_v0", mux(first, vrConst, v))
    }

    /// Signed bits of the charged membrane `H` that `charge` returns (after the clamp a forced
    /// width names).
    var chargedWidth: Int { neuron.membraneWidth != nil ? membraneWidth : ranges.hidden.signedWidth }

    /// Step 2 of 3: the charged membrane `H` from the start membrane and the current, saturated
    /// to `Wv` when the width is forced (clamp point 1); `chargedWidth` bits, signed.
    func charge(_ m: Module, _ p: String, start v0: Expr, current i: Expr) throws -> Expr {
        let n = neuron
        let wv = membraneWidth
        let vr = n.resetValue
        let vrConst = Expr.const(vr, width: wv, signed: true)
        let a = m.wire("\(p)_a", fit(i.shiftLeft(n.inputShift), ranges.shifted))
        let uRange = try ranges.membrane.subtracting(.point(vr))
        let u = vr == 0 ? v0 : m.wire("\(p)_u", fit(v0.sub(vrConst), uRange))
        let h: Expr
        if n.decayInput && n.k == 1 && vr == 0 {
            // H = V + ((a - V) >>> 1) = (a + V) >>> 1: the same integer (V + floor((a - V)/2) =
            // floor((2V + a - V)/2)), in one carry chain instead of two. QKFormer's neuron (tau
            // = 2, hard reset to 0); the chains in series were the register bank's clock limit.
            let s = m.wire("\(p)_s", v0.add(a))
            h = m.wire("\(p)_h", fit(s.shiftRight(1), ranges.hidden))
        } else if n.decayInput {
            // H = V + ((a - u) >>> k)
            let dRange = try ranges.shifted.subtracting(uRange)
            let d = m.wire("\(p)_d", fit(a.sub(u), dRange))
            let q = n.k == 0 ? d : m.wire("\(p)_dk", d.shiftRight(n.k))
            h = m.wire("\(p)_h", fit(v0.add(q), ranges.hidden))
        } else {
            // H = V - ((V - vr) >>> k) + a
            let qRange = uRange.shiftedRight(n.k)
            let q = n.k == 0 ? u : m.wire("\(p)_uk", u.shiftRight(n.k))
            let g = m.wire("\(p)_g", fit(v0.sub(q), try ranges.membrane.subtracting(qRange)))
            h = m.wire("\(p)_h", fit(g.add(a), ranges.hidden))
        }
        // Clamp point 1: H saturates to Wv before the comparison (forced widths only).
        return n.membraneWidth != nil ? m.wire("\(p)_hs", h.saturate(to: wv)) : h
    }

    /// Step 3 of 3: the spike and the membrane after the reset, from the charged membrane
    /// (`chargedWidth` bits, signed) and the lane's threshold (nil: `neuron.threshold`).
    func fire(_ m: Module, _ p: String, charged hs: Expr, threshold: Expr?) -> (spike: Expr, next: Expr) {
        let f = compare(m, p, charged: hs, threshold: threshold)
        return (f.spike, reset(m, p, spike: f.spike, fired: f.fired, kept: f.kept))
    }

    /// Step 3, first half: the spike, and the two membranes the reset chooses from
    /// (`membraneWidth` bits, signed): `fired` where the neuron fires (vr, a constant, for a
    /// hard reset; `H - th` for a soft one) and `kept` where it does not (`H`). Each is brought
    /// to the membrane width as the analysis proves it fits where it is chosen, or saturated
    /// there (clamp point 2, forced widths only). A pipelined bank registers these, so that the
    /// compare's carry chain and the write-back never share a clock period.
    func compare(_ m: Module, _ p: String, charged hs: Expr, threshold: Expr?) -> (spike: Expr, fired: Expr, kept: Expr) {
        let n = neuron
        let wv = membraneWidth
        let vrConst = Expr.const(n.resetValue, width: wv, signed: true)
        let cmpWidth = max(hs.width, Interval.point(n.threshold).signedWidth)
        let th = threshold.map { fitWidth($0, cmpWidth) } ?? .const(n.threshold, width: cmpWidth, signed: true)
        let spike = m.wire("\(p)_spike", hs.extend(to: cmpWidth).ge(th))
        // Not firing means H < th: inside the membrane range for a hard reset, and for a soft
        // one the analysis proves H fits (a forced width has clamped H to Wv already).
        let kept = n.membraneWidth != nil ? hs : fitWidth(hs, wv)
        switch n.reset {
        case .hard:
            return (spike, vrConst, kept)
        case .soft:
            let thWidth = Interval.point(n.threshold).signedWidth
            let r = m.wire("\(p)_hr", hs.sub(.const(n.threshold, width: thWidth, signed: true)))
            // Clamp point 2: the reset membrane saturates to Wv (forced widths only); without a
            // forced width the analysis proves it fits.
            return (spike, n.membraneWidth != nil ? r.saturate(to: wv) : fitWidth(r, wv), kept)
        }
    }

    /// Step 3, second half: the next membrane, `fired` if `spike`, else `kept`.
    func reset(_ m: Module, _ p: String, spike: Expr, fired: Expr, kept: Expr) -> Expr {
        m.wire("\(p)_vn", mux(spike, fired, kept))
    }

    /// `e` at the width of `range`: a value proven to lie in `range` loses nothing.
    func fit(_ e: Expr, _ range: Interval) -> Expr { fitWidth(e, range.signedWidth) }

    func fitWidth(_ e: Expr, _ width: Int) -> Expr {
        if e.width > width { return e.truncate(to: width) }
        if e.width < width { return e.extend(to: width) }
        return e
    }
}
