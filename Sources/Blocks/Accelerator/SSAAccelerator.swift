import HDL

/// An SSA block (Spikformer's spiking self-attention, QKFormer's last stage; docs/arithmetic.md
/// §6): `Q, K, V = LIF(W x + b)`; per time step `t` and head (`d = C / heads`, channel `c` is lane
/// `c % d` of head `c / d`) `S_t = K_t^T V_t` summed over the `N` tokens, `c = Q S_t`, the attention
/// neuron `attn_lif(c / 8)` per token and channel (threshold 0.5, over the `T` time steps of a
/// token), then `out = LIF(Wp A + bp)`.
public struct SSAConfig: Hashable, Sendable {
    public var channels: Int
    public var heads: Int
    public var timeSteps: Int
    /// `N`, the tokens of one sample: `S` needs all of them before the first output.
    public var tokens: Int
    /// `P`: each accumulator updates `P` outputs per cycle and each LIF bank steps `P` neurons
    /// per beat; the Q buffer holds words of `min(P, C)` spikes.
    public var lanes: Int
    /// Input channels per input beat.
    public var inputChunk: Int
    /// The largest input count (1 for spikes, more on SEW residual streams).
    public var maxInputCount: Int
    public var q: SpikingLayerWeights
    public var k: SpikingLayerWeights
    public var v: SpikingLayerWeights
    public var proj: SpikingLayerWeights
    /// Where the Q, K, V, attention and projection LIF banks keep their membranes.
    public var storage: LIFStateStorage
    /// Banks of `S` counters: 1 (the next sample's first pass waits for this one's second pass)
    /// or 2 (double buffering: the two passes of consecutive samples overlap).
    public var sBanks: Int
    public var name: String

    public init(channels: Int, heads: Int, timeSteps: Int, tokens: Int, lanes: Int, inputChunk: Int? = nil,
                maxInputCount: Int = 1, q: SpikingLayerWeights, k: SpikingLayerWeights, v: SpikingLayerWeights,
                proj: SpikingLayerWeights, storage: LIFStateStorage = .registers, sBanks: Int = 2, name: String = "ssa") {
        (self.channels, self.heads, self.timeSteps, self.tokens, self.lanes) = (channels, heads, timeSteps, tokens, lanes)
        self.inputChunk = inputChunk ?? QKTAConfig.defaultInputChunk(channels: channels)
        (self.maxInputCount, self.q, self.k, self.v, self.proj) = (maxInputCount, q, k, v, proj)
        (self.storage, self.sBanks, self.name) = (storage, sBanks, name)
    }

    /// `d`, channels per head.
    public var headDim: Int { channels / heads }
    /// `G = ceil(C / P)`: lane beats per vector.
    public var groups: Int { (channels + lanes - 1) / lanes }
    public var inputBeats: Int { (channels + inputChunk - 1) / inputChunk }
    public var countWidth: Int { Interval(0, maxInputCount).unsignedWidth }
    /// Bits of one Q buffer word: `min(P, C)` spikes.
    public var qWordBits: Int { min(lanes, channels) }
    /// Words of the Q buffer: one per (token, time step, group), `N * T * G`.
    public var qBufferDepth: Int { tokens * timeSteps * groups }
    /// Bits of one `S` counter: it counts tokens, `0...N`.
    public var sCounterWidth: Int { Interval(0, tokens).unsignedWidth }
    /// Rows of one `S` bank: one row of `d` counters per (time step, channel), `T * C`.
    public var sRows: Int { timeSteps * channels }
    /// Bits of one attention sum `c = Q S`: at most `d * N`.
    public var sumWidth: Int { Interval(0, headDim * tokens).unsignedWidth }

    /// The attention neuron on the membrane grid `2^-(3 + T)`: its current `c` counts eighths
    /// (the 0.125 scale), shifted left by `E = T` on entry, so the decay is exact for `T` steps;
    /// threshold 0.5, i.e. `2^(2 + T)`.
    public var attentionNeuron: LIFNeuronConfig {
        LIFNeuronConfig(k: 1, threshold: 1 << (2 + timeSteps), reset: .hard(0), decayInput: true, inputShift: timeSteps)
    }

