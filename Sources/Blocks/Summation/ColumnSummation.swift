import HDL

/// Column summation (QKCA, docs/arithmetic.md §2): per channel, the spikes of all `N` tokens of one
/// time step are counted, `s[c] = sum over tokens of Q[token, c]`.
///
/// Beats carry `P` channels of one channel group (channel `g*P + j` on lane `j`); the tokens
/// of a time step arrive one after another, in any order of groups. `in_first` marks a
/// group's first token of the time step (its counters restart from 0), `in_last` its last
/// token: that beat emits the group's `P` counts.
public struct ColumnSummationConfig: Hashable, Sendable {
    /// `C`, the channels.
    public var channels: Int
    /// `P`, channels per beat. `P > C` is allowed (one partial group).
    public var lanes: Int
    /// `N`, the most tokens one time step can have: counters are `ceil(log2(N+1))` bits.
    public var tokens: Int
    /// Sideband bits of the `in_last` beat carried to the output beat (`in_tag` to `out_tag`).
    public var tagWidth: Int
    /// A forced signed width for the sums (saturating at `2^(w-1) - 1`, as the golden model's
    /// `attentionSumWidth`), or nil for the exact count.
    public var sumWidth: Int?
    public var name: String

    public init(channels: Int, lanes: Int, tokens: Int, tagWidth: Int = 0, sumWidth: Int? = nil,
                name: String = "col_sum") {
        self.channels = channels
        self.lanes = lanes
        self.tokens = tokens
        self.tagWidth = tagWidth
        self.sumWidth = sumWidth
        self.name = name
    }

    /// `G = ceil(C / P)`.
    public var groups: Int { (channels + lanes - 1) / max(lanes, 1) }
    /// The largest sum the output can carry.
    public var maxSum: Int { SummationWidths.saturatedMax(tokens, sumWidth) }
    /// Bits of one channel's count on `out_count`.
    public var countWidth: Int { SummationWidths.countWidth(tokens, sumWidth) }

    func validate() throws {
        try SpikeStreamParts.checkName(name, field: "name")
        guard channels >= 1 && channels <= 1 << 16 else {
            throw BlockError("channels = \(channels): a column summation needs 1...65536 channels")
        }
        guard lanes >= 1 && lanes <= 4096 else {
            throw BlockError("lanes = \(lanes): pick 1...4096 lanes")
        }
        guard tokens >= 1 && tokens <= 1 << 30 else {
            throw BlockError("tokens = \(tokens): a column summation needs 1...2^30 tokens")
        }
        guard (0...64).contains(tagWidth) else {
            throw BlockError("tagWidth = \(tagWidth): pick 0...64 sideband bits")
        }
        try SummationWidths.check(sumWidth, field: "sumWidth")
    }
}

/// Builds a column summation: one counter per channel, in registers.
///
/// Ports: `in_valid`, `in_ready`, `in_group`, `in_first`, `in_last`, `in_spike` (`P` bits),
/// `in_tag`; `out_valid`, `out_ready`, `out_group`, `out_count` (`P * Wc` bits, lane `j` at
/// `[j*Wc +: Wc]`, lanes past `C` read 0), `out_tag`. One output beat per `in_last` beat,
/// 1 cycle later; one input beat per cycle unstalled. Outputs are registers (skid buffer) and
/// `in_ready` is a register. More than `N` tokens between `first` and `last` is outside the
/// contract (the counter would wrap).
public func makeColumnSummation(_ config: ColumnSummationConfig) throws -> Module {
    try config.validate()
    return ColumnCounter.build(config, any: false)
}

