import HDL

/// A count stream regrouped from beats of `input.lanes` counts to beats of `outputLanes` counts
/// (docs/formats.md), vector for vector, counts unchanged: so that a layer folded `P1` wide can
/// feed one folded `P2` wide (a patch embedding's last conv and the block after it).
public struct LaneConverterConfig: Hashable, Sendable {
    public var input: CountStreamFormat
    public var outputLanes: Int
    public var name: String

    public init(input: CountStreamFormat, outputLanes: Int, name: String = "lane_converter") {
        (self.input, self.outputLanes, self.name) = (input, outputLanes, name)
    }

    public var outputFormat: CountStreamFormat {
        CountStreamFormat(channels: input.channels, lanes: outputLanes, countWidth: input.countWidth, timeSteps: input.timeSteps)
    }

    /// Flip-flops of the two vector slots.
    public var slotBits: Int { 2 * input.channels * input.countWidth }

    public func validate() throws {
        guard input.channels >= 1, input.lanes >= 1, input.countWidth >= 1, input.timeSteps >= 1 else {
            throw BlockError("a lane converter needs at least one channel, lane, count bit and time step")
        }
        guard (1...256).contains(outputLanes) else { throw BlockError("outputLanes is \(outputLanes); choose 1...256") }
    }
}

/// Builds the lane converter: two vector slots used in turn, one filling from `s_axis` while the
/// other drains to `m_axis`, so a vector takes `max(input beats, output beats)` cycles in the
/// steady state. `m_axis_tvalid` is a slot's full flag, never a function of `m_axis_tready`.
public func makeLaneConverter(_ c: LaneConverterConfig) throws -> Module {
    try c.validate()
    let C = c.input.channels, w = c.input.countWidth, T = c.input.timeSteps
    let Ki = c.input.lanes, Bi = c.input.beats, Ko = c.outputLanes, Bo = c.outputFormat.beats
    let biw = Memory.addressWidth(depth: Bi), bow = Memory.addressWidth(depth: Bo)
    let m = Module("\(c.name)_c\(C)_w\(w)_k\(Ki)_to\(Ko)", doc: """
        Lane converter (docs/network.md): a count stream of \(C) channels regrouped from beats of \(Ki) counts to beats of \(Ko),
        vector for vector, counts unchanged.
        Input stream s_axis (\(c.input)):
          s_axis_tdata  [\(Ki * w - 1):0]  count of channel beat*\(Ki) + j at bits [j*\(w) +: \(w)]
          s_axis_tlast  last beat of a vector; s_axis_tuser [1] first beat of a token, [0] first beat of a time step
        Output stream m_axis (\(c.outputFormat)):
          m_axis_tdata  [\(Ko * w - 1):0]  count of channel beat*\(Ko) + j at bits [j*\(w) +: \(w)]; slots past channel \(C - 1) are 0
          m_axis_tlast  last beat of a vector; m_axis_tuser [1] first beat of a token, [0] first beat of a time step
        s_axis_error (sticky): an input beat's tlast or tuser disagreed with the beat count.
        Two vector slots of \(C * w) bits: one fills while the other drains.
        \(streamBlockConventions(memories: false))
        """)
    m.parameter("channels", C)
    m.parameter("inputLanes", Ki)
    m.parameter("outputLanes", Ko)

    let sValid = m.input("s_axis_tvalid", width: 1)
    let sData = m.input("s_axis_tdata", width: Ki * w)
    let sLast = m.input("s_axis_tlast", width: 1)
    let sUser = m.input("s_axis_tuser", width: 2)
    let mReady = m.input("m_axis_tready", width: 1)

    let full = (0..<2).map { m.reg("slot\($0)_full", width: 1, reset: 0) }
    let writeSlot = m.reg("write_slot", width: 1, reset: 0)
    let readSlot = m.reg("read_slot", width: 1, reset: 0)
    let inBeat = m.reg("in_beat", width: biw, reset: 0)
    let outBeat = m.reg("out_beat", width: bow, reset: 0)

    let writeFull = m.wire("write_slot_full", mux(writeSlot, full[1], full[0]))
    let sReady = m.wire("s_ready", ~writeFull)
    let sFire = m.wire("s_fire", sValid & sReady)
    let inLast = m.wire("in_last_beat", inBeat.eq(.const(Bi - 1, width: biw)))
    let mValid = m.wire("m_valid", mux(readSlot, full[1], full[0]))
    let mFire = m.wire("m_fire", mValid & mReady)
    let outLast = m.wire("out_last_beat", outBeat.eq(.const(Bo - 1, width: bow)))

    // MARK: Fill: input beat b lands in its part of the write slot.
    var slots: [Expr] = []
    var tokenFirst: [Expr] = []
    for s in 0..<2 {
        let here = m.wire("fill_slot\(s)", sFire & writeSlot.eq(.const(s, width: 1)))
        var parts: [Expr] = []
        for b in 0..<Bi {
            let n = min(Ki, C - b * Ki)
            let part = m.reg("slot\(s)_beat\(b)", width: n * w)
            m.next(part, sData.slice(n * w - 1, 0), enable: here & inBeat.eq(.const(b, width: biw)))
            parts.append(part)
        }
        slots.append(m.wire("slot\(s)_vector", cat(parts.reversed())))
        // Whether the vector starts a token: the time-step marker travels with the vector.
        let first = m.reg("slot\(s)_token_first", width: 1)
        m.next(first, sUser.slice(1, 1), enable: here & inBeat.eq(.const(0, width: biw)))
        tokenFirst.append(first)
    }
    m.next(inBeat, mux(inLast, .const(0, width: biw), inBeat +% .const(1, width: biw)), enable: sFire)
    m.next(writeSlot, ~writeSlot, enable: sFire & inLast)

    // MARK: Drain: output beat b is a constant slice of the read slot.
    let vector = m.wire("read_vector", mux(readSlot, slots[1], slots[0]))
    var choices: [Expr] = []
    for b in 0..<Bo {
        let n = min(Ko, C - b * Ko)
        let slice = vector.slice(b * Ko * w + n * w - 1, b * Ko * w)
        choices.append(n == Ko ? slice : cat(.const(0, width: (Ko - n) * w), slice))
    }
    // A balanced tree on the bits of out_beat (log2 of the beats deep), not a chain of compares:
    // a 384-channel vector at 2 lanes has 192 beats.
    let data = SpikeStreamParts.select(m, "out_data", index: outBeat, items: choices, fallback: choices[Bo - 1])
    m.next(outBeat, mux(outLast, .const(0, width: bow), outBeat +% .const(1, width: bow)), enable: mFire)
    m.next(readSlot, ~readSlot, enable: mFire & outLast)
    for s in 0..<2 {
        let filled = sFire & inLast & writeSlot.eq(.const(s, width: 1))
        let drained = mFire & outLast & readSlot.eq(.const(s, width: 1))
        m.next(full[s], mux(filled, .const(1, width: 1), full[s] & ~drained))
    }
    let firstOut = m.wire("first_out_beat", outBeat.eq(.const(0, width: bow)))
    let startsToken = mux(readSlot, tokenFirst[1], tokenFirst[0])

    let error = streamProtocolCheck(m, "in", fire: sFire, last: sLast, user: sUser, beats: Bi, timeSteps: T)
    m.output("s_axis_tready", sReady)
    m.output("s_axis_error", error)
    m.output("m_axis_tvalid", mValid)
    m.output("m_axis_tdata", data)
    m.output("m_axis_tlast", outLast)
    m.output("m_axis_tuser", cat(firstOut & startsToken, firstOut))
    return m
}
