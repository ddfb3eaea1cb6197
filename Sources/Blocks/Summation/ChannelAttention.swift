import HDL

/// The QKCA channel mask (docs/arithmetic.md §2): per channel, the column sum of Q over the `N`
/// tokens of a time step, then the attention LIF, `A_c[channel]`, which evolves over the time
/// steps of a sample.
public struct ChannelAttentionConfig: Hashable, Sendable {
    /// `C`, the channels.
    public var channels: Int
    /// `P`, channels per beat (`P > C` allowed).
    public var lanes: Int
    /// `N`, the tokens of a time step (at most).
    public var tokens: Int
    /// The attention neuron (`attn_lif`); its current is the integer sum.
    public var neuron: LIFNeuronConfig
    /// A forced signed width for the sums (saturating), or nil for exact sums.
    public var sumWidth: Int?
    public var form: AttentionForm
    /// Where the general form keeps the `C` attention membranes.
    public var storage: LIFStateStorage
    public var name: String

    public init(channels: Int, lanes: Int, tokens: Int, neuron: LIFNeuronConfig = .attention(),
                sumWidth: Int? = nil, form: AttentionForm = .automatic, storage: LIFStateStorage = .auto,
                name: String = "channel_attn") {
        self.channels = channels
        self.lanes = lanes
        self.tokens = tokens
        self.neuron = neuron
        self.sumWidth = sumWidth
        self.form = form
        self.storage = storage
        self.name = name
    }

    var sum: ColumnSummationConfig {
        ColumnSummationConfig(channels: channels, lanes: lanes, tokens: tokens, tagWidth: 1, sumWidth: sumWidth,
                              name: "\(name)_sum")
    }

    /// Whether the OR form is exact for these parameters, and why.
    public var proof: AttentionOrProof { AttentionOrProof.check(neuron: neuron, maxSum: sum.maxSum) }

    /// Whether `makeChannelAttention` emits the OR form.
    public func usesOrForm() throws -> Bool { try AttentionOrProof.resolve(form, proof) }
}

