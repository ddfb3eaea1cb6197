import HDL

/// Parameters of the event encoder: a dense spike-count vector in, address events out.
public struct EventEncoderConfig: Hashable, Sendable {
    /// Channels per vector, `C`.
    public var channels: Int
    /// Channels per input beat, `K` (1...C). A vector arrives as `ceil(C/K)` beats; `K == C`
    /// means one beat per vector.
    public var chunkChannels: Int
    /// Bits of each count, `Wc` (1 for 0/1 spikes, more for SEW residual counts).
    public var countWidth: Int
    /// Event slots per output beat, `E`.
    public var slots: Int

    public init(channels: Int, chunkChannels: Int? = nil, countWidth: Int = 1, slots: Int = 1) {
        self.channels = channels
        self.chunkChannels = chunkChannels ?? channels
        self.countWidth = countWidth
        self.slots = slots
    }

    /// Input beats per vector.
    public var chunks: Int { (channels + chunkChannels - 1) / max(chunkChannels, 1) }

    /// The output format.
    public var format: EventStreamFormat {
        EventStreamFormat(channels: channels, countWidth: countWidth, slots: slots)
    }

    public var moduleName: String { "spike_event_encoder_c\(channels)_k\(chunkChannels)_w\(countWidth)_e\(slots)" }

    public func validate() throws {
        guard channels >= 1 else {
            throw BlockError("channels is \(channels); an event encoder needs at least 1 channel")
        }
        guard (1...channels).contains(chunkChannels) else {
            throw BlockError("chunkChannels is \(chunkChannels); choose 1...\(channels) (channels per input beat, at most channels)")
        }
        guard (1...32).contains(countWidth) else {
            throw BlockError("countWidth is \(countWidth); choose 1...32 bits")
        }
        guard (1...chunkChannels).contains(slots) else {
            throw BlockError("slots is \(slots); choose 1...\(chunkChannels) (events per output beat, at most chunkChannels)")
        }
        guard chunkChannels * countWidth <= 4096 else {
            throw BlockError("chunkChannels x countWidth is \(chunkChannels * countWidth) bits per input beat; keep it at most 4096 by lowering chunkChannels")
        }
    }
}

