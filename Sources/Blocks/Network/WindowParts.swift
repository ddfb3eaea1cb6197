import HDL

/// The geometry of a `k x k` window (stride `s`, zero or `-infinity` padding `p`) walked over a
/// row-major image of `height x width` tokens kept in a circular line buffer. Shared by the
/// convolution on counts, the max pool on currents and the image stem; every flow-control
/// bound of those modules (and so their input-lookahead contracts) follows from it.
///
/// The buffer keeps `slots = (k-1)*width + k + 1` tokens: a window spans at most
/// `(k-1)*width + k` consecutive tokens, plus one token of slack so that the next token can be
/// written while the current window is read. Token `n` of an image lives in slot `n mod slots`.
/// The writer may write token `n` only while `n < start(j) + slots`, with `j` the output
/// position being gathered and `start(j) = (s*oy - p)*width + (s*ox - p)` the (unclamped, possibly
/// negative) token number of its window's top-left corner: then the slot it overwrites held
/// a token older than every token any later window reads. Output `j` is gathered once the
/// writer has written its last token `end(j)` (the bottom-right tap, clamped to the image).
public struct WindowGeometry: Hashable, Sendable {
    public var height: Int
    public var width: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int

    public init(height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        (self.height, self.width, self.kernel, self.stride, self.padding) = (height, width, kernel, stride, padding)
    }

    public var tokens: Int { height * width }
    public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    public var outTokens: Int { outHeight * outWidth }
    /// Tokens the circular line buffer holds.
    public var slots: Int { (kernel - 1) * width + kernel + 1 }

    /// `start(j)`: the token number of output `j`'s top-left tap (negative in the padding).
    public func start(_ j: Int) -> Int {
        let oy = j / outWidth, ox = j % outWidth
        return (stride * oy - padding) * width + stride * ox - padding
    }

    /// The last token output `j` reads: its bottom-right tap, clamped to the image.
    public func end(_ j: Int) -> Int {
        let oy = j / outWidth, ox = j % outWidth
        return min(height - 1, stride * oy - padding + kernel - 1) * width + min(width - 1, stride * ox - padding + kernel - 1)
    }

    /// The most input tokens of an image the writer can have touched (accepted at least one beat
    /// of) while the gatherer has not finished output `j` (`j == outTokens`: finished them all).
    public func tokensWritable(whileGathering j: Int) -> Int {
        j >= outTokens ? tokens : min(tokens, max(0, start(j) + slots))
    }
}

/// Width-matching helpers: both sides zero-extended to the wider one.
func widen(_ a: Expr, _ b: Expr) -> (Expr, Expr) {
    let w = max(a.width, b.width)
    return (a.extend(to: w), b.extend(to: w))
}
func ult(_ a: Expr, _ b: Expr) -> Expr { let (x, y) = widen(a, b); return x.lt(y) }
func ugt(_ a: Expr, _ b: Expr) -> Expr { let (x, y) = widen(a, b); return x.gt(y) }
func ueq(_ a: Expr, _ b: Expr) -> Expr { let (x, y) = widen(a, b); return x.eq(y) }
func ucon(_ v: Int, _ w: Int) -> Expr { .const(v, width: w) }
/// `min(a, c)` for a constant `c >= 0`.
func uminConst(_ a: Expr, _ c: Int) -> Expr {
    let w = max(a.width, uwidth(c)), x = a.extend(to: w)
    return mux(x.gt(ucon(c, w)), ucon(c, w), x)
}
func uwidth(_ maxValue: Int) -> Int { Interval(0, max(0, maxValue)).unsignedWidth }

/// `r + 1`, back to 0 after `last`.
func wrapIncrement(_ r: Expr, last: Int) -> Expr {
    mux(r.eq(ucon(last, r.width)), ucon(0, r.width), r +% ucon(1, r.width))
}

/// `(a + b) mod d` for `a, b < d` (`b` an expression or a constant), in `a`'s width.
func addMod(_ a: Expr, _ b: Expr, _ d: Int) -> Expr {
    let w = a.width
    let sum = a.extend(to: w + 1) +% b.extend(to: w + 1)
    return mux(sum.ge(ucon(d, w + 1)), sum -% ucon(d, w + 1), sum).truncate(to: w)
}
func addMod(_ a: Expr, _ c: Int, _ d: Int) -> Expr {
    let c = ((c % d) + d) % d
    return c == 0 ? a : addMod(a, ucon(c, a.width), d)
}

