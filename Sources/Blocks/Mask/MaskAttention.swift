import HDL

/// Which attention mask is applied to K (docs/arithmetic.md §2).
public enum AttentionMaskKind: Hashable, Sendable {
    /// QKTA: one bit per head of the current token, broadcast over the head's `d` channels
    /// (channel `c` belongs to head `c / d`).
    case token(heads: Int)
    /// QKCA: one bit per channel, broadcast over the tokens of the time step.
    case channel
}

/// `X' = A AND K` with the mask broadcast of docs/arithmetic.md §2, on `P`-lane K beats.
public struct MaskAttentionConfig: Hashable, Sendable {
    /// `C`, the channels.
    public var channels: Int
    /// `P`, K channels per beat (`P > C` allowed: one partial group).
    public var lanes: Int
    public var kind: AttentionMaskKind
    public var name: String

    public init(channels: Int, lanes: Int, kind: AttentionMaskKind, name: String = "mask_and") {
        self.channels = channels
        self.lanes = lanes
        self.kind = kind
        self.name = name
    }

    /// `G = ceil(C / P)`: K beats per token.
    public var groups: Int { (channels + lanes - 1) / max(lanes, 1) }

    /// Bits per mask beat: `h` (token mask) or `P` (channel mask, one beat per channel group).
    public var maskBeatWidth: Int {
        switch kind {
        case .token(let h): return h
        case .channel: return lanes
        }
    }

    /// Mask beats that make one whole mask: 1 (token mask) or `G` (channel mask).
    public var maskBeats: Int {
        if case .channel = kind { return groups }
        return 1
    }
}

