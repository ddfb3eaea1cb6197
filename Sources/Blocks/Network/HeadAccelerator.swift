import HDL

/// The classification head (docs/arithmetic.md §8): `S[c] = sum over every token and time step
/// of the count of channel c`, then `z[k] = N*T*b[k] + sum_c W[k][c] * S[c]` on class `k`'s
/// weight grid. The module outputs the integers `z[k]`; the tools turn them into logits.
public struct HeadConfig: Hashable, Sendable {
    public var channels: Int
    /// Counts per input beat, `K`.
    public var lanes: Int
    /// The largest input count.
    public var maxInputCount: Int
    public var tokens: Int
    public var timeSteps: Int
    /// `[classes][C]`, on each class's grid.
    public var weights: [[Int]]
    public var bias: [Int]
    public var name: String

    public init(channels: Int, lanes: Int, maxInputCount: Int, tokens: Int, timeSteps: Int, weights: [[Int]], bias: [Int],
                name: String = "head") {
        (self.channels, self.lanes, self.maxInputCount, self.tokens, self.timeSteps) = (channels, lanes, maxInputCount, tokens, timeSteps)
        (self.weights, self.bias, self.name) = (weights, bias, name)
    }

    public var classes: Int { weights.count }
    /// Beats per input vector, `B`.
    public var beats: Int { (channels + lanes - 1) / lanes }
    public var vectorsPerImage: Int { tokens * timeSteps }
    public var countWidth: Int { Interval(0, maxInputCount).unsignedWidth }
    public var inputFormat: CountStreamFormat {
        CountStreamFormat(channels: channels, lanes: lanes, countWidth: countWidth, timeSteps: timeSteps)
    }
    /// `S[c]` lies in `0 ... m*N*T`.
    public func sumRange() throws -> Interval {
        Interval(0, try Interval.point(maxInputCount).multiplying(Interval.point(vectorsPerImage)).hi)
    }

    /// The range of every partial sum `N*T*b[k] + sum_{c' <= c} W[k][c'] S[c']`, of every
    /// product and of every `N*T*b[k]`: the accumulator's and `z`'s range.
    public func accumulatorRange() throws -> Interval {
        let s = try sumRange()
        var all: Interval? = nil
        for (k, row) in weights.enumerated() {
            let nb = try Interval.point(bias[k]).multiplying(Interval.point(vectorsPerImage))
            var neg = Interval.point(0), pos = Interval.point(0)
            for w in row {
                let p = try Interval.point(w).multiplying(s)
                neg = try neg.adding(Interval.point(min(p.lo, 0)))
                pos = try pos.adding(Interval.point(max(p.hi, 0)))
                all = all.map { $0.union(p) } ?? p
            }
            let z = Interval(try nb.adding(neg).lo, try nb.adding(pos).hi)
            all = (all.map { $0.union(z) } ?? z).union(nb)
        }
        return all ?? Interval.point(0)
    }

    public var weightRange: Interval {
        let ws = weights.flatMap { $0 }
        return Interval(min(ws.min() ?? 0, 0), max(ws.max() ?? 0, 0))
    }

    /// Cycles from the image's last input beat to the last `z`, with `m_axis` always ready:
    /// `classes * (C + 4) + 2`.
    public var computeCycles: Int { classes * (channels + 4) + 2 }

    public func validate() throws {
        guard channels >= 1, classes >= 1 else { throw BlockError("the head needs at least one channel and one class") }
        guard (1...channels).contains(lanes) else { throw BlockError("head lanes is \(lanes); choose 1...\(channels) counts per beat") }
        guard weights.allSatisfy({ $0.count == channels }), bias.count == classes else {
            throw BlockError("head weights must be \(classes) x \(channels) and the bias \(classes) values")
        }
        guard (1...255).contains(maxInputCount) else { throw BlockError("head maxInputCount is \(maxInputCount); choose 1...255") }
        guard tokens >= 1, (1...64).contains(timeSteps) else { throw BlockError("head tokens and timeSteps must be positive") }
        guard try accumulatorRange().signedWidth <= 62 else {
            throw BlockError("the head's sums need more than 62 bits; lower the weight bits or the tokens")
        }
    }
}