/// The column counters, counting or OR-ing (the proven OR form of the channel mask: one bit
/// per channel, the same timing).
enum ColumnCounter {
    static func build(_ c: ColumnSummationConfig, any: Bool) -> Module {
        let (ch, p, n, g) = (c.channels, c.lanes, c.tokens, c.groups)
        let gw = SpikeStreamParts.indexWidth(g)
        let wn = any ? 1 : Interval(0, n).unsignedWidth
        let wc = any ? 1 : c.countWidth
        let partial = ch - (g - 1) * p
        let key = "C=\(ch) P=\(p) N=\(n) tag=\(c.tagWidth) w=\(c.sumWidth.map(String.init) ?? "exact") any=\(any)"
        let stem = any ? c.name.replacingOccurrences(of: "sum", with: "any") : c.name
        let m = Module("\(stem)_c\(ch)_p\(p)_n\(n)_\(SpikeStreamParts.fingerprint(key))", doc: """
            Column \(any ? "OR" : "summation") (docs/arithmetic.md §2): \(ch) channels over \(p) lanes (\(g) group(s)), up to \(n) tokens per time step.
            Channel g*\(p)+j is lane j of group g.\(partial < p ? " Lanes \(partial)...\(p - 1) of group \(g - 1) do not exist and read 0." : "")
            Per channel, \(any ? "the OR of its spikes over the tokens (1 bit)" : "the count of its spikes over the tokens (\(wn)-bit counter\(c.sumWidth != nil ? ", output saturated to a \(c.sumWidth!)-bit signed value" : ""))").
            in:  in_valid, in_ready, in_group [\(gw)], in_first (first token: restart from 0), in_last (last token: emit), in_spike [\(p)]\(c.tagWidth > 0 ? ", in_tag [\(c.tagWidth)]" : "").
            out: out_valid, out_ready, out_group [\(gw)], out_count [\(p)x\(wc)] (lane j at [j*\(wc) +: \(wc)])\(c.tagWidth > 0 ? ", out_tag [\(c.tagWidth)] (of the last beat)" : "").
            One output beat per in_last beat, latency 1 cycle; one input beat per cycle unstalled; registered outputs and in_ready.
            """)
        m.parameter("channels", ch)
        m.parameter("lanes", p)
        m.parameter("tokens", n)
        m.parameter("tagWidth", c.tagWidth)
        m.parameter("sumWidth", c.sumWidth.map(String.init) ?? "exact")
        if any { m.parameter("form", "or") }

        let inValid = m.input("in_valid", width: 1)
        let inGroup = m.input("in_group", width: gw)
        let inFirst = m.input("in_first", width: 1)
        let inLast = m.input("in_last", width: 1)
        let inSpike = m.input("in_spike", width: p)
        let inTag = c.tagWidth > 0 ? m.input("in_tag", width: c.tagWidth) : nil
        let outReady = m.input("out_ready", width: 1)

        var fields: [(name: String, width: Int, signed: Bool)] = [("group", gw, false), ("count", p * wc, false)]
        if let t = inTag { fields.append(("tag", t.width, false)) }
        let buf = SpikeSkidBuffer(m, "out", fields: fields)
        let inReady = m.wire("in_ready_w", buf.ready)
        let accept = m.wire("accept", inValid & inReady)
        let zero = Expr.const(0, width: wn)
        let counters = (0..<ch).map { m.reg("\(any ? "any" : "cnt")_\($0)", width: wn, reset: 0) }
        var outs: [Expr] = []
        for j in 0..<p {
            let items = (0..<g).compactMap { gi in gi * p + j < ch ? counters[gi * p + j] : nil }
            let old = g == 1 ? (j < ch ? counters[j] : zero)
                : SpikeStreamParts.select(m, "cnt_lane\(j)", index: inGroup, items: items, fallback: zero)
            let base = mux(inFirst, zero, old)
            let spike = inSpike.bit(j)
            let updated: Expr
            if any {
                updated = m.wire("any_lane\(j)", base | spike)
            } else {
                // At most N tokens per time step: the count fits wn bits.
                let sum = base.add(spike.extend(to: wn))
                updated = m.wire("cnt_next\(j)", sum.truncate(to: wn))
            }
            for gi in 0..<g where gi * p + j < ch {
                let hit = g == 1 ? accept : accept & inGroup.eq(.const(gi, width: gw))
                m.next(counters[gi * p + j], updated, enable: hit)
            }
            let value = any ? updated : SummationWidths.output(updated, n, c.sumWidth)
            let exists: Expr = j < partial ? .const(1, width: 1) : inGroup.ne(.const(g - 1, width: gw))
            outs.append(SpikeStreamParts.gate(exists, value))
        }
        var payload = [inGroup, SpikeStreamParts.pack(outs)]
        if let t = inTag { payload.append(t) }
        buf.connect(enqueue: accept & inLast, payload: payload, consumerReady: outReady)
        m.output("in_ready", inReady)
        m.output("out_valid", buf.valid)
        m.output("out_group", buf.payload[0])
        m.output("out_count", buf.payload[1])
        if inTag != nil { m.output("out_tag", buf.payload[2]) }
        return m
    }
}
