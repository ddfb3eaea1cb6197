import HDL

/// Row summation (QKTA, docs/arithmetic.md §2): per beat, the spikes of every head of one token are
/// counted, `s[j] = sum of the d spikes of head j`, channel `c` in head `c / d`.
public struct RowSummationConfig: Hashable, Sendable {
    /// `C`, the channels per beat.
    public var channels: Int
    /// `h`, the heads; `d = C / h` must be whole. One head (`C = d`) is a single d-bit count.
    public var heads: Int
    /// Pipeline register stages through the adder tree; 0 is combinational (no register at
    /// all, `in_ready` = `out_ready`). The last stage registers the outputs.
    public var stages: Int
    /// Sideband bits carried unchanged with each beat (`in_tag` to `out_tag`); 0 for none.
    public var tagWidth: Int
    /// A forced width for the sums, as the golden model's `attentionSumWidth`: the sum
    /// saturates to that *signed* width, i.e. at `2^(w-1) - 1`, and the port is `w` bits.
    /// nil: the exact count, `ceil(log2(d+1))` bits.
    public var sumWidth: Int?
    /// The module name's stem.
    public var name: String

    public init(channels: Int, heads: Int, stages: Int = 1, tagWidth: Int = 0, sumWidth: Int? = nil,
                name: String = "row_sum") {
        self.channels = channels
        self.heads = heads
        self.stages = stages
        self.tagWidth = tagWidth
        self.sumWidth = sumWidth
        self.name = name
    }

    /// `d = C / h`.
    public var headDim: Int { channels / max(heads, 1) }

    /// The largest sum the output can carry: `d`, or less when a forced width saturates it.
    public var maxSum: Int { SummationWidths.saturatedMax(headDim, sumWidth) }

    /// Bits of one head's count on `out_count`.
    public var countWidth: Int { SummationWidths.countWidth(headDim, sumWidth) }

    func validate() throws {
        try SpikeStreamParts.checkName(name, field: "name")
        guard channels >= 1 && channels <= 1 << 16 else {
            throw BlockError("channels = \(channels): a row summation needs 1...65536 channels")
        }
        guard heads >= 1 && channels % heads == 0 else {
            throw BlockError("heads = \(heads) does not divide channels = \(channels); pick a divisor of \(channels)")
        }
        guard (0...32).contains(stages) else {
            throw BlockError("stages = \(stages): pick 0 (combinational) to 32 pipeline stages")
        }
        guard (0...64).contains(tagWidth) else {
            throw BlockError("tagWidth = \(tagWidth): pick 0...64 sideband bits")
        }
        try SummationWidths.check(sumWidth, field: "sumWidth")
    }
}

/// Builds a row summation: a pipelined adder tree per head.
///
/// Ports: `in_valid`, `in_ready`, `in_spike` (`C` bits, channel `c` at bit `c`), `in_tag`;
/// `out_valid`, `out_ready`, `out_count` (`h * Wc` bits, head `j` at `[j*Wc +: Wc]`), `out_tag`.
/// Latency `stages` cycles, one beat per cycle; the pipeline collapses bubbles, and `in_ready`
/// is a chain of gates over the stage valids and `out_ready` (no payload in it).
public func makeRowSummation(_ config: RowSummationConfig) throws -> Module {
    try config.validate()
    return RowTree.build(config, any: false)
}

