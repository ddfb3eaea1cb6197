import HDL

/// What the attention blocks (QKTA, QKCA and SSA) have in common: their size, layers and
/// folding, and so their input side and projection side.
protocol AttentionShape {
    var channels: Int { get }
    var timeSteps: Int { get }
    var lanes: Int { get }
    var inputChunk: Int { get }
    var maxInputCount: Int { get }
    var q: SpikingLayerWeights { get }
    var k: SpikingLayerWeights { get }
    var proj: SpikingLayerWeights { get }
    var storage: LIFStateStorage { get }
    var name: String { get }
    var groups: Int { get }
    var inputBeats: Int { get }
    var countWidth: Int { get }
}

extension QKTAConfig: AttentionShape {}
extension QKCAConfig: AttentionShape {}
extension SSAConfig: AttentionShape {}

/// The input side the blocks share: the `s_axis` ports and their protocol check, the event
/// encoder, the broadcast to the Q and K (and SSA's V) accumulators, and their LIF banks.
struct AttentionInput {
    /// The Q and K LIF banks, whose `out_*` streams the caller consumes.
    let lifQ: Instance
    let lifK: Instance
    /// SSA's V LIF bank, when a V layer was given.
    let lifV: Instance?

    static let eventFields = ["event", "channel", "count", "last"]

    /// An event-driven accumulator of `P` lanes and the LIF bank it feeds.
    static func layer(_ c: some AttentionShape, _ l: SpikingLayerWeights, _ tag: String, maxCount: Int) throws -> (acc: Module, lif: Module) {
        let cfg = try l.configs(channels: c.channels, lanes: c.lanes, maxCount: maxCount,
                                storage: c.storage.forTimeSteps(c.timeSteps), name: "\(c.name)_\(tag)")
        return (try makeSpikeAccumulator(cfg.accumulator), try makeLIFBank(cfg.lif))
    }

    /// Declares `s_axis_*` and `s_axis_error` on `m` and builds the input side; `v` adds a third
    /// projection (SSA's V) beside Q and K.
    init(_ m: Module, _ c: some AttentionShape, v: SpikingLayerWeights? = nil) throws {
        let T = c.timeSteps
        let tw = Memory.addressWidth(depth: T), bw = Memory.addressWidth(depth: c.inputBeats)
        let encIn = EventEncoderConfig(channels: c.channels, chunkChannels: c.inputChunk, countWidth: c.countWidth, slots: 1)
        let (accQ, lifQ) = try Self.layer(c, c.q, "q", maxCount: c.maxInputCount)
        let (accK, lifK) = try Self.layer(c, c.k, "k", maxCount: c.maxInputCount)
        let vLayer = try v.map { try Self.layer(c, $0, "v", maxCount: c.maxInputCount) }

        let sValid = m.input("s_axis_tvalid", width: 1)
        let sData = m.input("s_axis_tdata", width: c.inputChunk * c.countWidth)
        let sLast = m.input("s_axis_tlast", width: 1)
        let sUser = m.input("s_axis_tuser", width: 2)
        let uEnc = m.instance(try makeEventEncoder(encIn), "u_enc_in")
        uEnc.connect("in_valid", sValid)
        uEnc.connect("in_counts", sData)
        let sReady = uEnc.output("in_ready")
        let uB = m.instance(try makeStreamBroadcast(StreamBroadcastConfig(layout: encIn.format.layout, consumers: vLayer == nil ? 2 : 3)), "u_bcast")
        uB.takeStream("in", from: uEnc, "out", fields: Self.eventFields)
        let uAccQ = m.instance(accQ, "u_acc_q")
        uAccQ.takeStream("in", from: uB, "out0", fields: Self.eventFields)
        let uAccK = m.instance(accK, "u_acc_k")
        uAccK.takeStream("in", from: uB, "out1", fields: Self.eventFields)
        let uAccV = vLayer.map { l -> Instance in
            let u = m.instance(l.acc, "u_acc_v")
            u.takeStream("in", from: uB, "out2", fields: Self.eventFields)
            return u
        }

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
        m.output("s_axis_tready", sReady)
        m.output("s_axis_error", error)

        self.lifQ = m.instance(lifQ, "u_lif_q")
        feedBank(m, uAccQ, self.lifQ, "q", timeSteps: T)
        self.lifK = m.instance(lifK, "u_lif_k")
        feedBank(m, uAccK, self.lifK, "k", timeSteps: T)
        if let l = vLayer, let acc = uAccV {
            let u = m.instance(l.lif, "u_lif_v")
            feedBank(m, acc, u, "v", timeSteps: T)
            lifV = u
        } else {
            lifV = nil
        }
    }
}

