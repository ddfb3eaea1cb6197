import HDL

/// The weights and neurons of one spiking linear layer, `S = LIF(W x + b)`, as integers on
/// their grids (BatchNorm folded, quantized).
public struct SpikingLayerWeights: Hashable, Sendable {
    /// `W[o][i]`.
    public var weights: [[Int]]
    public var bias: [Int]
    public var neuron: LIFNeuronConfig

    public init(weights: [[Int]], bias: [Int], neuron: LIFNeuronConfig) {
        self.weights = weights
        self.bias = bias
        self.neuron = neuron
    }
}

/// A QKTA (Q-K token attention) block, sized for one stage of one model (SPEC §4):
/// `Q = LIF(W_q x + b_q)`, `K = LIF(W_k x + b_k)`, `A_t = attn_lif(row sums of Q per head)`,
/// `X' = A_t AND K`, `out = LIF(W_p X' + b_p)`.
public struct QKTAConfig: Hashable, Sendable {
    public var channels: Int
    public var heads: Int
    public var timeSteps: Int
    /// `P`: the folding knob. Each accumulator updates `P` outputs per cycle and each LIF bank
    /// steps `P` neurons per beat.
    public var lanes: Int
    /// Input channels per input beat.
    public var inputChunk: Int
    /// The largest input count (1 for spikes, more on SEW residual streams).
    public var maxInputCount: Int
    public var q: SpikingLayerWeights
    public var k: SpikingLayerWeights
    public var proj: SpikingLayerWeights
    public var attention: LIFNeuronConfig
    public var storage: LIFStateStorage
    public var name: String

    public init(channels: Int, heads: Int, timeSteps: Int, lanes: Int, inputChunk: Int? = nil,
                maxInputCount: Int = 1, q: SpikingLayerWeights, k: SpikingLayerWeights,
                proj: SpikingLayerWeights, attention: LIFNeuronConfig = .attention(),
                storage: LIFStateStorage = .registers, name: String = "qkta") {
        self.channels = channels
        self.heads = heads
        self.timeSteps = timeSteps
        self.lanes = lanes
        self.inputChunk = inputChunk ?? min(channels, 64)
        self.maxInputCount = maxInputCount
        self.q = q
        self.k = k
        self.proj = proj
        self.attention = attention
        self.storage = storage
        self.name = name
    }

    /// `G = ceil(C / P)`: lane beats per vector.
    public var groups: Int { (channels + lanes - 1) / lanes }
    /// Input beats per vector.
    public var inputBeats: Int { (channels + inputChunk - 1) / inputChunk }
    /// Bits of one input count.
    public var countWidth: Int { Interval(0, maxInputCount).unsignedWidth }

    public func validate() throws {
        guard channels >= 1 else { throw BlockError("channels is \(channels); give at least 1") }
        guard heads >= 1, channels % heads == 0 else {
            throw BlockError("heads is \(heads); it must divide channels \(channels)")
        }
        guard (1...64).contains(timeSteps) else { throw BlockError("timeSteps is \(timeSteps); choose 1...64") }
        guard (1...256).contains(lanes) else { throw BlockError("lanes is \(lanes); choose 1...256") }
        guard (1...channels).contains(inputChunk) else {
            throw BlockError("inputChunk is \(inputChunk); choose 1...\(channels) channels per input beat")
        }
        for (n, l) in [("q", q), ("k", k), ("proj", proj)] {
            guard l.weights.count == channels, l.weights.allSatisfy({ $0.count == channels }) else {
                throw BlockError("\(n) weights must be \(channels) x \(channels)")
            }
            guard l.bias.count == channels else { throw BlockError("\(n) bias must have \(channels) values") }
        }
    }
}

