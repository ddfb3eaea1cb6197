import HDL

/// Collects the `G = ceil(C / P)` lane beats of one spike vector into one `C`-bit beat, for the
/// blocks that need a whole vector at once (the QKTA row sums).
///
/// Ports: `in_valid`, `in_ready`, `in_first`, `in_group`, `in_spike` (`P` bits, channel
/// `g*P + j` at bit `j`), beats of one vector in group order; `out_valid`, `out_ready`,
/// `out_first` (the first beat's flag), `out_spike` (`C` bits, channel `c` at bit `c`).
/// The vector leaves one cycle after its last beat arrives; the next vector is gathered while
/// it waits, and only its last beat waits for the output to be free.
public func makeVectorGather(channels: Int, lanes: Int, name: String = "vector_gather") throws -> Module {
    guard channels >= 1, lanes >= 1 else {
        throw BlockError("vector gather needs channels >= 1 and lanes >= 1, got \(channels) and \(lanes)")
    }
    let groups = (channels + lanes - 1) / lanes
    let gw = Memory.addressWidth(depth: groups)
    let m = Module("\(name)_c\(channels)_p\(lanes)", doc: """
        Gathers the \(groups) beats of \(lanes) spikes of one vector into one \(channels)-bit beat.
        Latency 1 cycle after the last beat; one beat per cycle.
        """)
    m.parameter("channels", channels)
    m.parameter("lanes", lanes)
    let inValid = m.input("in_valid", width: 1)
    let inFirst = m.input("in_first", width: 1)
    let inGroup = m.input("in_group", width: gw)
    let inSpike = m.input("in_spike", width: lanes)
    let outReady = m.input("out_ready", width: 1)

    let outValid = m.reg("out_valid_q", width: 1, reset: 0)
    let isLast = m.wire("in_is_last", inGroup.eq(.const(groups - 1, width: gw)))
    let blocked = m.wire("out_blocked", outValid & ~outReady)
    let inReady = m.wire("in_ready_w", ~(isLast & blocked))
    let fire = m.wire("in_fire", inValid & inReady)

    // Groups before the last are held until the last beat arrives.
    var held: [Expr] = []
    for g in 0..<(groups - 1) {
        let r = m.reg("gather_g\(g)", width: lanes)
        m.next(r, inSpike, enable: fire & inGroup.eq(.const(g, width: gw)))
        held.append(r)
    }
    let firstHeld = m.reg("gather_first", width: 1)
    m.next(firstHeld, inFirst, enable: fire & inGroup.eq(.const(0, width: gw)))

    let whole = cat(([inSpike] + held.reversed()))          // group G-1 most significant
    let vector = m.wire("gathered", whole.truncate(to: channels))
    let outSpike = m.reg("out_spike_q", width: channels)
    let outFirst = m.reg("out_first_q", width: 1)
    let load = m.wire("out_load", fire & isLast)
    m.next(outSpike, vector, enable: load)
    m.next(outFirst, groups == 1 ? inFirst : firstHeld, enable: load)
    m.next(outValid, load | (outValid & ~outReady))

    m.output("in_ready", inReady)
    m.output("out_valid", outValid)
    m.output("out_first", outFirst)
    m.output("out_spike", outSpike)
    return m
}
