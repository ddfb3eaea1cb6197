import HDL

/// The ports of a current max pool built inside a module.
struct CurrentPoolPorts {
    let inReady: Expr
    /// A conv token's last beat was written into the pool buffer.
    let inTokenDone: Expr
    let outValid: Expr
    let outGroup: Expr
    let outFirst: Expr
    let outCurrent: Expr
}

/// `MaxPool2d(3, 2, 1)` (floor mode, `-infinity` padding: a border window is the max over the
/// taps that exist) on a stream of current beats (SPEC 3.7), built into `m`.
///
/// Input: per conv token (row-major over `geometry.height x geometry.width`) and time step,
/// `groups` beats of `lanes` signed currents of `laneWidth` bits (the accumulator's
/// `out_current` layout), in order. They are written into the circular pool buffer (RAM
/// `<prefix>_buffer`, `slots x T x G` words). Output: per pooled token and time step, `groups`
/// beats, each the lane-wise max over the (up to) 9 taps of its window, read one tap per cycle
/// (9 cycles per beat). `outFirst` marks time step 0. At most `tokensInFlight` pooled tokens
/// are gathered ahead of `outTokenDone` (a pooled token has left the module).
func buildCurrentPool(_ m: Module, _ prefix: String, geometry pg: WindowGeometry, timeSteps T: Int, groups G: Int,
                      laneWidth wa: Int, lanes P: Int, tokensInFlight F: Int, inValid: Expr, inCurrent: Expr,
                      outReady: Expr, outTokenDone: Expr) -> CurrentPoolPorts {
    let D = pg.slots, TG = T * G
    let mem = m.memory("\(prefix)_buffer", width: P * wa, depth: D * TG)
    let writer = LineWriter(m, "\(prefix)_wr", geometry: pg, beatsPerToken: TG, addressWidth: mem.addressWidth)
    let walker = WindowWalker(m, "\(prefix)_win", geometry: pg, scale: TG)
    let pImage = m.reg("\(prefix)_gather_image", width: 1, reset: 0)
    let pWait = m.reg("\(prefix)_gather_wait", width: 1, reset: 0)
    let sameImage = m.wire("\(prefix)_same_image", writer.image.eq(pImage))
    let inReady = m.wire("\(prefix)_in_ready", sameImage & (pWait | ult(writer.token, walker.limit)))
    let inFire = m.wire("\(prefix)_in_fire", inValid & inReady)
    m.write(mem, address: writer.address, data: inCurrent, enable: inFire)
    let inTokenDone = m.wire("\(prefix)_in_token_done", inFire & writer.lastBeatOfToken)
    writer.advance(fire: inFire)

    let inflight = m.reg("\(prefix)_inflight", width: uwidth(F), reset: 0)
    let active = m.reg("\(prefix)_active", width: 1, reset: 0)
    let windowReady = m.wire("\(prefix)_window_ready", walker.windowWritten(writer, writerAhead: writer.image.ne(pImage)))
    let start = m.wire("\(prefix)_start", ~active & ~pWait & ult(inflight, ucon(F, inflight.width)) & windowReady)
    let tg = m.reg("\(prefix)_tg", width: uwidth(TG - 1), reset: 0)       // t*G + g
    let gGroup = m.reg("\(prefix)_group", width: uwidth(G - 1), reset: 0)
    let gT = m.reg("\(prefix)_t", width: uwidth(T - 1), reset: 0)
    let dy = m.reg("\(prefix)_dy", width: 2, reset: 0)
    let dx = m.reg("\(prefix)_dx", width: 2, reset: 0)
    let tapOff = m.reg("\(prefix)_tap_offset", width: walker.slotWidth, reset: 0)

    let s2Valid = m.reg("\(prefix)_s2_valid", width: 1, reset: 0)
    let s2Inside = m.reg("\(prefix)_s2_inside", width: 1, reset: 0)
    let s2FirstTap = m.reg("\(prefix)_s2_first_tap", width: 1, reset: 0)
    let s2LastTap = m.reg("\(prefix)_s2_last_tap", width: 1, reset: 0)
    let s2Group = m.reg("\(prefix)_s2_group", width: gGroup.width, reset: 0)
    let s2First = m.reg("\(prefix)_s2_first", width: 1, reset: 0)
    let outValid = m.reg("\(prefix)_out_valid", width: 1, reset: 0)
    let outFree = m.wire("\(prefix)_out_free", ~outValid | outReady)
    let s2Adv = m.wire("\(prefix)_s2_advance", s2Valid & (~s2LastTap | outFree))
    let load = m.wire("\(prefix)_load", active & (~s2Valid | s2Adv))

    let slot = walker.tapSlot(offset: tapOff)
    let addr = m.wire("\(prefix)_addr", fitTo(slot +& tg, mem.addressWidth))
    let word = m.readSync(mem, addr, enable: load, name: "\(prefix)_tap_q")
    let lastDx = dx.eq(ucon(2, 2)), lastDy = dy.eq(ucon(2, 2))
    let lastTap = lastDx & lastDy
    m.next(s2Valid, load | (s2Valid & ~s2Adv))
    m.next(s2Inside, walker.tapInside(dy: dy, dx: dx), enable: load)
    m.next(s2FirstTap, dx.eq(ucon(0, 2)) & dy.eq(ucon(0, 2)), enable: load)
    m.next(s2LastTap, lastTap, enable: load)
    m.next(s2Group, gGroup, enable: load)
    m.next(s2First, gT.eq(ucon(0, gT.width)), enable: load)

    let beatDone = m.wire("\(prefix)_beat_done", load & lastTap)
    let lastTG = tg.eq(ucon(TG - 1, tg.width))
    let outputDone = m.wire("\(prefix)_output_done", beatDone & lastTG)
    m.next(dx, wrapIncrement(dx, last: 2), enable: load)
    m.next(dy, wrapIncrement(dy, last: 2), enable: load & lastDx)
    m.next(tapOff, mux(lastTap, ucon(0, walker.slotWidth), addMod(tapOff, walker.tapStep(lastDx: lastDx), walker.modulus)), enable: load)
    m.next(tg, wrapIncrement(tg, last: TG - 1), enable: beatDone)
    m.next(gGroup, wrapIncrement(gGroup, last: G - 1), enable: beatDone)
    m.next(gT, wrapIncrement(gT, last: T - 1), enable: beatDone & gGroup.eq(ucon(G - 1, gGroup.width)))
    m.next(active, mux(start, ucon(1, 1), mux(outputDone, ucon(0, 1), active)))
    walker.advance(enable: outputDone)
    m.next(pWait, mux(outputDone & walker.lastOutput, ucon(1, 1), mux(pWait & ~sameImage, ucon(0, 1), pWait)))
    m.next(pImage, ~pImage, enable: pWait & ~sameImage)
    m.next(inflight, mux(start & ~outTokenDone, inflight +% ucon(1, inflight.width),
                         mux(outTokenDone & ~start, inflight -% ucon(1, inflight.width), inflight)))

    // Lane-wise running max; a tap outside the image is -infinity (the most negative value).
    let minValue = Expr.const(-(1 << (wa - 1)), width: wa, signed: true)
    var cands: [Expr] = []
    let run = m.reg("\(prefix)_run_max", width: P * wa, reset: 0)
    for j in 0..<P {
        let v = mux(s2Inside, word.slice(j * wa + wa - 1, j * wa).asSigned(), minValue)
        let r = run.slice(j * wa + wa - 1, j * wa).asSigned()
        let cand = mux(s2FirstTap, v, mux(r.gt(v), r, v))
        cands.append(m.wire("\(prefix)_max\(j)", cand))
    }
    let packed = cat(cands.reversed().map { $0.asUnsigned() })
    m.next(run, packed, enable: s2Adv)
    let emit = m.wire("\(prefix)_emit", s2Adv & s2LastTap)
    m.next(outValid, emit | (outValid & ~outReady))
    let outCurrent = m.reg("\(prefix)_out_current", width: P * wa, reset: 0)
    let outGroup = m.reg("\(prefix)_out_group", width: gGroup.width, reset: 0)
    let outFirst = m.reg("\(prefix)_out_first", width: 1, reset: 0)
    m.next(outCurrent, packed, enable: emit)
    m.next(outGroup, s2Group, enable: emit)
    m.next(outFirst, s2First, enable: emit)
    return CurrentPoolPorts(inReady: inReady, inTokenDone: inTokenDone, outValid: outValid, outGroup: outGroup,
                            outFirst: outFirst, outCurrent: outCurrent)
}