/// Builds the head. It takes one image's `N*T` count vectors, adds every count into `S[c]` (a
/// RAM of `B` words of `K` sums, read-modify-write with the previous write forwarded), and then,
/// with `s_axis_tready` low, computes `z[k]` one class after another with one multiplier
/// (`C` multiply-accumulates per class) and emits it on `m_axis`, one class per beat.
public func makeHead(_ c: HeadConfig) throws -> Module {
    try c.validate()
    let C = c.channels, K = c.lanes, B = c.beats, NT = c.vectorsPerImage, T = c.timeSteps
    let cw = c.countWidth, sw = try c.sumRange().unsignedWidth
    let acc = try c.accumulatorRange(), aw = acc.signedWidth
    let wr = c.weightRange, ww = wr.signedWidth
    let bw = Memory.addressWidth(depth: B), vw = Interval(0, NT).unsignedWidth
    let kw = Memory.addressWidth(depth: c.classes), lw = Memory.addressWidth(depth: K)
    let m = Module("\(c.name)_c\(C)_k\(K)_n\(c.tokens)_t\(T)_o\(c.classes)", doc: """
        Classification head (docs/arithmetic.md §8): S[c] = sum over the N*T = \(NT) vectors of an image of the count of
        channel c (\(sw) bits, 0...\(try c.sumRange().hi)), then z[k] = N*T*b[k] + sum_c W[k][c] * S[c] for the \(c.classes) classes.
        Input stream s_axis (one vector per token and time step; tokens in order, the T = \(T) time steps of a token innermost;
        a vector is \(B) beat(s) of \(K) counts of \(cw) bit(s), counts 0...\(c.maxInputCount); N = \(c.tokens) tokens per image):
          s_axis_tdata  [\(K * cw - 1):0]  count of channel beat*\(K) + j at bits [j*\(cw) +: \(cw)]
          s_axis_tlast  last beat of a vector
          s_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        s_axis_error goes high (sticky) if tlast or tuser disagree with the beat count.
        Output stream m_axis: after the image's last beat, \(c.classes) beats, z[0] first:
          m_axis_tdata  [\(aw - 1):0]  z[k], signed (range \(acc), the accumulator's proven range)
          m_axis_tlast  on z[\(c.classes - 1)]
        Timing: s_axis_tready is low from the image's last beat until z[\(c.classes - 1)] has left; with m_axis always ready
        that is \(c.computeCycles) cycles (one multiply-accumulate per cycle, \(C) per class).
        Memory: S sums \(B) x \(K * sw) bits (RAM), weights \(c.classes * C) x \(ww) bits (ROM), N*T*b \(c.classes) x \(aw) bits (ROM).
        \(streamBlockConventions(memories: true))
        """)
    m.parameter("channels", C)
    m.parameter("lanes", K)
    m.parameter("classes", c.classes)
    m.parameter("vectorsPerImage", NT)

    let sValid = m.input("s_axis_tvalid", width: 1)
    let sData = m.input("s_axis_tdata", width: K * cw)
    let sLast = m.input("s_axis_tlast", width: 1)
    let sUser = m.input("s_axis_tuser", width: 2)
    let mReady = m.input("m_axis_tready", width: 1)

    // States: 0 accumulate, 1 settle (the last write lands), 2 compute, 3 emit.
    let state = m.reg("state", width: 2, reset: 0)
    let isAcc = m.wire("state_accumulate", state.eq(.const(0, width: 2)))
    let isSettle = state.eq(.const(1, width: 2))
    let isCompute = m.wire("state_compute", state.eq(.const(2, width: 2)))
    let isEmit = m.wire("state_emit", state.eq(.const(3, width: 2)))

    // MARK: Accumulate S

    let sReady = m.wire("s_ready", isAcc)
    let sFire = m.wire("s_fire", sValid & sReady)
    let inBeat = m.reg("in_beat", width: bw, reset: 0)
    let vec = m.reg("in_vector", width: vw, reset: 0)
    let lastBeat = m.wire("in_last_beat", inBeat.eq(.const(B - 1, width: bw)))
    let lastVector = m.wire("in_last_vector", vec.eq(.const(NT - 1, width: vw)))
    let imageDone = m.wire("image_done", sFire & lastBeat & lastVector)
    m.next(inBeat, mux(lastBeat, .const(0, width: bw), inBeat +% .const(1, width: bw)), enable: sFire)
    m.next(vec, mux(lastVector, .const(0, width: vw), vec +% .const(1, width: vw)), enable: sFire & lastBeat)
    let error = streamProtocolCheck(m, "in", fire: sFire, last: sLast, user: sUser, beats: B, timeSteps: T)

    let sums = m.memory("sums", width: K * sw, depth: B)
    let computeWord = m.reg("mac_word", width: bw, reset: 0)
    let readAddr = m.wire("sums_addr", mux(isAcc, inBeat, computeWord))
    let macIssue = m.wire("mac_issue", isCompute)
    let old = m.readSync(sums, readAddr, enable: sFire | macIssue, name: "sums_q")
    let pValid = m.reg("upd_valid", width: 1, reset: 0)
    let pAddr = m.reg("upd_addr", width: bw)
    let pCounts = m.reg("upd_counts", width: K * cw)
    let pFirst = m.reg("upd_first", width: 1)
    m.next(pValid, sFire)
    m.next(pAddr, inBeat, enable: sFire)
    m.next(pCounts, sData, enable: sFire)
    m.next(pFirst, vec.eq(.const(0, width: vw)), enable: sFire)
    // The write of the beat before lands at the end of this cycle: the read just returned does
    // not hold it yet, so it is forwarded.
    let fValid = m.reg("fwd_valid", width: 1, reset: 0)
    let fAddr = m.reg("fwd_addr", width: bw)
    let fData = m.reg("fwd_data", width: K * sw)
    let base = m.wire("upd_base", mux(fValid & fAddr.eq(pAddr), fData, old))
    var lanes: [Expr] = []
    for j in 0..<K {
        let prev = mux(pFirst, .const(0, width: sw), base.slice(j * sw + sw - 1, j * sw))
        // S never exceeds m*N*T, which fits sw bits (sumRange), so the add cannot wrap.
        lanes.append(prev +% pCounts.slice(j * cw + cw - 1, j * cw).extend(to: sw))
    }
    let updated = m.wire("upd_data", cat(lanes.reversed()))
    m.write(sums, address: pAddr, data: updated, enable: pValid)
    m.next(fValid, pValid)
    m.next(fAddr, pAddr, enable: pValid)
    m.next(fData, updated, enable: pValid)

    // MARK: Compute z[k], one multiply-accumulate per cycle

    let cls = m.reg("mac_class", width: kw, reset: 0)
    let lane = m.reg("mac_lane", width: lw, reset: 0)
    let chan = m.reg("mac_channel", width: Interval(0, C).unsignedWidth, reset: 0)
    let waddr = m.reg("mac_weight_addr", width: Memory.addressWidth(depth: c.classes * C), reset: 0)
    let lastChan = m.wire("mac_last_channel", chan.eq(.const(C - 1, width: chan.width)))
    let lastLane = lane.eq(.const(K - 1, width: lw))
    let wordStep = m.wire("mac_word_step", lastLane | lastChan)
    m.next(lane, mux(wordStep, .const(0, width: lw), lane +% .const(1, width: lw)), enable: macIssue)
    m.next(computeWord, mux(lastChan, .const(0, width: bw), computeWord +% .const(1, width: bw)), enable: macIssue & wordStep)
    m.next(chan, mux(lastChan, .const(0, width: chan.width), chan +% .const(1, width: chan.width)), enable: macIssue)
    m.next(waddr, mux(lastChan & cls.eq(.const(c.classes - 1, width: kw)), .const(0, width: waddr.width),
                      waddr +% .const(1, width: waddr.width)), enable: macIssue)
    let weightWords = c.weights.flatMap { $0 }.map { Bits(width: ww, truncating: $0) }
    let wMem = m.memory("weights", width: ww, depth: c.classes * C, signed: true, initial: weightWords)
    let bMem = m.memory("class_bias", width: aw, depth: c.classes, signed: true,
                        initial: c.bias.map { Bits(width: aw, truncating: $0 * NT) })
    let wq = m.readSync(wMem, waddr, enable: macIssue, name: "weight_q")
    let bq = m.readSync(bMem, cls, enable: macIssue, name: "class_bias_q")
    let qValid = m.reg("mac_valid", width: 1, reset: 0)
    let qLane = m.reg("mac_lane_q", width: lw)
    let qFirst = m.reg("mac_first", width: 1)
    let qLast = m.reg("mac_last", width: 1)
    m.next(qValid, macIssue)
    m.next(qLane, lane, enable: macIssue)
    m.next(qFirst, chan.eq(.const(0, width: chan.width)), enable: macIssue)
    m.next(qLast, lastChan, enable: macIssue)
    // The lane's sum: a balanced tree on qLane's bits (K can be 256), not a chain of compares.
    let slices = (0..<K).map { j in old.slice(j * sw + sw - 1, j * sw) }
    let sValue = K == 1 ? m.wire("mac_sum", slices[0]) : SpikeStreamParts.select(m, "mac_sum", index: qLane, items: slices, fallback: slices[0])
    let product = m.wire("mac_product", wq * sValue.extend(to: sw + 1).asSigned())
    let accReg = m.reg("mac_acc", width: aw, signed: true)
    // Every partial sum, product and N*T*b lies in the accumulator's range (accumulatorRange).
    func fitAcc(_ e: Expr) -> Expr { e.width <= aw ? e.extend(to: aw) : e.truncate(to: aw).asSigned() }
    // The product is registered before the add (the RAM reads, the multiplier and the
    // accumulator's carry chain would otherwise be one path): one more cycle per class.
    let xValid = m.reg("mac_product_valid", width: 1, reset: 0)
    let xFirst = m.reg("mac_product_first", width: 1)
    let xLast = m.reg("mac_product_last", width: 1)
    let xBias = m.reg("mac_product_bias", width: aw, signed: true)
    let xProduct = m.reg("mac_product_q", width: product.width, signed: product.isSigned)
    m.next(xValid, qValid)
    m.next(xFirst, qFirst, enable: qValid)
    m.next(xLast, qLast, enable: qValid)
    m.next(xBias, bq, enable: qValid)
    m.next(xProduct, product, enable: qValid)
    let accNext = m.wire("mac_acc_next", mux(xFirst, xBias, accReg) +% fitAcc(xProduct))
    m.next(accReg, accNext, enable: xValid)
    // The last channel's product completes z[k]: stop issuing and emit it.
    let zDone = m.wire("z_done", xValid & xLast)

    let outValid = m.reg("out_valid", width: 1, reset: 0)
    let outLast = m.reg("out_last", width: 1)
    let outFire = m.wire("out_fire", outValid & mReady)
    let lastClass = cls.eq(.const(c.classes - 1, width: kw))
    m.next(outValid, mux(zDone, .const(1, width: 1), outValid & ~mReady))
    m.next(outLast, lastClass, enable: zDone)
    m.next(cls, mux(lastClass, .const(0, width: kw), cls +% .const(1, width: kw)), enable: outFire)
    // After z[k] leaves: the next class, or the next image.
    let afterEmit = m.wire("after_emit", isEmit & outFire)
    m.next(state, mux(isAcc, mux(imageDone, .const(1, width: 2), state),
                      mux(isSettle, .const(2, width: 2),
                          mux(isCompute, mux(lastChan, .const(3, width: 2), state),
                              mux(afterEmit, mux(lastClass, .const(0, width: 2), .const(2, width: 2)), state)))))

    m.output("s_axis_tready", sReady)
    m.output("s_axis_error", error)
    m.output("m_axis_tvalid", outValid)
    m.output("m_axis_tdata", accReg)
    m.output("m_axis_tlast", outLast)
    return m
}