    public func attentionBank() -> LIFBankConfig {
        LIFBankConfig(neurons: channels, lanes: lanes, neuron: attentionNeuron, current: Interval(0, headDim * tokens),
                      storage: storage, name: "\(name)_attn_lif")
    }

    /// The memory this block keeps beyond its LIF banks, in bits.
    public struct Buffers: Hashable, Sendable, CustomStringConvertible {
        /// The Q buffer (RAM) for the second pass: `N * T * G` words of `min(P, C)` bits.
        public let qBuffer: Int
        /// The `S = K^T V` counters (RAM): banks x `T * C` rows of `d` counters.
        public let sCounters: Int
        /// The bits saying which rows of `S` the sample has written (registers).
        public let rowFlags: Int
        /// The attention sums `c` of one vector (registers): `C` sums.
        public let sums: Int
        public var total: Int { qBuffer + sCounters + rowFlags + sums }
        public var description: String {
            "Q buffer \(qBuffer) b (RAM), S counters \(sCounters) b (RAM), row flags \(rowFlags) b, attention sums \(sums) b, total \(total) b"
        }
    }

    public var buffers: Buffers {
        Buffers(qBuffer: qBufferDepth * qWordBits, sCounters: sBanks * sRows * headDim * sCounterWidth,
                rowFlags: sBanks * sRows, sums: channels * sumWidth)
    }

    public func validate() throws {
        guard channels >= 1 else { throw BlockError("channels is \(channels); give at least 1") }
        guard heads >= 1, channels % heads == 0 else { throw BlockError("heads is \(heads); it must divide channels \(channels)") }
        guard heads <= 64 else { throw BlockError("heads is \(heads); the SSA generator supports at most 64") }
        guard (1...28).contains(timeSteps) else {
            throw BlockError("timeSteps is \(timeSteps); SSA's attention neuron keeps 3 + T fraction bits, so choose 1...28")
        }
        guard (1...(1 << 20)).contains(tokens) else { throw BlockError("tokens is \(tokens); choose 1...\(1 << 20)") }
        guard (1...256).contains(lanes) else { throw BlockError("lanes is \(lanes); choose 1...256") }
        guard (1...channels).contains(inputChunk) else {
            throw BlockError("inputChunk is \(inputChunk); choose 1...\(channels) channels per input beat")
        }
        guard maxInputCount >= 1 else { throw BlockError("maxInputCount is \(maxInputCount); give at least 1") }
        guard (1...2).contains(sBanks) else { throw BlockError("sBanks is \(sBanks); choose 1 or 2 banks of S counters") }
        for (n, l) in [("q", q), ("k", k), ("v", v), ("proj", proj)] {
            guard l.weights.count == channels, l.weights.allSatisfy({ $0.count == channels }) else {
                throw BlockError("\(n) weights must be \(channels) x \(channels)")
            }
            guard l.bias.count == channels else { throw BlockError("\(n) bias must have \(channels) values") }
        }
        guard qBufferDepth <= 1 << 26 else {
            throw BlockError("the Q buffer would hold \(qBufferDepth) words (N*T*G); keep it at most 2^26 (fewer tokens or more lanes)")
        }
        guard headDim * sCounterWidth <= 4096 else {
            throw BlockError("one row of S is \(headDim) counters of \(sCounterWidth) bits; keep it at most 4096 bits (more heads)")
        }
    }
}

