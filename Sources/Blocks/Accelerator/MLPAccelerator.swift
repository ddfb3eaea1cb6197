import HDL

/// A QKFormer MLP (docs/arithmetic.md §6): `h = LIF(W1 x + b1)` with `hidden` (= mlpRatio * C)
/// outputs, `y = LIF(W2 h + b2)` with `C` outputs; token-local, so every LIF state is `O(C)`.
public struct MLPConfig: Hashable, Sendable {
    public var channels: Int
    public var hidden: Int
    public var timeSteps: Int
    /// `P`: fc2 updates `P` outputs per cycle; the fc2 LIF bank and `m_axis` carry `P` lanes.
    public var lanes: Int
    /// `P1`: fc1 updates `P1` of its `hidden` outputs per cycle. The default,
    /// `P * hidden / C` (at most 256), gives both layers the same cycles per event.
    public var hiddenLanes: Int
    /// Input channels per input beat.
    public var inputChunk: Int
    /// The largest input count (SEW counts: docs/arithmetic.md §5).
    public var maxInputCount: Int
    /// `hidden x C`.
    public var fc1: SpikingLayerWeights
    /// `C x hidden`.
    public var fc2: SpikingLayerWeights
    public var storage: LIFStateStorage
    public var name: String

    public init(channels: Int, hidden: Int, timeSteps: Int, lanes: Int, hiddenLanes: Int? = nil, inputChunk: Int? = nil,
                maxInputCount: Int = 1, fc1: SpikingLayerWeights, fc2: SpikingLayerWeights,
                storage: LIFStateStorage = .auto, name: String = "mlp") {
        self.channels = channels
        self.hidden = hidden
        self.timeSteps = timeSteps
        self.lanes = lanes
        self.hiddenLanes = hiddenLanes ?? max(1, min(256, (lanes * hidden + channels - 1) / max(channels, 1)))
        self.inputChunk = inputChunk ?? QKTAConfig.defaultInputChunk(channels: channels)
        self.maxInputCount = maxInputCount
        self.fc1 = fc1
        self.fc2 = fc2
        self.storage = storage
        self.name = name
    }

    /// `G = ceil(C / P)`: output beats per vector and fc2 cycles per event.
    public var groups: Int { (channels + lanes - 1) / lanes }
    /// `G1 = ceil(hidden / P1)`: fc1 cycles per event.
    public var hiddenGroups: Int { (hidden + hiddenLanes - 1) / hiddenLanes }
    public var inputBeats: Int { (channels + inputChunk - 1) / inputChunk }
    public var countWidth: Int { Interval(0, maxInputCount).unsignedWidth }
    public var inputFormat: CountStreamFormat {
        CountStreamFormat(channels: channels, lanes: inputChunk, countWidth: countWidth, timeSteps: timeSteps)
    }
    /// Spikes: `P` lanes of 1 bit.
    public var outputFormat: CountStreamFormat {
        CountStreamFormat(channels: channels, lanes: lanes, countWidth: 1, timeSteps: timeSteps)
    }

    public func validate() throws {
        guard channels >= 1 else { throw BlockError("channels is \(channels); give at least 1") }
        guard hidden >= 1 else { throw BlockError("hidden is \(hidden); give at least 1 (mlpRatio x channels)") }
        guard (1...64).contains(timeSteps) else { throw BlockError("timeSteps is \(timeSteps); choose 1...64") }
        guard (1...256).contains(lanes) else { throw BlockError("lanes is \(lanes); choose 1...256") }
        guard (1...256).contains(hiddenLanes) else { throw BlockError("hiddenLanes is \(hiddenLanes); choose 1...256") }
        guard (1...channels).contains(inputChunk) else {
            throw BlockError("inputChunk is \(inputChunk); choose 1...\(channels) channels per input beat")
        }
        guard (1...255).contains(maxInputCount) else { throw BlockError("maxInputCount is \(maxInputCount); choose 1...255") }
        for (n, l, o, i) in [("fc1", fc1, hidden, channels), ("fc2", fc2, channels, hidden)] {
            guard l.weights.count == o, l.weights.allSatisfy({ $0.count == i }) else {
                throw BlockError("\(n) weights must be \(o) x \(i) (outputs x inputs)")
            }
            guard l.bias.count == o else { throw BlockError("\(n) bias must have \(o) values") }
            if let th = l.thresholds, th.count != o {
                throw BlockError("\(n) thresholds must have \(o) values, one per output channel")
            }
        }
    }
}

