import HDL

/// The QKTA token mask (docs/arithmetic.md §2): row sums of Q per head, then the attention LIF,
/// `A_t[token, head]`. One beat per (token, time step), all channels at once.
public struct TokenAttentionConfig: Hashable, Sendable {
    /// `C`, the channels.
    public var channels: Int
    /// `h`, the heads (`d = C / h`).
    public var heads: Int
    /// Pipeline stages of the row tree (0: combinational tree).
    public var stages: Int
    /// The attention neuron (`attn_lif`); its current is the integer sum.
    public var neuron: LIFNeuronConfig
    /// A forced signed width for the sums (saturating), or nil for exact sums.
    public var sumWidth: Int?
    public var form: AttentionForm
    public var name: String

    public init(channels: Int, heads: Int, stages: Int = 1, neuron: LIFNeuronConfig = .attention(),
                sumWidth: Int? = nil, form: AttentionForm = .automatic, name: String = "token_attn") {
        self.channels = channels
        self.heads = heads
        self.stages = stages
        self.neuron = neuron
        self.sumWidth = sumWidth
        self.form = form
        self.name = name
    }

    var sum: RowSummationConfig {
        RowSummationConfig(channels: channels, heads: heads, stages: stages, tagWidth: 1, sumWidth: sumWidth,
                           name: "\(name)_sum")
    }

    /// Whether the OR form is exact for these parameters, and why.
    public var proof: AttentionOrProof { AttentionOrProof.check(neuron: neuron, maxSum: sum.maxSum) }

    /// Whether `makeTokenAttention` emits the OR form.
    public func usesOrForm() throws -> Bool { try AttentionOrProof.resolve(form, proof) }
}

/// Builds the QKTA token-mask generator.
///
/// Ports: `in_valid`, `in_ready`, `in_first` (first time step of a token: the attention
/// neurons restart from `vr`), `in_spike` (`C` bits, the Q spikes of one token and time step,
/// channel `c` at bit `c`); `out_valid`, `out_ready`, `out_mask` (`h` bits, head `j` at bit `j`).
///
/// General form: the row tree (`stages` stages) into a LIF bank of `h` neurons in registers;
/// latency `stages + 1`. OR form (where `AttentionOrProof` holds): the same tree pipeline
/// OR-ing instead of adding, then one output register stage, so latency, throughput and
/// handshake timing are identical to the general form's, cycle for cycle; `in_first` is then
/// unused (the neuron never keeps charge).
public func makeTokenAttention(_ config: TokenAttentionConfig) throws -> Module {
    let c = config
    try c.sum.validate()
    let sums = Interval(0, c.sum.maxSum)
    let useOr = try c.usesOrForm()
    let lifConfig = LIFBankConfig(neurons: c.heads, lanes: c.heads, neuron: c.neuron, current: sums,
                                  name: "\(c.name)_lif")
    let lif = try makeLIFBank(lifConfig)   // validates the neuron in both forms
    let key = "C=\(c.channels) h=\(c.heads) S=\(c.stages) \(c.neuron) w=\(c.sumWidth.map(String.init) ?? "exact") or=\(useOr)"
    let m = Module("\(c.name)_c\(c.channels)_h\(c.heads)_\(useOr ? "or" : "lif")_\(SpikeStreamParts.fingerprint(key))", doc: """
        QKTA token mask (docs/arithmetic.md §2): A[head] = attn_lif(sum of the head's d = \(c.channels / c.heads) Q spikes), \(c.heads) head(s).
        Attention neuron: \(c.neuron); sums in \(sums).
        \(useOr ? "OR form: \(c.proof)." : "General form: row tree (\(c.stages) stage(s)) into \(c.heads) LIF neurons in registers. \(c.proof).")
        in:  in_valid, in_ready, in_first (first time step of a token), in_spike [\(c.channels)] (channel c at bit c).
        out: out_valid, out_ready, out_mask [\(c.heads)] (head j at bit j).
        Latency \(c.stages + 1) cycle(s), one beat per cycle; both forms have the same timing.
        """)
    m.parameter("channels", c.channels)
    m.parameter("heads", c.heads)
    m.parameter("stages", c.stages)
    m.parameter("neuron", c.neuron)
    m.parameter("sumWidth", c.sumWidth.map(String.init) ?? "exact")
    m.parameter("form", useOr ? "or (proven)" : "general")

    let inValid = m.input("in_valid", width: 1)
    let inFirst = m.input("in_first", width: 1)
    let inSpike = m.input("in_spike", width: c.channels)
    let outReady = m.input("out_ready", width: 1)

    if useOr {
        var cfg = c.sum
        cfg.tagWidth = 0
        let tree = m.instance(RowTree.build(cfg, any: true), "u_any")
        let buf = SpikeSkidBuffer(m, "out", fields: [("mask", c.heads, false)])
        tree.connect("in_valid", inValid)
        tree.connect("in_spike", inSpike)
        tree.connect("out_ready", buf.ready)
        buf.connect(enqueue: tree.output("out_valid") & buf.ready, payload: [tree.output("out_count")],
                    consumerReady: outReady)
        m.output("in_ready", tree.output("in_ready"))
        m.output("out_valid", buf.valid)
        m.output("out_mask", buf.payload[0])
        _ = inFirst
        return m
    }

    let tree = m.instance(RowTree.build(c.sum, any: false), "u_sum")
    let bank = m.instance(lif, "u_lif")
    let wc = c.sum.countWidth, wi = sums.signedWidth
    let counts = tree.output("out_count")
    let currents = (0..<c.heads).map { j in
        SummationWidths.current(SpikeStreamParts.field(counts, j, wc), width: wi)
    }
    tree.connect("in_valid", inValid)
    tree.connect("in_spike", inSpike)
    tree.connect("in_tag", inFirst)
    tree.connect("out_ready", bank.output("in_ready"))
    bank.connect("in_valid", tree.output("out_valid"))
    bank.connect("in_first", tree.output("out_tag"))
    bank.connect("in_group", .const(0, width: 1))
    bank.connect("in_current", m.wire("sum_current", SpikeStreamParts.pack(currents)))
    bank.connect("out_ready", outReady)
    m.output("in_ready", tree.output("in_ready"))
    m.output("out_valid", bank.output("out_valid"))
    m.output("out_mask", bank.output("out_spike"))
    return m
}