/// Narrows an unsigned value proven to fit, or zero-extends it.
func fitTo(_ x: Expr, _ w: Int) -> Expr { x.width <= w ? x.extend(to: w) : x.truncate(to: w) }

/// The write side of a circular line buffer: counts beats, tokens and images.
/// `beatsPerToken` words per token, written at consecutive addresses.
final class LineWriter {
    let token: Expr      // n: the token being written (0..<tokens)
    let address: Expr    // linear word address, wraps at slots*beatsPerToken
    let image: Expr      // image parity
    let lastBeatOfToken: Expr
    /// The coordinates of `token`.
    let row: Expr, col: Expr
    private unowned let m: Module

    init(_ m: Module, _ prefix: String, geometry g: WindowGeometry, beatsPerToken: Int, addressWidth: Int) {
        self.m = m
        token = m.reg("\(prefix)_token", width: uwidth(g.tokens), reset: 0)
        address = m.reg("\(prefix)_addr", width: addressWidth, reset: 0)
        image = m.reg("\(prefix)_image", width: 1, reset: 0)
        row = m.reg("\(prefix)_row", width: uwidth(g.height - 1), reset: 0)
        col = m.reg("\(prefix)_col", width: uwidth(g.width - 1), reset: 0)
        let beat = beatsPerToken > 1 ? m.reg("\(prefix)_beat", width: uwidth(beatsPerToken - 1), reset: 0) : nil
        self.beat = beat
        self.beatsPerToken = beatsPerToken
        self.geometry = g
        lastBeatOfToken = m.wire("\(prefix)_token_done", beat.map { $0.eq(ucon(beatsPerToken - 1, $0.width)) } ?? .const(1, width: 1))
    }
    private let beat: Expr?
    private let beatsPerToken: Int
    private let geometry: WindowGeometry

    /// Advances on `fire` (one beat written).
    func advance(fire: Expr) {
        let g = geometry
        let lastToken = token.eq(ucon(g.tokens - 1, token.width))
        let imageDone = lastBeatOfToken & lastToken
        if let b = beat { m.next(b, wrapIncrement(b, last: beatsPerToken - 1), enable: fire) }
        m.next(token, wrapIncrement(token, last: g.tokens - 1), enable: fire & lastBeatOfToken)
        let lastCol = col.eq(ucon(g.width - 1, col.width))
        m.next(col, wrapIncrement(col, last: g.width - 1), enable: fire & lastBeatOfToken)
        m.next(row, wrapIncrement(row, last: g.height - 1), enable: fire & lastBeatOfToken & lastCol)
        let depth = g.slots * beatsPerToken
        m.next(address, mux(imageDone, ucon(0, address.width), wrapIncrement(address, last: depth - 1)), enable: fire)
        m.next(image, ~image, enable: fire & imageDone)
    }
}

/// The gather side's position: which output window is next, where its taps are, and the
/// writer's limit. Registers advance with `advance(enable:)`, wrapping to output 0 after the
/// last output of an image.
final class WindowWalker {
    let g: WindowGeometry
    let oy: Expr, ox: Expr
    /// `start(j) + slots` (always positive).
    let limit: Expr
    /// `start(j) mod slots`.
    let startSlot: Expr
    let rowBase: Expr, colBase: Expr   // s*oy, s*ox
    let lastOutput: Expr
    private let rowLimit: Expr, rowSlot: Expr
    private unowned let m: Module
    let slotWidth: Int

    /// Slot registers hold `slot * scale` (the first word address of the slot's token, with
    /// `scale` words per token), modulo `slots * scale`: addresses need no multiplier.
    let scale: Int
    var modulus: Int { g.slots * scale }