/// The event encoder (spike router, docs/arithmetic.md §3): turns dense count vectors into address
/// events `(channel, count)`, skipping zeros with a find-first-set scan.
///
/// Input stream `in`: `in_counts` holds `K` counts (channel `base + k` at bits
/// `[k*Wc +: Wc]`); the encoder numbers the beats itself, so a vector is exactly `ceil(C/K)`
/// beats and needs no input `last`. Counts of channels `>= C` in a final partial beat are
/// ignored.
///
/// Output stream `out` (`EventStreamFormat`): up to `E` events per beat from one input beat,
/// packed from slot 0 in ascending channel order; `out_last` on the beat with the last event of
/// the vector, or on an empty beat (`out_event == 0`) for an all-zero vector.
///
/// Timing: an input beat with `n` non-zero counts occupies the scan for `max(1, ceil(n/E))`
/// cycles, so zero counts cost nothing beyond the input rate of one beat per cycle. Latency
/// from an input transfer to the first output beat it causes: 2 cycles when that beat is known
/// to end its vector (or the vector has more events in the same input beat), otherwise it
/// waits for the next event or the vector end, which decides its `last`. `in_ready` and
/// `out_valid` come from registers only.
public func makeEventEncoder(_ config: EventEncoderConfig) throws -> Module {
    try config.validate()
    let c = config.channels, k = config.chunkChannels, wc = config.countWidth, e = config.slots
    let fmt = config.format
    let wch = fmt.channelWidth
    let chunks = config.chunks
    let m = Module(config.moduleName, doc: """
        Event encoder: dense spike-count vectors in, address events (channel, count) out.
        in:  in_valid/in_ready, in_counts[\(k * wc - 1):0] = \(k) counts of \(wc) bits, channel base+k at [k*\(wc) +: \(wc)];
             \(chunks) beat(s) per vector of \(c) channels (beats are numbered here, no input last).
        out: out_valid/out_ready, out_event[\(e - 1):0] (slot e holds an event; set bits contiguous from 0),
             \(e == 1 ? "out_channel, out_count" : "out_channel_<e>, out_count_<e>"), out_last (last event of the vector,
             or an empty beat with out_event == 0 for an all-zero vector). Events in ascending channel order.
        Cycles: max(1, ceil(nonzeros / \(e))) per input beat; latency 2 cycles when the output beat's last is known.
        """)
    m.parameter("channels", c)
    m.parameter("chunkChannels", k)
    m.parameter("countWidth", wc)
    m.parameter("slots", e)

    let inValid = m.input("in_valid", width: 1)
    let inCounts = m.input("in_counts", width: k * wc)
    let outReady = m.input("out_ready", width: 1)

    // Channel base of the next input beat, and whether it is the final beat of the vector.
    let lastBase = (chunks - 1) * k
    let inBase: Expr
    let inBaseReg: Expr?
    if chunks == 1 {
        inBase = .const(0, width: wch)
        inBaseReg = nil
    } else {
        let r = m.reg("in_base", width: wch, reset: 0)
        inBase = r
        inBaseReg = r
    }
    let inFinal = m.wire("in_final", chunks == 1 ? .const(1, width: 1) : inBase.eq(.const(lastBase, width: wch)))

    // Non-zero mask of the input beat, without the channels past C in a partial final beat.
    var nonzero: [Expr] = []
    for j in 0..<k {
        let count = inCounts.slice(j * wc + wc - 1, j * wc)
        var bit = count.orReduce()
        if lastBase + j >= c { bit = bit & ~inFinal }
        nonzero.append(bit)
    }
    let inMask = m.wire("in_mask", cat(nonzero.reversed()))

    // The beat being scanned.
    let chunkValid = m.reg("chunk_valid", width: 1, reset: 0)
    let chunkMask = m.reg("chunk_mask", width: k)
    let chunkCounts = m.reg("chunk_counts", width: k * wc)
    // With `K` a power of two every base is a multiple of `K`: the register keeps the beat
    // number and the channel is the beat number beside the index, with no adder on the
    // pick-to-output path (docs/timing.md).
    let indexWidth = Interval(0, k - 1).unsignedWidth
    let beatShift = chunks > 1 && k > 1 && k & (k - 1) == 0 ? indexWidth : 0
    let chunkBase = m.reg(beatShift > 0 ? "chunk_beat" : "chunk_base", width: wch - beatShift)
    let chunkFinal = m.reg("chunk_final", width: 1)

    // E find-first-set steps: each takes the lowest set bit and clears it.
    /// The longest carry chain of the registered pick (`isolateLowest`).
    let isolateSegment = 64
    var rest = chunkMask
    var slotValid: [Expr] = [], slotChannel: [Expr] = [], slotCount: [Expr] = []

    /// The lowest set bit of `x` as a one-hot (`x & -x`) without a carry chain: bit `j` is set
    /// when `x[j]` is and none below it is, the OR of the bits below from a log-depth
    /// (Kogge-Stone) prefix tree over `x[k-2:0]`. For the unregistered picks of several slots,
    /// where a `-x` would be a `K`-cell carry chain in series with the index encoder and the
    /// channel add (docs/timing.md); the registered one-slot pick below is `x & -x` itself.
    func lowestSet(_ x: Expr, name: String) -> Expr {
        guard k > 1 else { return x }
        var below = (0..<(k - 1)).map { x.bit($0) }   // inclusive prefix OR of x[k-2:0]
        var span = 1, level = 0
        while span < k - 1 {
            let prev = below
            let next = (0..<(k - 1)).map { j in j >= span ? prev[j] | prev[j - span] : prev[j] }
            let w = m.wire("\(name)_below\(level)", cat(Array(next.reversed())))
            below = (0..<(k - 1)).map { w.bit($0) }
            span *= 2
            level += 1
        }
        let bits = (0..<k).map { j in j == 0 ? x.bit(0) : x.bit(j) & ~below[j - 1] }
        return cat(Array(bits.reversed()))
    }

    // With one slot the pick is registered: the one-hot of the lowest set bit, whether the beat
    // has data and whether it has at most one set bit are computed for the next mask (the
    // input beat's, or this one's after the pick) and loaded with it, so no find-first-set sits
    // in series with the index, the channel add and the hand-off (docs/timing.md). Same cycles.
    // "At most one bit" is kept as two registers, one loaded with the input beat and one at each
    // pick, and a third that says which was loaded last, so neither count tree sits behind the
    // late `in_fire` select.
    var picked: (onehot: Expr, hasData: Expr, restEmpty: Expr, emptyIfLoaded: Expr, emptyAfterPick: Expr, fromLoad: Expr)? = nil
    if e == 1 {
        let emptyIfLoaded = m.reg("scan_rest_empty_in_r", width: 1, reset: 0)
        let emptyAfterPick = m.reg("scan_rest_empty_pick_r", width: 1, reset: 0)
        let fromLoad = m.reg("scan_rest_empty_sel_r", width: 1, reset: 1)
        picked = (m.reg("pick0_onehot_r", width: k, reset: 0), m.reg("scan_has_data_r", width: 1, reset: 0),
                  m.wire("scan_rest_empty_r", mux(fromLoad, emptyIfLoaded, emptyAfterPick)),
                  emptyIfLoaded, emptyAfterPick, fromLoad)
    }
    /// `x & -x`, the lowest set bit of `x` as a one-hot, for the registered one-slot pick. Up to
    /// `isolateSegment` bits it is one carry chain. A wider beat is cut into segments of that
    /// many bits, each isolated by its own chain in parallel, and a segment's pick is kept only
    /// when no lower segment has a bit set (an OR tree beside the chains): a 256-channel beat
    /// would otherwise ripple 256 bits in one cycle, 9 ns of ECP5 carry alone.
    func isolateLowest(_ x: Expr, name: String) -> Expr {
        let seg = isolateSegment
        guard k > seg else { return x & (Expr.const(0, width: k) -% x) }
        var parts: [Expr] = []
        var lowerAny: Expr? = nil
        for lo in stride(from: 0, to: k, by: seg) {
            let hi = min(k, lo + seg) - 1, w = hi - lo + 1
            let part = x.slice(hi, lo)
            let pick = m.wire("\(name)_seg\(lo / seg)", part & (Expr.const(0, width: w) -% part))
            parts.append(lowerAny.map { mux($0, .const(0, width: w), pick) } ?? pick)
            let any = part.orReduce()
            if lo + seg < k { lowerAny = m.wire("\(name)_below\(lo / seg + 1)", lowerAny.map { $0 | any } ?? any) }
        }
        return cat(Array(parts.reversed()))
    }

    /// Whether at least two and at least three bits of `x` are set, by a tree of pairs that
    /// carries the thermometer code (at least 1, 2, 3) of each half: every output is an AND/OR
    /// of its children's flags, monotone, so the mapper keeps the tree `log2 K` levels deep. (A
    /// two-bit saturating count, with its "exactly one" term, was rewritten into a chain twice as
    /// deep, and the mapper then relaxed every other path of the encoder to that depth.)
    func countUpTo3(_ x: Expr, name: String, three: Bool) -> (atLeast2: Expr, atLeast3: Expr) {
        let zero = Expr.const(0, width: 1)
        var nodes: [(one: Expr, two: Expr, three: Expr)] = (0..<x.width).map { (x.bit($0), zero, zero) }
        var level = 0
        while nodes.count > 1 {
            var next: [(one: Expr, two: Expr, three: Expr)] = []
            for i in stride(from: 0, to: nodes.count, by: 2) {
                guard i + 1 < nodes.count else { next.append(nodes[i]); continue }
                let a = nodes[i], b = nodes[i + 1]
                next.append((a.one | b.one,
                             a.two | b.two | (a.one & b.one),
                             a.three | b.three | (a.two & b.one) | (a.one & b.two)))
            }
            let ones = next.count > 1 ? m.wire("\(name)_any\(level)", cat(Array(next.map(\.one).reversed()))) : nil
            let twos = m.wire("\(name)_two\(level)", cat(Array(next.map(\.two).reversed())))
            // The third flag only matters for `atLeast3`: unnamed (and dropped) otherwise.
            let threes = three ? m.wire("\(name)_three\(level)", cat(Array(next.map(\.three).reversed()))) : nil
            nodes = (0..<next.count).map { (ones?.bit($0) ?? next[$0].one, twos.bit($0), threes?.bit($0) ?? next[$0].three) }
            level += 1
        }
        return (nodes[0].two, nodes[0].three)
    }

    for s in 0..<e {
        let lowest = m.wire("pick\(s)_onehot", picked?.onehot ?? lowestSet(rest, name: "pick\(s)"))
        slotValid.append(m.wire("pick\(s)_valid", picked?.hasData ?? rest.orReduce()))
        var indexBits: [Expr] = []
        for b in 0..<indexWidth {
            let hits = (0..<k).filter { ($0 >> b) & 1 == 1 }.map { lowest.bit($0) }
            indexBits.append(hits.isEmpty ? .const(0, width: 1) : cat(hits).orReduce())
        }
        let index = m.wire("pick\(s)_index", cat(indexBits.reversed()))
        var count: Expr = .const(0, width: wc)
        for j in 0..<k {
            count = count | mux(lowest.bit(j), chunkCounts.slice(j * wc + wc - 1, j * wc), .const(0, width: wc))
        }
        slotCount.append(m.wire("pick\(s)_count", count))
        // base + index < C: the narrowing loses nothing.
        let channel = beatShift > 0 ? cat(chunkBase, index)
            : (chunkBase +& index.extend(to: max(indexWidth, wch))).truncate(to: wch)
        slotChannel.append(m.wire("pick\(s)_channel", channel))
        rest = m.wire("pick\(s)_rest", rest & ~lowest)
    }

    let hasData = m.wire("scan_has_data", picked?.hasData ?? chunkMask.orReduce())
    let restEmpty = m.wire("scan_rest_empty", picked?.restEmpty ?? ~rest.orReduce())
    let endsVector = m.wire("scan_ends_vector", chunkFinal & restEmpty)
    let tokenValid = m.wire("scan_token_valid", chunkValid & (hasData | chunkFinal))

    var fields = [StreamField("event", width: e)]
    var payload = [cat(slotValid.reversed())]
    for s in 0..<e {
        fields.append(StreamField(fmt.channelField(s), width: wch))
        fields.append(StreamField(fmt.countField(s), width: wc))
        payload.append(slotChannel[s])
        payload.append(slotCount[s])
    }
    let lookahead = LastLookahead(m, "ev", fields: fields)
    let tokenReady = lookahead.ready(hasData: hasData, end: endsVector)
    let take = m.wire("scan_take", tokenValid & tokenReady)
    lookahead.drive(take: take, hasData: hasData, end: endsVector, payload: payload, downReady: outReady)

    // The scanned beat is done when its last events are taken, or at once when it has none
    // and does not end the vector.
    let chunkDone = m.wire("chunk_done", chunkValid & mux(tokenValid, take & restEmpty, .const(1, width: 1)))
    let inReady = m.wire("in_ready_int", ~chunkValid | chunkDone)
    let inFire = m.wire("in_fire", inValid & inReady)
    m.next(chunkValid, mux(inFire, .const(1, width: 1), mux(chunkDone, .const(0, width: 1), chunkValid)))
    m.next(chunkMask, mux(inFire, inMask, rest), enable: inFire | take)
    if let r = picked {
        // Both candidates are computed, the input beat's and the rest's, and chosen after. The
        // rest has at most one bit after its pick when the beat has at most two now (a take
        // with no data ends an empty beat: 0 bits, still at most one); both counts come
        // straight from registered masks by a count tree, not through a pick. Registered, the
        // pick is `x & -x`: a carry chain is a hard macro the LUT mapper leaves alone, where it
        // rewrote the prefix tree of `lowestSet` into a ripple of wide LUTs as deep as the
        // deepest cone of the encoder (10 levels on a 64-channel beat; docs/timing.md).
        let inPick = m.wire("in_pick", isolateLowest(inMask, name: "in_pick"))
        let restPick = m.wire("rest_pick", isolateLowest(rest, name: "rest_pick"))
        m.next(r.onehot, mux(inFire, inPick, restPick), enable: inFire | take)
        m.next(r.hasData, mux(inFire, inMask.orReduce(), ~r.restEmpty), enable: inFire | take)
        let inCount = k > 1 ? countUpTo3(inMask, name: "in_count", three: false) : (atLeast2: Expr.const(0, width: 1), atLeast3: Expr.const(0, width: 1))
        let nowCount = k > 2 ? countUpTo3(chunkMask, name: "scan_count", three: true) : (atLeast2: Expr.const(0, width: 1), atLeast3: Expr.const(0, width: 1))
        m.next(r.emptyIfLoaded, ~inCount.atLeast2, enable: inFire)
        m.next(r.emptyAfterPick, ~nowCount.atLeast3, enable: take)
        m.next(r.fromLoad, inFire, enable: inFire | take)
    }
    m.next(chunkCounts, inCounts, enable: inFire)
    m.next(chunkBase, beatShift > 0 ? inBase.slice(wch - 1, beatShift) : inBase, enable: inFire)
    m.next(chunkFinal, inFinal, enable: inFire)
    if let r = inBaseReg {
        // The final beat's base is the largest, (chunks-1)*K < C: the sum fits.
        let nextBase = (r +& Expr.const(k, width: wch + 1)).truncate(to: wch)
        m.next(r, mux(inFinal, .const(0, width: wch), nextBase), enable: inFire)
    }

    m.output("in_ready", inReady)
    let o = lookahead.out
    m.output("out_valid", o.downValid)
    for (f, v) in zip(o.fields, o.downPayload) { m.output("out_\(f.name)", v) }
    return m
}
