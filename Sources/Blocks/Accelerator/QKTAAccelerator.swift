import Description
import HDL

/// The weights and neurons of one spiking linear layer, `S = LIF(W x + b)`, as integers on
/// their grids (BatchNorm folded, quantized).
public struct SpikingLayerWeights: Hashable, Sendable {
    /// `W[o][i]`.
    public var weights: [[Int]]
    public var bias: [Int]
    public var neuron: LIFNeuronConfig
    /// One threshold per output channel when the layer was quantized per channel (each channel
    /// on its own grid), or nil for `neuron.threshold` everywhere.
    public var thresholds: [Int]?

    public init(weights: [[Int]], bias: [Int], neuron: LIFNeuronConfig, thresholds: [Int]? = nil) {
        self.weights = weights
        self.bias = bias
        self.neuron = neuron
        self.thresholds = thresholds
    }

    /// The accumulator and the LIF bank the generator builds for this layer: one definition, so
    /// that anything sizing the layer (the estimator) sees exactly the generated widths.
    public func configs(channels: Int, lanes: Int, maxCount: Int, storage: LIFStateStorage,
                        name: String) throws -> (accumulator: SpikeAccumulatorConfig, lif: LIFBankConfig) {
        let acc = SpikeAccumulatorConfig(weights: weights, bias: bias, lanes: lanes, maxCount: maxCount, name: "\(name)_acc")
        let lif = LIFBankConfig(neurons: channels, lanes: lanes, neuron: neuron, current: try acc.widths().currentRange,
                                storage: storage.resolved(groups: (channels + lanes - 1) / max(lanes, 1)),
                                name: "\(name)_lif", thresholds: thresholds)
        return (acc, lif)
    }
}

/// A QKTA (Q-K token attention) block, sized for one stage of one model (docs/arithmetic.md §6):
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
                storage: LIFStateStorage = .auto, name: String = "qkta") {
        self.channels = channels
        self.heads = heads
        self.timeSteps = timeSteps
        self.lanes = lanes
        self.inputChunk = inputChunk ?? Self.defaultInputChunk(channels: channels)
        self.maxInputCount = maxInputCount
        self.q = q
        self.k = k
        self.proj = proj
        self.attention = attention
        self.storage = storage
        self.name = name
    }

    /// `G = ceil(C / P)`: lane beats per vector.
    /// Input channels per `s_axis` beat when none is given: the whole vector up to 64 channels.
    public static func defaultInputChunk(channels: Int) -> Int { min(channels, 64) }

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
            if let th = l.thresholds, th.count != channels {
                throw BlockError("\(n) thresholds must have \(channels) values, one per output channel")
            }
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

    let gather = try makeVectorGather(channels: C, lanes: P, name: "\(c.name)_q_gather")
    let attn = try makeTokenAttention(TokenAttentionConfig(channels: C, heads: c.heads, neuron: c.attention,
                                                           name: "\(c.name)_token_attn"))
    let mask = try makeMaskAttention(MaskAttentionConfig(channels: C, lanes: P, kind: .token(heads: c.heads),
                                                         name: "\(c.name)_mask"))

    let m = Module("\(c.name)_c\(C)_h\(c.heads)_t\(T)_p\(P)", doc: """
        QKTA: Q-K token attention accelerator (docs/arithmetic.md §6), C = \(C) channels, h = \(c.heads) heads, T = \(T) time steps.
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

    let input = try AttentionInput(m, c)
    let uLifQ = input.lifQ, uLifK = input.lifK

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

    // Projection: masked K spikes to events, accumulate, LIF, m_axis.
    let xReady = try attentionProjection(m, c, valid: uMask.output("out_valid"),
                                         spikes: uMask.output("out_spike").truncate(to: min(P, C)))
    uMask.connect("out_ready", xReady)
    return m
}