    init(_ m: Module, _ prefix: String, geometry g: WindowGeometry, scale: Int) {
        self.m = m
        self.g = g
        self.scale = scale
        precondition([1, 2, 4].contains(g.stride))
        let D = g.slots
        slotWidth = Memory.addressWidth(depth: D * scale)
        oy = m.reg("\(prefix)_oy", width: uwidth(g.outHeight - 1), reset: 0)
        ox = m.reg("\(prefix)_ox", width: uwidth(g.outWidth - 1), reset: 0)
        let lw = uwidth(g.tokens + D + g.stride * g.width + g.stride)
        let limit0 = D - g.padding * g.width - g.padding
        let slot0 = (((-(g.padding * g.width + g.padding)) % D + D) % D) * scale
        limit = m.reg("\(prefix)_limit", width: lw, reset: limit0)
        rowLimit = m.reg("\(prefix)_row_limit", width: lw, reset: limit0)
        startSlot = m.reg("\(prefix)_start_slot", width: slotWidth, reset: slot0)
        rowSlot = m.reg("\(prefix)_row_slot", width: slotWidth, reset: slot0)
        let sh = g.stride.trailingZeroBitCount
        rowBase = m.wire("\(prefix)_row_base", oy.shiftLeft(sh))
        colBase = m.wire("\(prefix)_col_base", ox.shiftLeft(sh))
        let lastCol = ox.eq(ucon(g.outWidth - 1, ox.width)), lastRow = oy.eq(ucon(g.outHeight - 1, oy.width))
        lastOutput = m.wire("\(prefix)_last_output", lastCol & lastRow)
        self.lastCol = lastCol
        self.lastRow = lastRow
        self.limit0 = limit0
        self.slot0 = slot0
        // The window's last row and column, `s*oy + k-1-p` and `s*ox + k-1-p` (raw) and clamped
        // to the image, kept in registers so that `windowWritten` is one compare deep.
        let end0 = g.kernel - 1 - g.padding
        let rw = uwidth(max(g.stride * (g.outHeight - 1), g.stride * (g.outWidth - 1)) + max(end0, 0) + g.stride)
        rowEndRaw = m.reg("\(prefix)_row_end_raw", width: rw, reset: end0)
        colEndRaw = m.reg("\(prefix)_col_end_raw", width: rw, reset: end0)
        rowEnd = m.reg("\(prefix)_row_end", width: uwidth(g.height - 1), reset: min(end0, g.height - 1))
        colEnd = m.reg("\(prefix)_col_end", width: uwidth(g.width - 1), reset: min(end0, g.width - 1))
        self.end0 = end0
        let s0 = ucon(slot0, slotWidth)
        nextRowSlot = addMod(rowSlot, ((g.stride * g.width) % g.slots) * scale, g.slots * scale)
        nextStartSlot = m.wire("\(prefix)_next_start_slot",
                               mux(lastCol, mux(lastRow, s0, nextRowSlot), addMod(startSlot, (g.stride % g.slots) * scale, g.slots * scale)))
    }
    private let lastCol: Expr, lastRow: Expr
    private let limit0: Int, slot0: Int, end0: Int
    private let rowEndRaw: Expr, colEndRaw: Expr, rowEnd: Expr, colEnd: Expr
    /// `startSlot` after `advance` (the next output's), and the next row's first slot.
    private let nextStartSlot: Expr, nextRowSlot: Expr

    /// Whether the writer, at `(row, col)` of `image`, has written the window's last token
    /// `end(j)` (or finished the image, `writerAhead`).
    func windowWritten(_ w: LineWriter, writerAhead: Expr) -> Expr {
        writerAhead | ugt(w.row, rowEnd) | (ueq(w.row, rowEnd) & ugt(w.col, colEnd))
    }

    /// Whether tap `(dy, dx)` of the current window lies inside the image.
    func tapInside(dy: Expr, dx: Expr) -> Expr {
        let p = g.padding
        let y = rowBase +& dy, x = colBase +& dx
        var ok = ult(y, ucon(g.height + p, uwidth(g.height + p))) & ult(x, ucon(g.width + p, uwidth(g.width + p)))
        if p > 0 {
            ok = ok & ~ult(y, ucon(p, uwidth(p))) & ~ult(x, ucon(p, uwidth(p)))
        }
        return ok
    }

    /// The (scaled) slot of the tap `offset = (dy*width + dx) * scale` after the window's top-left corner.
    func tapSlot(offset: Expr) -> Expr { addMod(startSlot, fitTo(offset, slotWidth), modulus) }