/// The row tree, adding (counts) or OR-ing (the proven OR form of the attention mask, with
/// exactly the same pipeline and so the same timing).
enum RowTree {
    static func build(_ c: RowSummationConfig, any: Bool) -> Module {
        let (ch, h, d, s) = (c.channels, c.heads, c.headDim, c.stages)
        let wc = any ? 1 : c.countWidth
        let levels = d <= 1 ? 0 : SpikeStreamParts.indexWidth(d)
        let key = "C=\(ch) h=\(h) S=\(s) tag=\(c.tagWidth) w=\(c.sumWidth.map(String.init) ?? "exact") any=\(any)"
        let stem = any ? c.name.replacingOccurrences(of: "sum", with: "any") : c.name
        let name = "\(stem)_c\(ch)_h\(h)_s\(s)_\(SpikeStreamParts.fingerprint(key))"
        let what = any ? "OR of the d spikes of each head (1 bit per head)"
            : "count of the d spikes of each head (\(wc) bits per head\(c.sumWidth != nil ? ", saturated to a \(c.sumWidth!)-bit signed value" : ""))"
        let m = Module(name, doc: """
            Row \(any ? "OR" : "summation") (docs/arithmetic.md §2): \(ch) channels, \(h) head(s) of d = \(d); channel c is head c/\(d).
            Per beat, the \(what).
            in:  in_valid, in_ready, in_spike [\(ch)] (channel c at bit c)\(c.tagWidth > 0 ? ", in_tag [\(c.tagWidth)]" : "").
            out: out_valid, out_ready, out_count [\(h)x\(wc)] (head j at [j*\(wc) +: \(wc)])\(c.tagWidth > 0 ? ", out_tag [\(c.tagWidth)] (copied)" : "").
            \(levels) tree level(s), \(s) pipeline stage(s): latency \(s) cycle(s), one beat per cycle.\
            \(s == 0 ? " Combinational: out_valid = in_valid, in_ready = out_ready." : " Bubbles collapse; in_ready depends on the stage valids and out_ready only.")
            """)
        m.parameter("channels", ch)
        m.parameter("heads", h)
        m.parameter("stages", s)
        m.parameter("tagWidth", c.tagWidth)
        m.parameter("sumWidth", c.sumWidth.map(String.init) ?? "exact")
        if any { m.parameter("form", "or") }

        let inValid = m.input("in_valid", width: 1)
        let inSpike = m.input("in_spike", width: ch)
        let inTag = c.tagWidth > 0 ? m.input("in_tag", width: c.tagWidth) : nil
        let outReady = m.input("out_ready", width: 1)

        // Stage valids, then the ready chain from the output back.
        let valids = (0..<s).map { m.reg("p\($0 + 1)_valid", width: 1, reset: 0) }
        var ready = [Expr](repeating: outReady, count: s + 1)   // ready[i]: stage i+1 loads
        if s > 0 {
            for i in stride(from: s - 1, through: 0, by: -1) {
                ready[i] = m.wire("p\(i + 1)_ready", ~valids[i] | (i + 1 < s ? ready[i + 1] : outReady))
            }
        }
        for i in 0..<s { m.next(valids[i], i == 0 ? inValid : valids[i - 1], enable: ready[i]) }
        // Stage i+1 sits after tree level boundary[i]; the last one after the root.
        let boundary = (0..<s).map { i in (levels * (i + 1) + s - 1) / s }

        // values[j]: head j's partial sums, each with the number of spikes it covers.
        var values: [[(e: Expr, n: Int)]] = (0..<h).map { j in (0..<d).map { (inSpike.bit(j * d + $0), 1) } }
        var tag = inTag
        var stage = 0
        for level in 0...levels {
            if level > 0 {
                for j in 0..<h {
                    var next: [(e: Expr, n: Int)] = []
                    for k in stride(from: 0, to: values[j].count, by: 2) {
                        guard k + 1 < values[j].count else { next.append(values[j][k]); continue }
                        let (a, b) = (values[j][k], values[j][k + 1])
                        let n = a.n + b.n
                        let e: Expr
                        if any {
                            e = a.e | b.e
                        } else {
                            let w = Interval(0, n).unsignedWidth
                            let sum = a.e.add(b.e)
                            e = sum.width > w ? sum.truncate(to: w) : sum
                        }
                        next.append((m.wire("h\(j)_l\(level)_\(k / 2)", e), n))
                    }
                    values[j] = next
                }
            }
            if level == levels {
                // The root: saturate a forced width here, before the output registers.
                for j in 0..<h {
                    let root = values[j][0]
                    let out = any ? root.e : SummationWidths.output(root.e, d, c.sumWidth)
                    values[j] = [(out, root.n)]
                }
            }
            while stage < s && boundary[stage] == level {
                let en = ready[stage]
                for j in 0..<h {
                    values[j] = values[j].enumerated().map { k, v in
                        let r = m.reg("p\(stage + 1)_h\(j)_\(k)", width: v.e.width)
                        m.next(r, v.e, enable: en)
                        return (r, v.n)
                    }
                }
                if let t = tag {
                    let r = m.reg("p\(stage + 1)_tag", width: t.width)
                    m.next(r, t, enable: en)
                    tag = r
                }
                stage += 1
            }
        }
        m.output("in_ready", s > 0 ? ready[0] : outReady)
        m.output("out_valid", s > 0 ? valids[s - 1] : inValid)
        m.output("out_count", SpikeStreamParts.pack(values.map { $0[0].e }))
        if let t = tag { m.output("out_tag", t) }
        return m
    }
}