/// Builds the QKTA accelerator: AXI4-Stream-style input and output, tokens one after another
/// with the `T` time steps of a token innermost, so every LIF state is `O(C)` registers,
/// independent of the number of tokens.
public func makeQKTA(_ c: QKTAConfig) throws -> Module {
    try c.validate()
    let C = c.channels, P = c.lanes, G = c.groups, T = c.timeSteps
    let gw = Memory.addressWidth(depth: G)
    let tw = Memory.addressWidth(depth: T)
    let bw = Memory.addressWidth(depth: c.inputBeats)

    // Sub-blocks.
    let encIn = EventEncoderConfig(channels: C, chunkChannels: c.inputChunk, countWidth: c.countWidth, slots: 1)
    let eventFields = ["event", "channel", "count", "last"]
    let bcast = try makeStreamBroadcast(StreamBroadcastConfig(layout: encIn.format.layout, consumers: 2))
    func accumulator(_ l: SpikingLayerWeights, _ name: String, maxCount: Int) throws -> (Module, Interval) {
        let cfg = SpikeAccumulatorConfig(weights: l.weights, bias: l.bias, lanes: P, maxCount: maxCount, name: "\(c.name)_\(name)_acc")
        return (try makeSpikeAccumulator(cfg), try cfg.widths().currentRange)
    }
    func bank(_ l: SpikingLayerWeights, _ name: String, current: Interval) throws -> Module {
        try makeLIFBank(LIFBankConfig(neurons: C, lanes: P, neuron: l.neuron, current: current,
                                      storage: c.storage, name: "\(c.name)_\(name)_lif"))
    }
    let (accQ, rangeQ) = try accumulator(c.q, "q", maxCount: c.maxInputCount)
    let (accK, rangeK) = try accumulator(c.k, "k", maxCount: c.maxInputCount)
    let (accP, rangeP) = try accumulator(c.proj, "proj", maxCount: 1)
    let lifQ = try bank(c.q, "q", current: rangeQ)
    let lifK = try bank(c.k, "k", current: rangeK)
    let lifP = try bank(c.proj, "proj", current: rangeP)
    let gather = try makeVectorGather(channels: C, lanes: P, name: "\(c.name)_q_gather")
    let attn = try makeTokenAttention(TokenAttentionConfig(channels: C, heads: c.heads, neuron: c.attention,
                                                           name: "\(c.name)_token_attn"))
    let mask = try makeMaskAttention(MaskAttentionConfig(channels: C, lanes: P, kind: .token(heads: c.heads),
                                                         name: "\(c.name)_mask"))
    let encX = try makeEventEncoder(EventEncoderConfig(channels: C, chunkChannels: min(P, C), countWidth: 1, slots: 1))

    let m = Module("\(c.name)_c\(C)_h\(c.heads)_t\(T)_p\(P)", doc: """
        QKTA: Q-K token attention accelerator (SPEC §4), C = \(C) channels, h = \(c.heads) heads, T = \(T) time steps.
        Q = LIF(Wq x + bq), K = LIF(Wk x + bk), A_t = attn_lif(row sums of Q per head),
        X' = A_t AND K (head broadcast), out = LIF(Wp X' + bp).

        Input stream s_axis (one vector per token and time step; tokens in order, the T time steps
        of a token innermost; a vector is \(c.inputBeats) beat(s) of \(c.inputChunk) channels):
          s_axis_tdata  [\(c.inputChunk * c.countWidth - 1):0]  count of channel beat*\(c.inputChunk) + j at bits [j*\(c.countWidth) +: \(c.countWidth)]
          s_axis_tlast  last beat of a vector
          s_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        s_axis_error goes high (sticky) if tlast or tuser disagree with the beat count.
        Output stream m_axis (one vector per token and time step, \(G) beat(s) of \(P) spikes):
          m_axis_tdata  [\(P - 1):0]  spike of channel group*\(P) + j at bit j (bits past C are 0)
          m_axis_tlast  last beat of a vector
          m_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        Work per vector: (input events) x \(G) cycles in the Q and K accumulators (in parallel),
        then (masked K events) x \(G) cycles in the projection accumulator, overlapped with the
        next vector. All LIF state is O(C) and independent of the number of tokens.
        Latency is data-dependent: a vector's output starts after its Q path (accumulate, LIF,
        gather, row sums, attention LIF) has produced the token mask and its X' events have been
        accumulated, i.e. about (input events + X' events) x \(G) cycles plus a fixed pipeline of a
        few tens of cycles. Throughput is one vector per max(input events, X' events) x \(G) cycles.
        Thresholds are per layer (one grid per layer), so they are constants, not memories.
        """)
    m.parameter("channels", C)
    m.parameter("heads", c.heads)
    m.parameter("timeSteps", T)
    m.parameter("lanes", P)
    m.parameter("inputChunk", c.inputChunk)
    m.parameter("maxInputCount", c.maxInputCount)
    m.parameter("storage", c.storage.rawValue)

    let sValid = m.input("s_axis_tvalid", width: 1)
    let sData = m.input("s_axis_tdata", width: c.inputChunk * c.countWidth)
    let sLast = m.input("s_axis_tlast", width: 1)
    let sUser = m.input("s_axis_tuser", width: 2)
    let mReady = m.input("m_axis_tready", width: 1)

    // Input: event encoder, then a broadcast to the Q and K accumulators.
    let uEnc = m.instance(try makeEventEncoder(encIn), "u_enc_in")
    uEnc.connect("in_valid", sValid)
    uEnc.connect("in_counts", sData)
    let sReady = uEnc.output("in_ready")
    let uB = m.instance(bcast, "u_bcast")
    uB.takeStream("in", from: uEnc, "out", fields: eventFields)
    let uAccQ = m.instance(accQ, "u_acc_q")
    uAccQ.takeStream("in", from: uB, "out0", fields: eventFields)
    let uAccK = m.instance(accK, "u_acc_k")
    uAccK.takeStream("in", from: uB, "out1", fields: eventFields)

    // Input protocol check: tlast and tuser must match the beat and time-step count.
    let sFire = m.wire("s_fire", sValid & sReady)
    let beat = m.reg("s_beat", width: bw, reset: 0)
    let step = m.reg("s_step", width: tw, reset: 0)
    let lastBeat = m.wire("s_last_beat", beat.eq(.const(c.inputBeats - 1, width: bw)))
    let lastStep = step.eq(.const(T - 1, width: tw))
    m.next(beat, mux(lastBeat, .const(0, width: bw), beat +% .const(1, width: bw)), enable: sFire)
    m.next(step, mux(lastStep, .const(0, width: tw), step +% .const(1, width: tw)), enable: sFire & lastBeat)
    let firstBeat = beat.eq(.const(0, width: bw))
    let expectedUser = cat(firstBeat & step.eq(.const(0, width: tw)), firstBeat)
    let bad = m.wire("s_protocol_bad", sLast.ne(lastBeat) | sUser.ne(expectedUser))
    let error = m.reg("s_error", width: 1, reset: 0)
    m.next(error, error | (sFire & bad))

    /// Accumulator results into a LIF bank, with `first` on the first time step of each token.
    func feedBank(_ acc: Instance, _ lif: Instance, _ tag: String) {
        let t = m.reg("\(tag)_step", width: tw, reset: 0)
        lif.connect("in_valid", acc.output("out_valid"))
        lif.connect("in_group", acc.output("out_group"))
        lif.connect("in_current", acc.output("out_current"))
        lif.connect("in_first", t.eq(.const(0, width: tw)))
        acc.connect("out_ready", lif.output("in_ready"))
        let done = acc.output("out_valid") & lif.output("in_ready") & acc.output("out_last")
        m.next(t, mux(t.eq(.const(T - 1, width: tw)), .const(0, width: tw), t +% .const(1, width: tw)), enable: done)
    }
    let uLifQ = m.instance(lifQ, "u_lif_q")
    feedBank(uAccQ, uLifQ, "q")
    let uLifK = m.instance(lifK, "u_lif_k")
    feedBank(uAccK, uLifK, "k")

    // Q spikes: whole vectors, row sums per head, attention LIF: the token mask.
    let uGather = m.instance(gather, "u_q_gather")
    uGather.takeStream("in", from: uLifQ, "out", fields: ["first", "group", "spike"])
    let uAttn = m.instance(attn, "u_token_attn")
    uAttn.takeStream("in", from: uGather, "out", fields: ["first", "spike"])

    // X' = A_t AND K.
    let uMask = m.instance(mask, "u_mask")
    uMask.connect("a_valid", uAttn.output("out_valid"))
    uMask.connect("a_mask", uAttn.output("out_mask"))
    uAttn.connect("out_ready", uMask.output("a_ready"))
    uMask.connect("k_valid", uLifK.output("out_valid"))
    uMask.connect("k_group", uLifK.output("out_group"))
    uMask.connect("k_last", uLifK.output("out_group").eq(.const(G - 1, width: gw)))
    uMask.connect("k_spike", uLifK.output("out_spike"))
    uLifK.connect("out_ready", uMask.output("k_ready"))

    // Projection: masked K spikes to events, accumulate, LIF.
    let uEncX = m.instance(encX, "u_enc_x")
    uEncX.connect("in_valid", uMask.output("out_valid"))
    uEncX.connect("in_counts", uMask.output("out_spike").truncate(to: min(P, C)))
    uMask.connect("out_ready", uEncX.output("in_ready"))
    let uAccP = m.instance(accP, "u_acc_proj")
    uAccP.takeStream("in", from: uEncX, "out", fields: eventFields)
    let uLifP = m.instance(lifP, "u_lif_proj")
    feedBank(uAccP, uLifP, "proj")
    uLifP.connect("out_ready", mReady)

    let outGroup = uLifP.output("out_group")
    let groupZero = outGroup.eq(.const(0, width: gw))
    m.output("s_axis_tready", sReady)
    m.output("s_axis_error", error)
    m.output("m_axis_tvalid", uLifP.output("out_valid"))
    m.output("m_axis_tdata", uLifP.output("out_spike"))
    m.output("m_axis_tlast", outGroup.eq(.const(G - 1, width: gw)))
    m.output("m_axis_tuser", cat(groupZero & uLifP.output("out_first"), groupZero))
    return m
}