/// The projection side both blocks share: masked K spikes (`P`-lane beats in vector order)
/// to events, the projection accumulator and LIF bank, and the `m_axis` ports. Returns the
/// event encoder's input ready, for the caller's masked-spike stream.
func attentionProjection(_ m: Module, _ c: some AttentionShape, valid: Expr, spikes: Expr) throws -> Expr {
    let G = c.groups, gw = Memory.addressWidth(depth: G)
    let mReady = m.input("m_axis_tready", width: 1)
    let encX = try makeEventEncoder(EventEncoderConfig(channels: c.channels, chunkChannels: min(c.lanes, c.channels), countWidth: 1, slots: 1))
    let (accP, lifP) = try AttentionInput.layer(c, c.proj, "proj", maxCount: 1)
    let uEncX = m.instance(encX, "u_enc_x")
    uEncX.connect("in_valid", valid)
    uEncX.connect("in_counts", spikes)
    let uAccP = m.instance(accP, "u_acc_proj")
    uAccP.takeStream("in", from: uEncX, "out", fields: AttentionInput.eventFields)
    let uLifP = m.instance(lifP, "u_lif_proj")
    feedBank(m, uAccP, uLifP, "proj", timeSteps: c.timeSteps)
    uLifP.connect("out_ready", mReady)
    let outGroup = uLifP.output("out_group")
    let groupZero = outGroup.eq(.const(0, width: gw))
    m.output("m_axis_tvalid", uLifP.output("out_valid"))
    m.output("m_axis_tdata", uLifP.output("out_spike"))
    m.output("m_axis_tlast", outGroup.eq(.const(G - 1, width: gw)))
    m.output("m_axis_tuser", cat(groupZero & uLifP.output("out_first"), groupZero))
    return uEncX.output("in_ready")
}

/// Accumulator results into a LIF bank, with `first` on the first time step of each token
/// (every neuron of the Q, K and projection banks evolves over the T steps of one token). With
/// one step every beat starts its token: `first` is the constant 1, so synthesis drops the
/// bank's membrane state and its read mux (a step counter that stays at 0 hid that from Yosys,
/// and the bank's update then ran at 79 to 86 MHz placed, held-out seeds 16 and 17).
func feedBank(_ m: Module, _ acc: Instance, _ lif: Instance, _ tag: String, timeSteps T: Int) {
    lif.connect("in_valid", acc.output("out_valid"))
    lif.connect("in_group", acc.output("out_group"))
    lif.connect("in_current", acc.output("out_current"))
    acc.connect("out_ready", lif.output("in_ready"))
    if T == 1 {
        lif.connect("in_first", .const(1, width: 1))
        return
    }
    let tw = Memory.addressWidth(depth: T)
    let t = m.reg("\(tag)_step", width: tw, reset: 0)
    lif.connect("in_first", t.eq(.const(0, width: tw)))
    let done = acc.output("out_valid") & lif.output("in_ready") & acc.output("out_last")
    m.next(t, mux(t.eq(.const(T - 1, width: tw)), .const(0, width: tw), t +% .const(1, width: tw)), enable: done)
}
