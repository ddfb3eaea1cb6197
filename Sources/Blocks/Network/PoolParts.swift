import HDL

/// The ports of a current max pool built inside a module.
struct CurrentPoolPorts {
    let inReady: Expr
    /// A conv token's last beat was taken by the pool.
    let inTokenDone: Expr
    let outValid: Expr
    let outGroup: Expr
    let outFirst: Expr
    let outCurrent: Expr
}

/// `MaxPool2d(3, 2, 1)` on a stream of current beats, separable and streaming: no window is
/// ever re-read. Built into `m`; the same ports as `CurrentPoolPorts` describes.
///
/// Conv beats arrive in order (conv token `(cy, cx)` row-major over `convHeight x convWidth`,
/// then `T x G` beats, `t` outer). Pooled column `px` covers `cx in {2px-1, 2px, 2px+1}`, pooled
/// row `py` covers `cy in {2py-1, 2py, 2py+1}` (clipped to the image: `-infinity` padding).
/// - Horizontal: a buffer `X` of `T x G` words. At an even `cx = 2px` the beat is maxed with the
///   carry `X` (column `2px-1`, when `px > 0`) and held in `X`; at an odd `cx = 2px+1` the held
///   value maxed with the beat is the horizontal max `H(cy, px)`, and the beat becomes the carry
///   for `px+1`. At the last column an even `cx` yields `H` at once.
/// - Vertical: the same on rows with a row buffer `Y` of `PW x T x G` words (RAM
///   `<prefix>_rows`, synchronous read, one write per `H`, a same-address write forwarded).
///   An odd `cy` (or the last row) yields the pooled beat.
/// One conv beat per cycle; a pooled beat leaves when its conv beat arrives. At most
/// `tokensInFlight` pooled tokens are started (first beat out of the pool) and not yet counted
/// by `outTokenDone`.
func buildStreamingPool(_ m: Module, _ prefix: String, convHeight CH: Int, convWidth CW: Int, timeSteps T: Int, groups G: Int,
                        laneWidth wa: Int, lanes P: Int, tokensInFlight F: Int, inValid: Expr, inCurrent: Expr,
                        outReady: Expr, outTokenDone: Expr) -> CurrentPoolPorts {
    let TG = T * G, PW = (CW - 1) / 2 + 1
    let gw = uwidth(G - 1)
    let xMem = m.memory("\(prefix)_cols", width: P * wa, depth: TG)
    let yMem = m.memory("\(prefix)_rows", width: P * wa, depth: PW * TG)

    func lanes(_ v: Expr) -> [Expr] { (0..<P).map { v.slice($0 * wa + wa - 1, $0 * wa).asSigned() } }
    func pack(_ l: [Expr]) -> Expr { cat(l.reversed().map { $0.asUnsigned() }) }
    func laneMax(_ a: Expr, _ b: Expr, _ name: String) -> Expr {
        let (x, y) = (lanes(a), lanes(b))
        return m.wire(name, pack((0..<P).map { mux(x[$0].gt(y[$0]), x[$0], y[$0]) }))
    }

    // Input position.
    let tg = m.reg("\(prefix)_in_tg", width: uwidth(TG - 1), reset: 0)
    let ig = m.reg("\(prefix)_in_group", width: gw, reset: 0)
    let cx = m.reg("\(prefix)_in_cx", width: uwidth(CW - 1), reset: 0)
    let cy = m.reg("\(prefix)_in_cy", width: uwidth(CH - 1), reset: 0)
    let lastTG = tg.eq(ucon(TG - 1, tg.width))
    let cxEven = ~cx.bit(0), lastCol = cx.eq(ucon(CW - 1, cx.width)), lastRowIn = cy.eq(ucon(CH - 1, cy.width))
    let producesH = m.wire("\(prefix)_in_makes_h", ~cxEven | lastCol)

    // Stage 1: one horizontal max, its row buffer word read.
    let s1Valid = m.reg("\(prefix)_s1_valid", width: 1, reset: 0)
    let s1H = m.reg("\(prefix)_s1_h", width: P * wa, reset: 0)
    let s1Even = m.reg("\(prefix)_s1_row_even", width: 1, reset: 0)
    let s1Carry = m.reg("\(prefix)_s1_row_carry", width: 1, reset: 0)
    let s1LastRow = m.reg("\(prefix)_s1_last_row", width: 1, reset: 0)
    let s1Group = m.reg("\(prefix)_s1_group", width: gw, reset: 0)
    let s1First = m.reg("\(prefix)_s1_first", width: 1, reset: 0)
    let s1TokenStart = m.reg("\(prefix)_s1_token_start", width: 1, reset: 0)
    let yw = yMem.addressWidth
    let hCount = m.reg("\(prefix)_h_addr", width: yw, reset: 0)   // px*TG + tg within the row
    let s1Addr = m.reg("\(prefix)_s1_addr", width: yw, reset: 0)
    let outValid = m.reg("\(prefix)_out_valid", width: 1, reset: 0)
    let outFree = m.wire("\(prefix)_out_free", ~outValid | outReady)
    let inflight = m.reg("\(prefix)_inflight", width: uwidth(F), reset: 0)
    let s1Emits = m.wire("\(prefix)_s1_emits", ~s1Even | s1LastRow)
    let limitOK = ~s1TokenStart | ult(inflight, ucon(F, inflight.width))
    let s1Adv = m.wire("\(prefix)_s1_advance", s1Valid & (~s1Emits | (outFree & limitOK)))
    let s1Free = ~s1Valid | s1Adv
    let inReady = m.wire("\(prefix)_in_ready", ~producesH | s1Free)
    let accept = m.wire("\(prefix)_in_fire", inValid & inReady)
    let s1Load = m.wire("\(prefix)_s1_load", accept & producesH)

    // Horizontal max.
    let xr = m.read(xMem, tg)
    let hasCarry = cx.ne(ucon(0, cx.width))
    let hMax = laneMax(xr, inCurrent, "\(prefix)_h_max")
    let hVal = m.wire("\(prefix)_h", mux(cxEven & ~hasCarry, inCurrent, hMax))
    m.write(xMem, address: tg, data: mux(cxEven, hVal, inCurrent), enable: accept & ~(cxEven & lastCol))
    m.next(tg, wrapIncrement(tg, last: TG - 1), enable: accept)
    m.next(ig, wrapIncrement(ig, last: G - 1), enable: accept)
    m.next(cx, wrapIncrement(cx, last: CW - 1), enable: accept & lastTG)
    m.next(cy, wrapIncrement(cy, last: CH - 1), enable: accept & lastTG & lastCol)
    let lastH = hCount.eq(ucon(PW * TG - 1, yw))
    m.next(hCount, mux(lastH, ucon(0, yw), hCount +% ucon(1, yw)), enable: s1Load)

    // Vertical max.
    let yq = m.readSync(yMem, hCount, enable: s1Load, name: "\(prefix)_rows_q")
    let fwdHit = m.reg("\(prefix)_fwd_hit", width: 1, reset: 0)
    let fwdData = m.reg("\(prefix)_fwd_data", width: P * wa, reset: 0)
    let yr = m.wire("\(prefix)_row_word", mux(fwdHit, fwdData, yq))
    let vMax = laneMax(yr, s1H, "\(prefix)_v_max")
    let vVal = m.wire("\(prefix)_v", mux(s1Even & ~s1Carry, s1H, vMax))
    let yData = m.wire("\(prefix)_row_write", mux(s1Even, vVal, s1H))
    let yWrite = m.wire("\(prefix)_row_write_en", s1Adv & ~(s1Even & s1LastRow))
    m.write(yMem, address: s1Addr, data: yData, enable: yWrite)
    m.next(fwdHit, yWrite & s1Addr.eq(hCount), enable: s1Load)
    m.next(fwdData, yData, enable: s1Load)

    m.next(s1Valid, s1Load | (s1Valid & ~s1Adv))
    m.next(s1H, hVal, enable: s1Load)
    m.next(s1Even, ~cy.bit(0), enable: s1Load)
    m.next(s1Carry, cy.ne(ucon(0, cy.width)), enable: s1Load)
    m.next(s1LastRow, lastRowIn, enable: s1Load)
    m.next(s1Group, ig, enable: s1Load)
    m.next(s1First, ult(tg, ucon(G, uwidth(G))), enable: s1Load)
    m.next(s1TokenStart, tg.eq(ucon(0, tg.width)), enable: s1Load)
    m.next(s1Addr, hCount, enable: s1Load)

    let emit = m.wire("\(prefix)_emit", s1Adv & s1Emits)
    let started = m.wire("\(prefix)_token_started", emit & s1TokenStart)
    m.next(inflight, mux(started & ~outTokenDone, inflight +% ucon(1, inflight.width),
                         mux(outTokenDone & ~started, inflight -% ucon(1, inflight.width), inflight)))
    m.next(outValid, emit | (outValid & ~outReady))
    let outCurrent = m.reg("\(prefix)_out_current", width: P * wa, reset: 0)
    let outGroup = m.reg("\(prefix)_out_group", width: gw, reset: 0)
    let outFirst = m.reg("\(prefix)_out_first", width: 1, reset: 0)
    m.next(outCurrent, vVal, enable: emit)
    m.next(outGroup, s1Group, enable: emit)
    m.next(outFirst, s1First, enable: emit)
    return CurrentPoolPorts(inReady: inReady, inTokenDone: m.wire("\(prefix)_in_token_done", accept & lastTG),
                            outValid: outValid, outGroup: outGroup, outFirst: outFirst, outCurrent: outCurrent)
}