/// Builds the QKCA channel-mask generator.
///
/// Ports: `in_valid`, `in_ready`, `in_group`, `in_first` (a group's first token of the time
/// step), `in_last` (its last token), `in_step_first` (read with `in_last`: this is the first
/// time step of the sample, the attention neurons restart from `vr`), `in_spike` (`P` Q
/// spikes, channel `g*P + j` on lane `j`); `out_valid`, `out_ready`, `out_group`, `out_mask`
/// (`P` bits; lanes past `C` read 0). One output beat per `in_last` beat.
///
/// General form: column counters into a LIF bank of `C` neurons over `P` lanes (registers or
/// RAM); latency 2 (registers) or 3 (RAM). OR form (where `AttentionOrProof` holds): one bit
/// per channel, OR-ed over the tokens, then one output register stage: latency 2, the same
/// timing as the general form with registers; `in_step_first` is unused.
public func makeChannelAttention(_ config: ChannelAttentionConfig) throws -> Module {
    let c = config
    try c.sum.validate()
    let sums = Interval(0, c.sum.maxSum)
    let useOr = try c.usesOrForm()
    let storage = c.storage.resolvedWithoutWaits(groups: (c.channels + c.lanes - 1) / max(c.lanes, 1))
    let lifConfig = LIFBankConfig(neurons: c.channels, lanes: c.lanes, neuron: c.neuron, current: sums,
                                  storage: storage, name: "\(c.name)_lif")
    let lif = try makeLIFBank(lifConfig)   // validates the neuron in both forms
    let g = c.sum.groups, gw = SpikeStreamParts.indexWidth(g)
    let key = "C=\(c.channels) P=\(c.lanes) N=\(c.tokens) \(c.neuron) w=\(c.sumWidth.map(String.init) ?? "exact") \(storage) or=\(useOr)"
    let m = Module("\(c.name)_c\(c.channels)_p\(c.lanes)_n\(c.tokens)_\(useOr ? "or" : "lif")_\(SpikeStreamParts.fingerprint(key))", doc: """
        QKCA channel mask (docs/arithmetic.md §2): A[c] = attn_lif(sum over the \(c.tokens) tokens of Q[token, c]), \(c.channels) channels over \(c.lanes) lanes.
        Attention neuron: \(c.neuron); sums in \(sums).
        \(useOr ? "OR form: \(c.proof)." : "General form: column counters into \(c.channels) LIF neurons (\(storage.rawValue)). \(c.proof).")
        in:  in_valid, in_ready, in_group [\(gw)], in_first (first token of the step), in_last (last token: emit),
             in_step_first (with in_last: first time step of the sample), in_spike [\(c.lanes)] (channel g*\(c.lanes)+j on lane j).
        out: out_valid, out_ready, out_group [\(gw)], out_mask [\(c.lanes)] (lane j at bit j). One beat per in_last beat.
        Latency \(useOr || storage == .registers ? 2 : storage == .ram ? 3 : 5) cycles, one input beat per cycle unstalled.
        """)
    m.parameter("channels", c.channels)
    m.parameter("lanes", c.lanes)
    m.parameter("tokens", c.tokens)
    m.parameter("neuron", c.neuron)
    m.parameter("sumWidth", c.sumWidth.map(String.init) ?? "exact")
    m.parameter("storage", storage.rawValue)
    m.parameter("form", useOr ? "or (proven)" : "general")

    let inValid = m.input("in_valid", width: 1)
    let inGroup = m.input("in_group", width: gw)
    let inFirst = m.input("in_first", width: 1)
    let inLast = m.input("in_last", width: 1)
    let inStepFirst = m.input("in_step_first", width: 1)
    let inSpike = m.input("in_spike", width: c.lanes)
    let outReady = m.input("out_ready", width: 1)

    let counterConfig: ColumnSummationConfig = {
        var s = c.sum
        if useOr { s.tagWidth = 0 }
        return s
    }()
    let counter = m.instance(ColumnCounter.build(counterConfig, any: useOr), useOr ? "u_any" : "u_sum")
    counter.connect("in_valid", inValid)
    counter.connect("in_group", inGroup)
    counter.connect("in_first", inFirst)
    counter.connect("in_last", inLast)
    counter.connect("in_spike", inSpike)
    m.output("in_ready", counter.output("in_ready"))

    if useOr {
        let buf = SpikeSkidBuffer(m, "out", fields: [("group", gw, false), ("mask", c.lanes, false)])
        counter.connect("out_ready", buf.ready)
        buf.connect(enqueue: counter.output("out_valid") & buf.ready,
                    payload: [counter.output("out_group"), counter.output("out_count")], consumerReady: outReady)
        m.output("out_valid", buf.valid)
        m.output("out_group", buf.payload[0])
        m.output("out_mask", buf.payload[1])
        _ = inStepFirst
        return m
    }

    counter.connect("in_tag", inStepFirst)
    let bank = m.instance(lif, "u_lif")
    let wc = c.sum.countWidth, wi = sums.signedWidth
    let counts = counter.output("out_count")
    let currents = (0..<c.lanes).map { j in
        SummationWidths.current(SpikeStreamParts.field(counts, j, wc), width: wi)
    }
    counter.connect("out_ready", bank.output("in_ready"))
    bank.connect("in_valid", counter.output("out_valid"))
    bank.connect("in_first", counter.output("out_tag"))
    bank.connect("in_group", counter.output("out_group"))
    bank.connect("in_current", m.wire("sum_current", SpikeStreamParts.pack(currents)))
    bank.connect("out_ready", outReady)
    m.output("out_valid", bank.output("out_valid"))
    m.output("out_group", bank.output("out_group"))
    m.output("out_mask", bank.output("out_spike"))
    return m
}