/// Builds the SSA accelerator (the module doc states ports, order, passes and buffers).
///
/// Pass 1 streams the input through the Q, K and V projections and LIF banks (tokens in order,
/// the `T` steps of a token innermost). Q spikes go to the Q buffer RAM. Each K spike `i` of a
/// vector adds the vector's V spikes of head `i / d` to row `(t, i)` of `S` (a read-modify-write
/// of `d` counters, one K event per cycle, the previous write forwarded). When the sample's last
/// K event is in, its `S` bank is full. Pass 2 replays the Q buffer in input order: each Q event
/// `i` adds row `(t, i)` of `S` into the `d` sums of its head; at the end of the vector the `C`
/// sums go to the attention LIF bank in `G` beats, and its spikes to the projection. With two
/// `S` banks, pass 1 of the next sample fills the other bank during pass 2 of this one.
public func makeSSA(_ c: SSAConfig) throws -> Module {
    try c.validate()
    let C = c.channels, P = c.lanes, G = c.groups, T = c.timeSteps, N = c.tokens, H = c.heads, d = c.headDim
    let W = c.qWordBits, D = c.qBufferDepth, B = c.sBanks, R = c.sRows
    let cw = c.sCounterWidth, sw = c.sumWidth
    let tw = Memory.addressWidth(depth: T), nw = Memory.addressWidth(depth: N), gw = Memory.addressWidth(depth: G)
    let dw = Memory.addressWidth(depth: D), rw = Memory.addressWidth(depth: R), hw = Memory.addressWidth(depth: H)
    let buffers = c.buffers
    func k(_ v: Int, _ w: Int) -> Expr { .const(v, width: w) }
    let attnConfig = c.attentionBank()
    let lifA = try makeLIFBank(attnConfig)
    let wi = try attnConfig.widths().current

    let m = Module("\(c.name)_c\(C)_h\(H)_t\(T)_n\(N)_p\(P)_b\(B)", doc: """
        SSA: spiking self-attention accelerator (docs/arithmetic.md §6), C = \(C) channels, h = \(H) heads of d = \(d),
        T = \(T) time steps, N = \(N) tokens per sample.
        Q, K, V = LIF(W x + b); per time step t and head: S_t = K_t^T V_t (d x d, summed over the N tokens),
        c[n][j] = sum_i Q[t][n][i] S_t[i][j], A = attn_lif(c / 8) (threshold 0.5: fires iff 8 U + c >= 8, U its membrane;
        one neuron per token and channel over the T time steps of the token), out = LIF(Wp A + bp).

        Input stream s_axis (one vector per token and time step; tokens in order, the T time steps of a token innermost;
        one sample = \(N) tokens; a vector is \(c.inputBeats) beat(s) of \(c.inputChunk) channels):
          s_axis_tdata  [\(c.inputChunk * c.countWidth - 1):0]  count of channel beat*\(c.inputChunk) + j at bits [j*\(c.countWidth) +: \(c.countWidth)]
          s_axis_tlast  last beat of a vector
          s_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        s_axis_error goes high (sticky) if tlast or tuser disagree with the beat count.
        Output stream m_axis (the same order: one vector per token and time step, \(G) beat(s) of \(P) spikes):
          m_axis_tdata  [\(P - 1):0]  spike of channel group*\(P) + j at bit j (bits past C are 0)
          m_axis_tlast  last beat of a vector
          m_axis_tuser  [1] first beat of a token, [0] first beat of a time step

        Dataflow (two passes per sample):
          pass 1: input events -> Q, K and V accumulators -> LIF banks (per token). Q spikes -> Q buffer RAM, word
                  (token*T + t)*\(G) + group. K spikes -> events; V vectors gathered whole; each K event i adds the
                  d V spikes of head i/\(d) to row t*\(C) + i of S (\(d) counters of \(cw) bits), one event per cycle.
          pass 2: when the sample's S bank and Q buffer are complete, the Q buffer is read back in input order ->
                  events; Q event i adds row t*\(C) + i of S to the \(d) sums of head i/\(d) (\(sw) bits each); at the end
                  of a vector the \(C) sums go to the attention LIF bank (\(G) beats) -> projection accumulator -> LIF -> m_axis.
        Overlap: \(B == 2 ? "two S banks: pass 1 of the next sample fills one while pass 2 of this one reads the other" : "one S bank: pass 1 of the next sample waits until pass 2 of this one has finished"). The Q buffer is
        single: a word is written only after pass 2 has read the word at that address.
        Latency: the first output of a sample needs its whole input (pass 1), then the pipeline of pass 2.
        Cycles per sample, steady state: about max(pass 1, pass 2) with pass 1 = max(input events x \(G), K events,
        N x T x inputBeats) and pass 2 = sum over vectors of max(Q events + \(G) + 2, A events x \(G)).
        Buffers (bits): \(buffers).
        """)
    m.parameter("channels", C)
    m.parameter("heads", H)
    m.parameter("timeSteps", T)
    m.parameter("tokens", N)
    m.parameter("lanes", P)
    m.parameter("inputChunk", c.inputChunk)
    m.parameter("maxInputCount", c.maxInputCount)
    m.parameter("storage", c.storage.rawValue)
    m.parameter("sBanks", B)
    m.parameter("qBufferBits", buffers.qBuffer)
    m.parameter("sCounterBits", buffers.sCounters)

    // ---- Pass 1: input -> Q, K and V.
    let input = try AttentionInput(m, c, v: c.v)
    let uLifQ = input.lifQ, uLifK = input.lifK, uLifV = input.lifV!

    /// The head of channel `ch` (`ch / d`), by comparison with the head boundaries.
    func headOf(_ ch: Expr, _ name: String) -> Expr {
        var h: Expr = k(0, hw)
        for b in 1..<max(H, 1) { h = mux(ch.ge(k(b * d, ch.width)), k(b, hw), h) }
        return m.wire(name, h)
    }

    // ---- The S banks: `full[b]` from the end of pass 1 of a sample to the end of its pass 2;
    // `rows[b]` flags the rows the sample has written (the others read as zero).
    let full = (0..<B).map { m.reg("s_full\($0)", width: 1, reset: 0) }
    let rowFlags = (0..<B).map { m.reg("s_rows\($0)", width: R, reset: 0) }
    let wBank: Expr = B == 2 ? m.reg("s_wbank", width: 1, reset: 0) : k(0, 1)
    let rBank: Expr = B == 2 ? m.reg("s_rbank", width: 1, reset: 0) : k(0, 1)
    func ofBank(_ xs: [Expr], _ b: Expr) -> Expr { B == 2 ? mux(b, xs[1], xs[0]) : xs[0] }
    let sMems = (0..<B).map { m.memory("s_bank\($0)", width: d * cw, depth: R) }

    // ---- Q spikes into the Q buffer (as QKCA's K buffer).
    let qMem = m.memory("q_buffer", width: W, depth: D)
    let qwPtr = m.reg("q_wptr", width: dw, reset: 0)
    let qrPtr = m.reg("q_rptr", width: dw, reset: 0)
    let qPending = m.reg("q_pending", width: 1, reset: 0)
    let qReady = m.wire("q_sink_ready", ~qPending | qwPtr.lt(qrPtr))
    uLifQ.connect("out_ready", qReady)
    let qFire = m.wire("q_fire", uLifQ.output("out_valid") & qReady)
    let qSpike = uLifQ.output("out_spike")
    m.write(qMem, address: qwPtr, data: W == P ? qSpike : qSpike.truncate(to: W), enable: qFire)
    let qwLast = qwPtr.eq(k(D - 1, dw))
    m.next(qwPtr, mux(qwLast, k(0, dw), qwPtr +% k(1, dw)), enable: qFire)

    // ---- K events and whole V vectors.
    let encK = try makeEventEncoder(EventEncoderConfig(channels: C, chunkChannels: W, countWidth: 1, slots: 1))
    let uEncK = m.instance(encK, "u_enc_k")
    uEncK.connect("in_valid", uLifK.output("out_valid"))
    uEncK.connect("in_counts", W == P ? uLifK.output("out_spike") : uLifK.output("out_spike").truncate(to: W))
    uLifK.connect("out_ready", uEncK.output("in_ready"))
    let uVG = m.instance(try makeVectorGather(channels: C, lanes: P, name: "\(c.name)_v_gather"), "u_v_gather")
    uVG.takeStream("in", from: uLifV, "out", fields: ["first", "group", "spike"])

    // ---- Pass 1's S update: stage 0 takes a K event with its V vector and reads the row;
    // stage 1 adds the V spikes of the event's head and writes the row back.
    let wFull = m.wire("upd_bank_full", ofBank(full, wBank))
    let kValid = uEncK.output("out_valid"), kLast = uEncK.output("out_last")
    let vValid = uVG.output("out_valid"), vSpike = uVG.output("out_spike")
    let updOpen = m.wire("upd_open", vValid & ~wFull)
    uEncK.connect("out_ready", updOpen)
    let updTake = m.wire("upd_take", kValid & updOpen)
    uVG.connect("out_ready", kValid & kLast & ~wFull)
    let updIssue = m.wire("upd_issue", updTake & uEncK.output("out_event").bit(0))
    let kChannel = uEncK.output("out_channel")
    let uT = m.reg("upd_step", width: tw, reset: 0)
    let uN = m.reg("upd_token", width: nw, reset: 0)
    let uRowBase = m.reg("upd_row_base", width: rw, reset: 0)   // t * C
    let uLastT = uT.eq(k(T - 1, tw)), uLastN = uN.eq(k(N - 1, nw))
    let uVecDone = m.wire("upd_vector_done", updTake & kLast)
    m.next(uT, mux(uLastT, k(0, tw), uT +% k(1, tw)), enable: uVecDone)
    m.next(uN, mux(uLastN, k(0, nw), uN +% k(1, nw)), enable: uVecDone & uLastT)
    // (T-1)*C + C-1 < R: the row base and the row fit rw bits.
    m.next(uRowBase, mux(uLastT, k(0, rw), (uRowBase +& k(C, rw + 1)).truncate(to: rw)), enable: uVecDone)
    let uSampleDone = m.wire("upd_sample_done", uVecDone & uLastT & uLastN)
    let uRow = m.wire("upd_row", (uRowBase +& kChannel.extend(to: rw)).truncate(to: rw))
    let uHead = headOf(kChannel, "upd_head")
    let vSlices = (0..<H).map { h in vSpike.slice(h * d + d - 1, h * d) }
    let uV = SpikeStreamParts.select(m, "upd_v_head", index: uHead, items: vSlices, fallback: k(0, d))
    let uRowWritten = m.wire("upd_row_written", ofBank(rowFlags, wBank).shiftRight(by: uRow).bit(0))

    let u1Valid = m.reg("upd1_valid", width: 1, reset: 0)
    let u1Row = m.reg("upd1_row", width: rw)
    let u1Bank = m.reg("upd1_bank", width: 1)
    let u1Written = m.reg("upd1_written", width: 1)
    let u1V = m.reg("upd1_v", width: d)
    m.next(u1Valid, updIssue)
    m.next(u1Row, uRow, enable: updIssue)
    m.next(u1Bank, wBank, enable: updIssue)
    m.next(u1Written, uRowWritten, enable: updIssue)
    m.next(u1V, uV, enable: updIssue)

    // ---- Pass 2's positions and S reads (declared here: the banks' read ports are shared).
    let rT = m.reg("rd_step", width: tw, reset: 0)
    let rN = m.reg("rd_token", width: nw, reset: 0)
    let rRowBase = m.reg("rd_row_base", width: rw, reset: 0)
    let replayed = m.reg("rd_replayed", width: 1, reset: 0)   // the Q buffer of rBank's sample has been read
    let draining = m.reg("rd_draining", width: 1, reset: 0)
    let r1Valid = m.reg("rd1_valid", width: 1, reset: 0)      // an S row is arriving
    let r1Last = m.reg("rd1_last", width: 1, reset: 0)        // the vector's last event (or empty marker)
    let r1Head = m.reg("rd1_head", width: hw)
    let r1Written = m.reg("rd1_written", width: 1)
    let encQ = try makeEventEncoder(EventEncoderConfig(channels: C, chunkChannels: W, countWidth: 1, slots: 1))
    let uEncQ = m.instance(encQ, "u_enc_q2")
    let eqOpen = m.wire("rd_open", ~draining & ~r1Last)
    uEncQ.connect("out_ready", eqOpen)
    let rTake = m.wire("rd_take", uEncQ.output("out_valid") & eqOpen)
    let rIssue = m.wire("rd_issue", rTake & uEncQ.output("out_event").bit(0))
    let qChannel = uEncQ.output("out_channel")
    let rRow = m.wire("rd_row", (rRowBase +& qChannel.extend(to: rw)).truncate(to: rw))
    let rHead = headOf(qChannel, "rd_head")
    m.next(r1Valid, rIssue)
    m.next(r1Last, rTake & uEncQ.output("out_last"))
    m.next(r1Head, rHead, enable: rIssue)
    m.next(r1Written, ofBank(rowFlags, rBank).shiftRight(by: rRow).bit(0), enable: rIssue)

    // One read port per bank: pass 1 reads the bank it fills (not full), pass 2 the full one.
    var rowData: [Expr] = []
    for b in 0..<B {
        let mine: (Expr) -> Expr = { bank in B == 2 ? (b == 1 ? bank : ~bank) : k(1, 1) }
        let updHere = updIssue & mine(wBank)
        let rdHere = rIssue & mine(rBank)
        let addr = mux(full[b], rRow, uRow)
        rowData.append(m.readSync(sMems[b], m.wire("s_addr\(b)", addr), enable: m.wire("s_read\(b)", updHere | rdHere), name: "s_rdata\(b)"))
    }

    // Stage 1 of the update: the row as the sample has it, the previous write forwarded.
    let fwValid = m.reg("upd_fwd_valid", width: 1, reset: 0)
    let fwRow = m.reg("upd_fwd_row", width: rw)
    let fwBank = m.reg("upd_fwd_bank", width: 1)
    let fwData = m.reg("upd_fwd_data", width: d * cw)
    let fwHit = m.wire("upd_fwd_hit", fwValid & fwRow.eq(u1Row) & fwBank.eq(u1Bank))
    let stored = mux(u1Written, ofBank(rowData, u1Bank), k(0, d * cw))
    let oldRow = m.wire("upd_old_row", mux(fwHit, fwData, stored))
    // Each counter counts the tokens whose K spike i and V spike j were both set: at most N.
    let newRow = m.wire("upd_new_row", SpikeStreamParts.pack((0..<d).map { j in
        SpikeStreamParts.field(oldRow, j, cw) +% u1V.bit(j).extend(to: cw)
    }))
    for b in 0..<B {
        let here = B == 2 ? (b == 1 ? u1Bank : ~u1Bank) : k(1, 1)
        m.write(sMems[b], address: u1Row, data: newRow, enable: m.wire("s_write\(b)", u1Valid & here))
    }
    m.next(fwValid, u1Valid)
    m.next(fwRow, u1Row, enable: u1Valid)
    m.next(fwBank, u1Bank, enable: u1Valid)
    m.next(fwData, newRow, enable: u1Valid)

    // ---- Pass 2: replay the Q buffer.
    let rFull = ofBank(full, rBank)
    let writing = m.wire("rd_bank_writing", u1Valid & u1Bank.eq(rBank))
    let replayGo = m.wire("rd_replay", qPending & rFull & ~replayed & ~writing)
    let xBuf = SpikeSkidBuffer(m, "qr", fields: [("spike", W, false)])
    let s1Valid = m.reg("qr_s1_valid", width: 1, reset: 0)
    let s1Advance = m.wire("qr_s1_advance", s1Valid & xBuf.ready)
    let qIssue = m.wire("qr_issue", replayGo & (~s1Valid | xBuf.ready))
    let qData = m.readSync(qMem, qrPtr, enable: qIssue, name: "q_rdata")
    let qrLast = qrPtr.eq(k(D - 1, dw))
    m.next(qrPtr, mux(qrLast, k(0, dw), qrPtr +% k(1, dw)), enable: qIssue)
    m.next(s1Valid, qIssue | (s1Valid & ~s1Advance))
    let replayDone = m.wire("qr_done", qIssue & qrLast)
    m.next(qPending, mux(qFire & qwLast, k(1, 1), qPending & ~replayDone))
    uEncQ.connect("in_valid", xBuf.valid)
    uEncQ.connect("in_counts", xBuf.payload[0])
    xBuf.connect(enqueue: s1Advance, payload: [qData], consumerReady: uEncQ.output("in_ready"))

    // Stage 1 of pass 2: add the row into the d sums of its head.
    let sums = (0..<H).map { m.reg("sum_h\($0)", width: d * sw, reset: 0) }
    let rowNow = m.wire("rd_row_data", mux(r1Written, ofBank(rowData, rBank), k(0, d * cw)))
    let headSums = SpikeStreamParts.select(m, "rd_head_sums", index: r1Head, items: sums, fallback: k(0, d * sw))
    // c <= d * N: the sums fit sw bits.
    let added = m.wire("rd_added", SpikeStreamParts.pack((0..<d).map { j in
        SpikeStreamParts.field(headSums, j, sw) +% SpikeStreamParts.field(rowNow, j, cw).extend(to: sw)
    }))

    // The drain: the vector's C sums to the attention LIF bank, G beats of P lanes.
    let uA = m.instance(lifA, "u_attn_lif")
    let dGroup = m.reg("rd_drain_group", width: gw, reset: 0)
    let dFire = m.wire("rd_drain_fire", draining & uA.output("in_ready"))
    let dLast = m.wire("rd_drain_last", dFire & dGroup.eq(k(G - 1, gw)))
    m.next(draining, mux(r1Last, k(1, 1), draining & ~dLast))
    m.next(dGroup, mux(dGroup.eq(k(G - 1, gw)), k(0, gw), dGroup +% k(1, gw)), enable: dFire)
    for h in 0..<H {
        m.next(sums[h], mux(dLast, k(0, d * sw), added), enable: dLast | (r1Valid & r1Head.eq(k(h, hw))))
    }
    let allSums = (0..<C).map { ch in SpikeStreamParts.field(sums[ch / d], ch % d, sw) }
    let zero = k(0, sw)
    let groupWords = (0..<G).map { g in
        SpikeStreamParts.pack((0..<P).map { j in SummationWidths.current(g * P + j < C ? allSums[g * P + j] : zero, width: wi) })
    }
    uA.connect("in_valid", draining)
    uA.connect("in_first", rT.eq(k(0, tw)))
    uA.connect("in_group", dGroup)
    uA.connect("in_current", SpikeStreamParts.select(m, "attn_current", index: dGroup, items: groupWords, fallback: k(0, P * wi)))

    // The vector ends with its drain; the sample ends with its last vector's.
    let rLastT = rT.eq(k(T - 1, tw)), rLastN = rN.eq(k(N - 1, nw))
    m.next(rT, mux(rLastT, k(0, tw), rT +% k(1, tw)), enable: dLast)
    m.next(rN, mux(rLastN, k(0, nw), rN +% k(1, nw)), enable: dLast & rLastT)
    m.next(rRowBase, mux(rLastT, k(0, rw), (rRowBase +& k(C, rw + 1)).truncate(to: rw)), enable: dLast)
    let rSampleDone = m.wire("rd_sample_done", dLast & rLastT & rLastN)
    m.next(replayed, mux(replayDone, k(1, 1), replayed & ~rSampleDone))

    // Bank bookkeeping: pass 1 closes its bank with the sample's last K vector, pass 2 frees it
    // after the sample's last drain (never the same bank in one cycle: one needs it free, the
    // other full).
    for b in 0..<B {
        let wHere = B == 2 ? (b == 1 ? wBank : ~wBank) : k(1, 1)
        let rHere = B == 2 ? (b == 1 ? rBank : ~rBank) : k(1, 1)
        let close = uSampleDone & wHere, free = rSampleDone & rHere
        m.next(full[b], mux(close, k(1, 1), full[b] & ~free))
        let one = Expr.const(1, width: R).shiftLeft(by: u1Row)
        m.next(rowFlags[b], mux(free, k(0, R), rowFlags[b] | one), enable: free | (u1Valid & (B == 2 ? (b == 1 ? u1Bank : ~u1Bank) : k(1, 1))))
    }
    if B == 2 {
        m.next(wBank, ~wBank, enable: uSampleDone)
        m.next(rBank, ~rBank, enable: rSampleDone)
    }

    // ---- Projection.
    let xReady = try attentionProjection(m, c, valid: uA.output("out_valid"), spikes: W == P ? uA.output("out_spike") : uA.output("out_spike").truncate(to: W))
    uA.connect("out_ready", xReady)
    return m
}