/// Builds the MLP accelerator. Input and output as QKTA's (tokens in order, the `T` time steps
/// of a token innermost); the output is one spike vector per input vector, in the same order.
public func makeMLP(_ c: MLPConfig) throws -> Module {
    try c.validate()
    let C = c.channels, H = c.hidden, P = c.lanes, P1 = c.hiddenLanes, G = c.groups, T = c.timeSteps
    let gw = Memory.addressWidth(depth: G)
    let storage = c.storage.forTimeSteps(T).pipelinedAtAnyGroups
    let fc1 = try c.fc1.configs(channels: H, lanes: P1, maxCount: c.maxInputCount, storage: storage, name: "\(c.name)_fc1")
    let fc2 = try c.fc2.configs(channels: C, lanes: P, maxCount: 1, storage: storage, name: "\(c.name)_fc2")
    let encIn = EventEncoderConfig(channels: C, chunkChannels: c.inputChunk, countWidth: c.countWidth, slots: 1)
    let encH = EventEncoderConfig(channels: H, chunkChannels: min(P1, H), countWidth: 1, slots: 1)

    let m = Module("\(c.name)_c\(C)_h\(H)_t\(T)_p\(P)", doc: """
        MLP (docs/arithmetic.md §6), C = \(C) channels, hidden = \(H), T = \(T) time steps:
        h = LIF(W1 x + b1) (\(H) neurons), y = LIF(W2 h + b2) (\(C) neurons); every LIF state is O(C), independent of N.
        Input stream s_axis (one vector per token and time step; tokens in order, the T time steps of a token
        innermost; a vector is \(c.inputBeats) beat(s) of \(c.inputChunk) counts of \(c.countWidth) bit(s), counts 0...\(c.maxInputCount)):
          s_axis_tdata  [\(c.inputChunk * c.countWidth - 1):0]  count of channel beat*\(c.inputChunk) + j at bits [j*\(c.countWidth) +: \(c.countWidth)]
          s_axis_tlast  last beat of a vector
          s_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        s_axis_error goes high (sticky) if tlast or tuser disagree with the beat count.
        Output stream m_axis (one vector per input vector, same order; \(G) beat(s) of \(P) spikes):
          m_axis_tdata  [\(P - 1):0]  spike of channel group*\(P) + j at bit j (bits past C are 0)
          m_axis_tlast  last beat of a vector
          m_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        Folding: fc1 has \(P1) lanes (\(c.hiddenGroups) cycles per input event), fc2 \(P) lanes (\(G) cycles per hidden spike).
        Work per vector: input events x \(c.hiddenGroups) cycles in fc1, then hidden spikes x \(G) cycles in fc2, overlapped
        with the next vector. Latency is data-dependent: about (input events x \(c.hiddenGroups) + hidden spikes x \(G)) cycles
        plus a fixed pipeline of a few tens of cycles.
        \(streamBlockConventions(memories: true))
        """)
    m.parameter("channels", C)
    m.parameter("hidden", H)
    m.parameter("timeSteps", T)
    m.parameter("lanes", P)
    m.parameter("hiddenLanes", P1)
    m.parameter("inputChunk", c.inputChunk)
    m.parameter("maxInputCount", c.maxInputCount)
    m.parameter("storage", c.storage.rawValue)

    let sValid = m.input("s_axis_tvalid", width: 1)
    let sData = m.input("s_axis_tdata", width: c.inputChunk * c.countWidth)
    let sLast = m.input("s_axis_tlast", width: 1)
    let sUser = m.input("s_axis_tuser", width: 2)
    let mReady = m.input("m_axis_tready", width: 1)

    // fc1: input counts to events, accumulate, LIF.
    let uEnc = m.instance(try makeEventEncoder(encIn), "u_enc_in")
    uEnc.connect("in_valid", sValid)
    uEnc.connect("in_counts", sData)
    let sReady = uEnc.output("in_ready")
    let uAcc1 = m.instance(try makeSpikeAccumulator(fc1.accumulator), "u_acc_fc1")
    uAcc1.takeStream("in", from: uEnc, "out", fields: AttentionInput.eventFields)
    let uLif1 = m.instance(try makeLIFBank(fc1.lif), "u_lif_fc1")
    feedBank(m, uAcc1, uLif1, "fc1", timeSteps: T)

    // fc2: hidden spikes (P1-lane beats in group order) to events, accumulate, LIF.
    let uEncH = m.instance(try makeEventEncoder(encH), "u_enc_hidden")
    uEncH.connect("in_valid", uLif1.output("out_valid"))
    uEncH.connect("in_counts", uLif1.output("out_spike").truncate(to: min(P1, H)))
    uLif1.connect("out_ready", uEncH.output("in_ready"))
    let uAcc2 = m.instance(try makeSpikeAccumulator(fc2.accumulator), "u_acc_fc2")
    uAcc2.takeStream("in", from: uEncH, "out", fields: AttentionInput.eventFields)
    let uLif2 = m.instance(try makeLIFBank(fc2.lif), "u_lif_fc2")
    feedBank(m, uAcc2, uLif2, "fc2", timeSteps: T)

    uLif2.connect("out_ready", mReady)
    let outGroup = uLif2.output("out_group")
    let groupZero = outGroup.eq(.const(0, width: gw))
    m.output("m_axis_tvalid", uLif2.output("out_valid"))
    m.output("m_axis_tdata", uLif2.output("out_spike"))
    m.output("m_axis_tlast", outGroup.eq(.const(G - 1, width: gw)))
    m.output("m_axis_tuser", cat(groupZero & uLif2.output("out_first"), groupZero))

    let error = streamProtocolCheck(m, "s", fire: sValid & sReady, last: sLast, user: sUser,
                                    beats: c.inputBeats, timeSteps: T)
    m.output("s_axis_tready", sReady)
    m.output("s_axis_error", error)
    return m
}
