import HDL

/// The event-driven spike x weight accumulator: a linear layer on spikes (docs/arithmetic.md §3).
///
/// Input: one event per beat (`EventStreamFormat` with one slot): `in_event`, `in_channel` (`i`),
/// `in_count` (`x[i] >= 1`), `in_last`. A vector is its events, the last with `in_last`; an
/// empty vector is one beat with `in_event == 0, in_last == 1`. Events of a vector come in
/// ascending channel order, as the event encoder makes them; exact accumulation does not care,
/// but a forced (saturating) width matches the golden model only in that order.
///
/// Work: each event takes `G = ceil(C_out/P)` cycles; cycle `g` reads word `i*G + g` of the
/// weight memory (the `P` weights `W[g*P + p][i]`, synchronous read) and, one cycle later, adds
/// `x * w` into the `P` accumulators of group `g`. The first event of a vector adds onto the
/// bias instead of the accumulator, so nothing is cleared between vectors. Zero inputs cost
/// nothing: cycles follow events x G.
///
/// Output: `G` beats per vector: `out_group` (g), `out_current` (`P` signed currents of
/// `Wa` bits, lane p = `I[g*P + p]` at bits `[p*Wa +: Wa]`, the layout of the LIF bank's
/// `in_current`; lanes past `C_out` in the last group carry 0), `out_last` on group `G-1`.
/// `widths().currentRange` is the interval to give the LIF bank as its current range. The result drains
/// while the next vector already accumulates: its event may update group `g` once group `g`
/// has left, so back-to-back vectors overlap.
public func makeSpikeAccumulator(_ config: SpikeAccumulatorConfig) throws -> Module {
    let w = try config.widths()
    let cin = config.inputs, cout = config.outputs, p = config.lanes, g = config.groups
    let bias = config.biasValues
    let wa = w.accumulator, ww = w.weight, wb = w.bias, wc = w.count, gw = w.group
    // The weight word is registered before the add from G >= 2, and at any G with counts above
    // 1, where the product `x * w` (a DSP or a shift-and-add in series with the add into the
    // lane state) gets a register stage of its own too. Below G = 4 the drain then waits for the
    // vector's last write. `SpikeAccumulatorPipeline` holds the rule and its waits.
    let pipeline = SpikeAccumulatorPipeline(groups: g, countWidth: wc)
    let registeredWeight = pipeline.registeredWeight
    let registeredProduct = pipeline.registeredProduct
    let m = Module(try config.moduleName(), doc: """
        Event-driven spike x weight accumulator: I[o] = b[o] + sum_i x[i] * W[o][i], C_in = \(cin), C_out = \(cout).
        in:  in_valid/in_ready, in_event, in_channel[\(w.channel - 1):0] (i < \(cin)), in_count[\(wc - 1):0] (x >= 1), in_last;
             a vector is its events in ascending channel order, the last with in_last; an empty vector is one beat
             with in_event = 0, in_last = 1.
        out: out_valid/out_ready, out_group[\(gw - 1):0] (g), out_current[\(p * wa - 1):0] (lane p at [p*\(wa) +: \(wa)], signed:
             I[g*\(p) + p]; lanes >= C_out read 0), out_last (g = \(g - 1)); \(g) beat(s) per vector. The outputs are
             registers; out_ready enables the drain's read into them in the same cycle (no skid entry). out_group,
             out_last and out_current are undefined while out_valid is low.
        Lanes P = \(p), groups G = ceil(C_out/P) = \(g): each event takes G cycles (weights read synchronously from
        the $readmemh image, then added), so cycles follow events x G, not C_in. Accumulators \(wa) bits
        (\(w.saturates ? "forced, saturating at each addition; exact needs \(w.exactAccumulator)" : "exact: range \(w.exactRange)")).
        Weight word \(registeredWeight ? "registered before the add" : "added straight from the read (G = 1, spikes)")\(registeredProduct ? "; the count x weight product (\(pipeline.shiftAddProduct ? "a shift-and-add in logic" : "a multiplier")) registered before the add too" : ""): \(pipeline.addStages) cycle(s) from issue to write.
        Latency: out_valid rises \(2 + pipeline.drainWait) cycles after the final event's last group is issued (the drain waits
        \(pipeline.drainWait) cycle(s) for the last write); the result drains (G beats) while the next vector accumulates, which
        costs \(pipeline.vectorOverhead) cycle(s) per vector on top of events x G.
        """)
    m.parameter("inputs", cin)
    m.parameter("outputs", cout)
    m.parameter("lanes", p)
    m.parameter("maxCount", config.maxCount)
    m.parameter("accumulatorWidth", config.accumulatorWidth.map { "\($0) (forced)" } ?? "\(wa) (exact)")
    m.parameter("weightWidth", ww)

    // MARK: Memories

    let depth = cin * g
    var weightWords: [Bits] = []
    weightWords.reserveCapacity(depth)
    for i in 0..<cin {
        for grp in 0..<g {
            weightWords.append(packLanes((0..<p).map { lane in
                let o = grp * p + lane
                return o < cout ? config.weights[o][i] : 0
            }, width: ww))
        }
    }
    let weightMem = m.memory("weights", width: p * ww, depth: depth, initial: weightWords)
    let biasWords = (0..<g).map { grp in
        packLanes((0..<p).map { lane in grp * p + lane < cout ? bias[grp * p + lane] : 0 }, width: wb)
    }
    let biasMem = m.memory("bias", width: p * wb, depth: g, initial: biasWords)
    let accMem = (0..<p).map { m.memory("acc_lane\($0)", width: wa, depth: g, signed: true) }
    let aw = weightMem.addressWidth

    // MARK: Ports

    let inValid = m.input("in_valid", width: 1)
    let inEvent = m.input("in_event", width: 1)
    let inChannel = m.input("in_channel", width: w.channel)
    let inCount = m.input("in_count", width: wc)
    let inLast = m.input("in_last", width: 1)
    let outReady = m.input("out_ready", width: 1)

    // MARK: Issue: the event being worked on, one group per cycle

    let evValid = m.reg("ev_valid", width: 1, reset: 0)
    let evEvent = m.reg("ev_event", width: 1)
    let evLast = m.reg("ev_last", width: 1)
    let evCount = m.reg("ev_count", width: wc)
    let weightAddr = m.reg("weight_addr", width: aw)
    let group = m.reg("group", width: gw, reset: 0)
    // No event of the current vector has finished yet: the next adds onto the bias.
    let vecFresh = m.reg("vector_fresh", width: 1, reset: 1)

    let drainActive = m.reg("drain_active", width: 1, reset: 0)
    let drainGroup = m.reg("drain_group", width: gw, reset: 0)
    let drainFresh = m.reg("drain_fresh", width: 1)

    let lastGroup = m.wire("last_group", group.eq(.const(g - 1, width: gw)))
    // A group may be overwritten once the previous vector's result for it has left.
    let groupFree = m.wire("group_free", ~drainActive | group.lt(drainGroup))
    let issue = m.wire("issue", evValid & evEvent & groupFree)
    let marker = evValid & ~evEvent
    // An end without an event starts the drain, which must be idle.
    let markerDone = m.wire("marker_done", marker & (~evLast | ~drainActive))
    let eventDone = m.wire("event_done", issue & lastGroup)
    let startDrain = m.wire("start_drain", evLast & (eventDone | markerDone))
    let inReady = m.wire("in_ready_int", ~evValid | eventDone | markerDone)
    let accept = m.wire("accept", inValid & inReady)

    m.next(evValid, accept | (evValid & ~(eventDone | markerDone)))
    m.next(evEvent, inEvent, enable: accept)
    m.next(evLast, inLast, enable: accept)
    m.next(evCount, inCount, enable: accept)
    // Word i*G + g holds the P weights of input i, group g; i < C_in, so i*G < depth.
    let rowAddr = m.wire("row_addr", fit(timesConst(inChannel, g), to: aw))
    m.next(weightAddr, mux(accept, rowAddr, weightAddr +% .const(1, width: aw)), enable: accept | issue)
    m.next(group, mux(lastGroup, .const(0, width: gw), group +% .const(1, width: gw)), enable: issue)
    m.next(vecFresh, mux(startDrain, .const(1, width: 1), mux(eventDone, .const(0, width: 1), vecFresh)))

    // Read every cycle: the word is used only in the cycle after its issue (by the weight
    // register, or by the add at G = 1 with spikes), so an enable would only hold it longer.
    // `issue` as the enable fanned out to all P x Ww read flip-flops and put the issue logic's
    // routing on the critical path of a one-group fc1 (docs/timing.md, session 10).
    let weightWord = m.readSync(weightMem, weightAddr, enable: .const(1, width: 1), name: "weight_q")

    // MARK: Accumulate: one cycle after the issue (two with a registered weight), P lanes
    // read, add and write back

    let s1Valid = m.reg("add_valid", width: 1, reset: 0)
    let s1Group = m.reg("add_group", width: gw)
    let s1Count = m.reg("add_count", width: wc)
    let s1Fresh = m.reg("add_fresh", width: 1)
    // With G >= 2 (or counts) the weight word is registered before the add: the block RAM's clock-to-out
    // no longer sits in series with the add (the critical path once the LIF banks are
    // pipelined, docs/timing.md). The vector's last event issues group g at t - (G-1-g) (t: its
    // last group) and writes it at the end of cycle t - (G-1-g) + 2, while the drain reads group
    // g at t + 1 + g at the earliest: after the write when G > 2; at G = 2 the drain waits a
    // cycle (`drain_hazard`). At G = 1 with spikes the add takes the read directly (it would
    // wait two); with counts the product's register costs a wait anyway, so both are built.
    let weightAdd: Expr
    var pending: Expr? = nil
    if registeredWeight {
        let s0Valid = m.reg("wq_valid", width: 1, reset: 0)
        let s0Group = m.reg("wq_group", width: gw)
        let s0Count = m.reg("wq_count", width: wc)
        let s0Fresh = m.reg("wq_fresh", width: 1)
        m.next(s0Valid, issue)
        m.next(s0Group, group, enable: issue)
        m.next(s0Count, evCount, enable: issue)
        m.next(s0Fresh, vecFresh, enable: issue)
        let wr = m.reg("weight_r", width: p * ww)
        m.next(wr, weightWord, enable: s0Valid)
        m.next(s1Valid, s0Valid)
        m.next(s1Group, s0Group, enable: s0Valid)
        m.next(s1Count, s0Count, enable: s0Valid)
        m.next(s1Fresh, s0Fresh, enable: s0Valid)
        weightAdd = wr
        pending = s0Valid & s0Group.eq(drainGroup)
    } else {
        m.next(s1Valid, issue)
        m.next(s1Group, group, enable: issue)
        m.next(s1Count, evCount, enable: issue)
        m.next(s1Fresh, vecFresh, enable: issue)
        weightAdd = weightWord
    }

    // The add stage: s1, or with a registered product the stage after it.
    var (addValid, addGroup, addFresh): (Expr, Expr, Expr) = (s1Valid, s1Group, s1Fresh)
    if registeredProduct {
        let pValid = m.reg("prod_valid", width: 1, reset: 0)
        let pGroup = m.reg("prod_group", width: gw)
        let pFresh = m.reg("prod_fresh", width: 1)
        m.next(pValid, s1Valid)
        m.next(pGroup, s1Group, enable: s1Valid)
        m.next(pFresh, s1Fresh, enable: s1Valid)
        pending = pending.map { $0 | (s1Valid & s1Group.eq(drainGroup)) }
        (addValid, addGroup, addFresh) = (pValid, pGroup, pFresh)
    }
    let biasAdd = m.read(biasMem, addGroup)
    let countSigned = s1Count.extend(to: wc + 1).asSigned()
    for lane in 0..<p {
        let weight = m.wire("w\(lane)", weightAdd.slice(lane * ww + ww - 1, lane * ww).asSigned())
        let old = m.read(accMem[lane], addGroup)
        let b = biasAdd.slice(lane * wb + wb - 1, lane * wb).asSigned().extend(to: wa)
        let base = m.wire("base\(lane)", mux(addFresh, b, old))
        var product: Expr
        if wc == 1 {
            product = mux(s1Count.bit(0), weight, .const(0, width: ww, signed: true))
        } else if pipeline.shiftAddProduct {
            // x in 0...3: two partial products and one carry chain, ww + 2 bits, exact.
            let once = mux(s1Count.bit(0), weight, .const(0, width: ww, signed: true))
            let twice = mux(s1Count.bit(1), weight.shiftLeft(1), .const(0, width: ww + 1, signed: true))
            product = once +& twice
        } else {
            product = countSigned * weight
        }
        if registeredProduct {
            let r = m.reg("prod_r\(lane)", width: product.width, signed: true)
            m.next(r, product, enable: s1Valid)
            product = r
        }
        let sum = m.wire("sum\(lane)", base +& m.wire("prod\(lane)", product))
        // Saturate where the width was forced below the exact one; otherwise every partial
        // sum lies in the interval the width was sized for, so narrowing loses nothing.
        let next = w.saturates ? sum.saturate(to: wa) : sum.truncate(to: wa)
        m.write(accMem[lane], address: addGroup, data: m.wire("acc_next\(lane)", next), enable: addValid)
    }

    // MARK: Drain: G result beats per vector

    // The output register: the drained group's lane states (distributed RAM, read
    // asynchronously) and the bias select go straight into it, with no skid entry in front: the
    // consumer's ready (a LIF bank's `in_ready`, or a pool's) is itself a register, so the
    // drain's enable waits on nothing deeper.
    let outValid = m.reg("out_valid_r", width: 1, reset: 0)
    let outGroup = m.reg("out_group_r", width: gw)
    let outLast = m.reg("out_last_r", width: 1)
    let outCurrent = m.reg("out_current_r", width: p * wa)
    let outFree = m.wire("out_free", ~outValid | outReady)
    // Whether the drain can read a group whose last addition is still in flight. The vector's
    // last event issues group g at t_g <= t - (G-1-g) (t: its last group, the cycle the drain
    // starts; groups issue in order, at most one a cycle) and, the add pipeline never
    // stalling, writes it at the end of t_g + L (L: the add's stages after the issue, 1 plus
    // the weight and product registers), readable from t_g + L + 1 <= t + g - G + L + 2. The
    // drain reads group g at t + 1 + g at the earliest: after the write when G >= L + 1.
    // Earlier events wrote sooner, and the next vector issues group g only once the drain has
    // read it (`group_free`). So the check is built only below that bound
    // (`SpikeAccumulatorPipeline.drainWait > 0`: G = 1, and G = 2 or 3 with the registers).
    let drainValid: Expr
    if pipeline.drainWait > 0 {
        // The group's last addition is still being written (or is still in an earlier stage).
        let writing = addValid & addGroup.eq(drainGroup)
        let hazard = m.wire("drain_hazard", pending.map { writing | $0 } ?? writing)
        drainValid = m.wire("drain_valid", drainActive & ~hazard)
    } else {
        drainValid = drainActive
    }
    let drainLast = m.wire("drain_last", drainGroup.eq(.const(g - 1, width: gw)))
    let drainLoad = m.wire("drain_load", drainValid & outFree)
    let biasDrain = m.read(biasMem, drainGroup)
    var results: [Expr] = []
    for lane in 0..<p {
        let b = biasDrain.slice(lane * wb + wb - 1, lane * wb).asSigned().extend(to: wa)
        results.append(m.wire("result\(lane)", mux(drainFresh, b, m.read(accMem[lane], drainGroup))))
    }
    // Lane p at bits [p*Wa +: Wa], the layout of the LIF bank's in_current. The data registers
    // load whenever the output is free, valid or not (out_valid says which): their enable, which
    // fans out to P x Wa flip-flops, is then one gate from two registers, not the drain's hazard
    // check behind it (the critical path of a one-group fc1 once its product left the DSP,
    // docs/timing.md, session 10). Outputs are undefined while out_valid is low.
    m.next(outValid, drainValid, enable: outFree)
    m.next(outGroup, drainGroup, enable: outFree)
    m.next(outLast, drainLast, enable: outFree)
    m.next(outCurrent, cat(results.reversed().map { $0.asUnsigned() }), enable: outFree)
    m.next(drainGroup, mux(drainLast, .const(0, width: gw), drainGroup +% .const(1, width: gw)), enable: drainLoad)
    m.next(drainActive, mux(startDrain, .const(1, width: 1), mux(drainLoad & drainLast, .const(0, width: 1), drainActive)))
    // An empty vector drains the bias.
    m.next(drainFresh, markerDone & vecFresh, enable: startDrain)

    m.output("in_ready", inReady)
    m.output("out_valid", outValid)
    m.output("out_group", outGroup)
    m.output("out_last", outLast)
    m.output("out_current", outCurrent)
    return m
}

/// Signed lane values packed into one word, lane 0 in the low bits.
fileprivate func packLanes(_ values: [Int], width: Int) -> Bits {
    let total = values.count * width
    var words = [UInt64](repeating: 0, count: (total + 63) / 64)
    for (lane, v) in values.enumerated() {
        let pattern = Bits(width: width, truncating: v)
        for b in 0..<width where pattern.bit(b) {
            let pos = lane * width + b
            words[pos / 64] |= UInt64(1) << UInt64(pos % 64)
        }
    }
    return Bits(width: max(total, 1), truncating: words)
}

/// Zero-extends or narrows an unsigned value to `width` bits; callers narrow only values
/// proven to fit.
fileprivate func fit(_ x: Expr, to width: Int) -> Expr {
    x.width <= width ? x.extend(to: width) : x.truncate(to: width)
}