    /// A register holding the current tap's (scaled) slot, `tapSlot(offset:)` of a tap offset
    /// that starts at 0 and steps by `tapStep` on every `tapDone` (back to 0 at `windowEnd`),
    /// kept incrementally so that the read address is one add from registers.
    func tapSlotRegister(_ name: String) -> Expr { m.reg(name, width: slotWidth, reset: slot0) }

    /// The next value of `tapSlotRegister`: on a tap's end the next tap's slot; at the window's
    /// end the first tap's, which is the next output's start slot when `outputDone` advances it.
    func updateTapSlot(_ r: Expr, tapDone: Expr, lastDx: Expr, windowEnd: Expr, outputDone: Expr) {
        m.next(r, mux(windowEnd, mux(outputDone, nextStartSlot, startSlot), addMod(r, tapStep(lastDx: lastDx), modulus)), enable: tapDone)
    }

    /// The (scaled) step of the tap offset after tap `dx`: the next column, or the next row's first tap.
    func tapStep(lastDx: Expr) -> Expr {
        let next = ((g.width - (g.kernel - 1)) % g.slots + g.slots) % g.slots
        return mux(lastDx, ucon(next * scale, slotWidth), ucon((1 % g.slots) * scale, slotWidth))
    }

    func advance(enable: Expr) {
        let s = g.stride, lw = limit.width
        let nextRowLimit = (rowLimit +% ucon(s * g.width, lw))
        let l0 = ucon(limit0, lw), s0 = ucon(slot0, slotWidth)
        m.next(ox, mux(lastCol, ucon(0, ox.width), ox +% ucon(1, ox.width)), enable: enable)
        m.next(oy, mux(lastCol, mux(lastRow, ucon(0, oy.width), oy +% ucon(1, oy.width)), oy), enable: enable)
        m.next(limit, mux(lastCol, mux(lastRow, l0, nextRowLimit), limit +% ucon(s, lw)), enable: enable)
        m.next(rowLimit, mux(lastCol, mux(lastRow, l0, nextRowLimit), rowLimit), enable: enable)
        m.next(startSlot, nextStartSlot, enable: enable)
        m.next(rowSlot, mux(lastCol, mux(lastRow, s0, nextRowSlot), rowSlot), enable: enable)
        // The window's ends: the next column (or the first), the next row at a row's end.
        let rw = rowEndRaw.width, e0 = ucon(end0, rw)
        let nextCol = mux(lastCol, e0, colEndRaw +% ucon(s, rw))
        let nextRow = mux(lastCol, mux(lastRow, e0, rowEndRaw +% ucon(s, rw)), rowEndRaw)
        m.next(colEndRaw, nextCol, enable: enable)
        m.next(rowEndRaw, nextRow, enable: enable)
        m.next(colEnd, fitTo(uminConst(nextCol, g.width - 1), colEnd.width), enable: enable)
        m.next(rowEnd, fitTo(uminConst(nextRow, g.height - 1), rowEnd.width), enable: enable)
    }
}

/// A conv (on counts or on pixels) with an optional max pool after it: what its input
/// contract and its reach follow from.
public protocol WindowedLayer: Sendable {
    var convGeometry: WindowGeometry { get }
    var poolGeometry: WindowGeometry? { get }
    var outputTokens: Int { get }
}

extension WindowedLayer {
    /// The input-sufficiency contract (a guarantee of the generated RTL): once the module has
    /// accepted this many input tokens of an image (every beat of them; pixel beats for the
    /// stem), it emits every beat of output token `n` without waiting for more input, provided
    /// `m_axis` takes its beats. The gatherer waits only for a window's last token, so this is
    /// also the arithmetic's causal reach (the last input token output `n` depends on, plus
    /// one): exact, not a bound.
    public func inputTokensNeeded(forOutput n: Int) -> Int {
        let cg = convGeometry
        guard let pg = poolGeometry else { return cg.end(n) + 1 }
        return cg.end(pg.end(n)) + 1
    }

    /// `TokenReach` for fork sizing (`TokenReach.forkBacklog`): needs and causal are both
    /// `inputTokensNeeded(forOutput:)`.
    public var tokenReach: TokenReach {
        let c = self
        return TokenReach(outputTokens: outputTokens, needs: { c.inputTokensNeeded(forOutput: $0) },
                          causal: { c.inputTokensNeeded(forOutput: $0) })
    }
}