/// Builds the AND-mask stage.
///
/// Ports:
/// - `a_valid`, `a_ready`, `a_mask`: the mask. Token mask: `h` bits per beat (head `j` at bit
///   `j`), one beat per token and time step. Channel mask: `a_group` and `P` bits per beat
///   (channel `g*P + j` at bit `j`), one beat per channel group in any order; the mask is
///   whole after `G` beats (the output of `makeChannelAttention` fits as is).
/// - `k_valid`, `k_ready`, `k_group`, `k_last`, `k_spike` (`P` bits, channel `g*P + j` on lane
///   `j`): the K spikes. A whole mask applies to every K beat up to and including the next
///   one with `k_last`, then the next mask is taken: for the token mask, `k_last` marks the
///   last group of the token; for the channel mask, the last beat of the time step.
/// - `out_valid`, `out_ready`, `out_group`, `out_last`, `out_spike`: the masked K beat, lanes
///   past `C` read 0.
///
/// Latency 1 cycle, one K beat per cycle while a mask is held; registered outputs (skid
/// buffer) and `k_ready` depends on registers only. `a_ready` is high while no whole mask
/// is held, and on the cycle the held one is released (so the next mask of the token mask
/// loads without a bubble).
public func makeMaskAttention(_ config: MaskAttentionConfig) throws -> Module {
    let c = config
    try SpikeStreamParts.checkName(c.name, field: "name")
    guard c.channels >= 1 && c.channels <= 1 << 16 else {
        throw BlockError("channels = \(c.channels): a mask stage needs 1...65536 channels")
    }
    guard c.lanes >= 1 && c.lanes <= 4096 else {
        throw BlockError("lanes = \(c.lanes): pick 1...4096 lanes")
    }
    var d = 1
    if case .token(let h) = c.kind {
        guard h >= 1 && c.channels % h == 0 else {
            throw BlockError("heads = \(h) does not divide channels = \(c.channels); pick a divisor of \(c.channels)")
        }
        d = c.channels / h
    }
    let (ch, p, g) = (c.channels, c.lanes, c.groups)
    let gw = SpikeStreamParts.indexWidth(g)
    let partial = ch - (g - 1) * p
    let isToken: Bool
    if case .token = c.kind { isToken = true } else { isToken = false }
    let kindName = isToken ? "token" : "channel"
    let key = "C=\(ch) P=\(p) \(c.kind)"
    let m = Module("\(c.name)_\(kindName)_c\(ch)_p\(p)\(isToken ? "_h\(ch / d)" : "")_\(SpikeStreamParts.fingerprint(key))", doc: """
        AND-mask attention (docs/arithmetic.md §2), \(kindName) mask: X'[c] = A[\(isToken ? "c / \(d)" : "c")] AND K[c], \(ch) channels over \(p) lanes (\(g) group(s)).
        a:   a_valid, a_ready, \(isToken ? "a_mask [\(ch / d)] (head j at bit j), one beat per token and time step" : "a_group [\(gw)], a_mask [\(p)] (channel g*\(p)+j at bit j); the mask is whole after \(g) beat(s), one per group")
        k:   k_valid, k_ready, k_group [\(gw)], k_last (last K beat under this mask), k_spike [\(p)] (channel g*\(p)+j on lane j).
        out: out_valid, out_ready, out_group [\(gw)], out_last, out_spike [\(p)]\(partial < p ? "; lanes \(partial)...\(p - 1) of group \(g - 1) read 0" : "").
        Latency 1 cycle, one K beat per cycle while a mask is held; registered outputs.
        """)
    m.parameter("channels", ch)
    m.parameter("lanes", p)
    m.parameter("kind", isToken ? "token(heads: \(ch / d))" : "channel")

    let aValid = m.input("a_valid", width: 1)
    let aGroup: Expr? = isToken ? nil : m.input("a_group", width: gw)
    let aMask = m.input("a_mask", width: c.maskBeatWidth)
    let kValid = m.input("k_valid", width: 1)
    let kGroup = m.input("k_group", width: gw)
    let kLast = m.input("k_last", width: 1)
    let kSpike = m.input("k_spike", width: p)
    let outReady = m.input("out_ready", width: 1)

    let buf = SpikeSkidBuffer(m, "out", fields: [("group", gw, false), ("last", 1, false), ("spike", p, false)])
    let loaded = m.reg("mask_loaded", width: 1, reset: 0)
    let kReady = m.wire("k_ready_w", loaded & buf.ready)
    let kAccept = m.wire("k_accept", kValid & kReady)
    let release = m.wire("mask_release", kAccept & kLast)
    let aReady = m.wire("a_ready_w", ~loaded | release)
    let aAccept = m.wire("a_accept", aValid & aReady)

    // The held mask: one bit per head (token) or per channel.
    let bits = isToken ? ch / d : ch
    let held = (0..<bits).map { m.reg("mask_\($0)", width: 1) }
    let completing: Expr
    if isToken {
        for i in 0..<bits { m.next(held[i], aMask.bit(i), enable: aAccept) }
        completing = aAccept
    } else {
        for i in 0..<ch {
            let (gi, j) = (i / p, i % p)
            let hit = g == 1 ? aAccept : aAccept & aGroup!.eq(.const(gi, width: gw))
            m.next(held[i], aMask.bit(j), enable: hit)
        }
        if g == 1 {
            completing = aAccept
        } else {
            let cw = SpikeStreamParts.indexWidth(g)
            let count = m.reg("mask_beats", width: cw, reset: 0)
            let done = m.wire("mask_whole", count.eq(.const(g - 1, width: cw)))
            m.next(count, mux(done, .const(0, width: cw), count +% .const(1, width: cw)), enable: aAccept)
            completing = aAccept & done
        }
    }
    m.next(loaded, completing | (loaded & ~release))

    var lanes: [Expr] = []
    for j in 0..<p {
        let items: [Expr] = (0..<g).map { gi in
            let ci = gi * p + j
            guard ci < ch else { return .const(0, width: 1) }
            return held[isToken ? ci / d : ci]
        }
        let bit = g == 1 ? items[0] : SpikeStreamParts.select(m, "mask_lane\(j)", index: kGroup, items: items,
                                                               fallback: .const(0, width: 1))
        lanes.append(m.wire("x_lane\(j)", kSpike.bit(j) & bit))
    }
    buf.connect(enqueue: kAccept, payload: [kGroup, kLast, SpikeStreamParts.pack(lanes)], consumerReady: outReady)
    m.output("a_ready", aReady)
    m.output("k_ready", kReady)
    m.output("out_valid", buf.valid)
    m.output("out_group", buf.payload[0])
    m.output("out_last", buf.payload[1])
    m.output("out_spike", buf.payload[2])
    return m
}
