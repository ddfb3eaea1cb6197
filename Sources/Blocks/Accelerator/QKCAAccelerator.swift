import HDL

/// A QKCA (Q-K channel attention) block, sized for one stage of one model (docs/arithmetic.md §6):
/// `Q = LIF(W_q x + b_q)`, `K = LIF(W_k x + b_k)`,
/// `A_c[t][c] = attn_lif_c(sum over the N tokens of Q[t][n][c])` (one attention neuron per
/// channel, evolving over the `T` time steps of a sample), `X'[t][n][c] = A_c[t][c] AND K[t][n][c]`,
/// `out = LIF(W_p X' + b_p)`.
///
/// The same shape as `QKTAConfig`, plus `tokens`: the channel mask of a time step needs every
/// token of that step, so the generator sizes its sample buffer by `N`. `heads` must divide
/// `channels` (it names the stage), but the channel mask does not use it.
public struct QKCAConfig: Hashable, Sendable {
    public var channels: Int
    public var heads: Int
    public var timeSteps: Int
    /// `N`, the tokens of one sample.
    public var tokens: Int
    /// `P`: each accumulator updates `P` outputs per cycle and each LIF bank steps `P` neurons
    /// per beat; the K buffer holds words of `min(P, C)` spikes.
    public var lanes: Int
    /// Input channels per input beat.
    public var inputChunk: Int
    /// The largest input count (1 for spikes, more on SEW residual streams).
    public var maxInputCount: Int
    public var q: SpikingLayerWeights
    public var k: SpikingLayerWeights
    public var proj: SpikingLayerWeights
    public var attention: LIFNeuronConfig
    /// `.automatic`: the 1-bit OR form of the channel mask where `AttentionOrProof` proves it
    /// exact (QKFormer's `attn_lif`), otherwise column counters and a real LIF bank.
    public var attentionForm: AttentionForm
    /// Where the Q, K, projection (and general-form attention) LIF banks keep their membranes.
    public var storage: LIFStateStorage
    public var name: String

    public init(channels: Int, heads: Int, timeSteps: Int, tokens: Int, lanes: Int, inputChunk: Int? = nil,
                maxInputCount: Int = 1, q: SpikingLayerWeights, k: SpikingLayerWeights,
                proj: SpikingLayerWeights, attention: LIFNeuronConfig = .attention(),
                attentionForm: AttentionForm = .automatic,
                storage: LIFStateStorage = .auto, name: String = "qkca") {
        self.channels = channels
        self.heads = heads
        self.timeSteps = timeSteps
        self.tokens = tokens
        self.lanes = lanes
        self.inputChunk = inputChunk ?? QKTAConfig.defaultInputChunk(channels: channels)
        self.maxInputCount = maxInputCount
        self.q = q
        self.k = k
        self.proj = proj
        self.attention = attention
        self.attentionForm = attentionForm
        self.storage = storage
        self.name = name
    }

    /// The same weights, neurons and folding as a QKTA config, for `tokens` tokens per sample.
    public init(_ qkta: QKTAConfig, tokens: Int, attentionForm: AttentionForm = .automatic, name: String? = nil) {
        self.init(channels: qkta.channels, heads: qkta.heads, timeSteps: qkta.timeSteps, tokens: tokens,
                  lanes: qkta.lanes, inputChunk: qkta.inputChunk, maxInputCount: qkta.maxInputCount,
                  q: qkta.q, k: qkta.k, proj: qkta.proj, attention: qkta.attention, attentionForm: attentionForm,
                  storage: qkta.storage, name: name ?? "qkca")
    }

    /// `G = ceil(C / P)`: lane beats per vector.
    public var groups: Int { (channels + lanes - 1) / lanes }
    /// Input beats per vector.
    public var inputBeats: Int { (channels + inputChunk - 1) / inputChunk }
    /// Bits of one input count.
    public var countWidth: Int { Interval(0, maxInputCount).unsignedWidth }
    /// Bits of one K buffer word: `min(P, C)` spikes.
    public var kWordBits: Int { min(lanes, channels) }
    /// Words of the K buffer: one per (token, time step, group), `N * T * G`.
    public var kBufferDepth: Int { tokens * timeSteps * groups }

    /// Whether the channel mask is built as the proven OR (1-bit column "counters", no LIF).
    public func usesOrForm() throws -> Bool {
        try AttentionOrProof.resolve(attentionForm, AttentionOrProof.check(neuron: attention, maxSum: tokens))
    }

    /// Bits of one column counter: `ceil(log2(N+1))`, or 1 in the OR form.
    public func columnCounterWidth() throws -> Int {
        try usesOrForm() ? 1 : Interval(0, tokens).unsignedWidth
    }

    /// The sample buffering this block needs beyond QKTA's, in bits.
    public struct Buffers: Hashable, Sendable, CustomStringConvertible {
        /// The K buffer (RAM): `N * T * G` words of `min(P, C)` bits.
        public let kBuffer: Int
        /// The column counters (registers): `T * C` counters.
        public let columnCounters: Int
        /// The channel mask (registers): `T * G` words of `min(P, C)` bits.
        public let mask: Int
        /// The general form's attention membranes (`C` neurons, in the LIF bank), 0 in the OR form.
        public let attentionMembranes: Int
        public var total: Int { kBuffer + columnCounters + mask + attentionMembranes }
        public var description: String {
            "K buffer \(kBuffer) b (RAM), column counters \(columnCounters) b, mask \(mask) b, attention membranes \(attentionMembranes) b, total \(total) b"
        }
    }

    public func buffers() throws -> Buffers {
        let orForm = try usesOrForm()
        var membranes = 0
        if !orForm {
            let w = try LIFBankConfig(neurons: channels, lanes: lanes, neuron: attention, current: Interval(0, tokens)).widths()
            membranes = channels * w.membrane
        }
        return Buffers(kBuffer: kBufferDepth * kWordBits, columnCounters: timeSteps * channels * (try columnCounterWidth()),
                       mask: timeSteps * groups * kWordBits, attentionMembranes: membranes)
    }

    public func validate() throws {
        guard channels >= 1 else { throw BlockError("channels is \(channels); give at least 1") }
        guard heads >= 1, channels % heads == 0 else {
            throw BlockError("heads is \(heads); it must divide channels \(channels)")
        }
        guard (1...64).contains(timeSteps) else { throw BlockError("timeSteps is \(timeSteps); choose 1...64") }
        guard (1...(1 << 20)).contains(tokens) else { throw BlockError("tokens is \(tokens); choose 1...\(1 << 20)") }
        guard (1...256).contains(lanes) else { throw BlockError("lanes is \(lanes); choose 1...256") }
        guard (1...channels).contains(inputChunk) else {
            throw BlockError("inputChunk is \(inputChunk); choose 1...\(channels) channels per input beat")
        }
        guard maxInputCount >= 1 else { throw BlockError("maxInputCount is \(maxInputCount); give at least 1") }
        for (n, l) in [("q", q), ("k", k), ("proj", proj)] {
            guard l.weights.count == channels, l.weights.allSatisfy({ $0.count == channels }) else {
                throw BlockError("\(n) weights must be \(channels) x \(channels)")
            }
            guard l.bias.count == channels else { throw BlockError("\(n) bias must have \(channels) values") }
        }
        guard kBufferDepth <= 1 << 26 else {
            throw BlockError("the K buffer would hold \(kBufferDepth) words (N*T*G); keep it at most 2^26 (fewer tokens or more lanes)")
        }
        _ = try usesOrForm()
    }
}

/// Builds the QKCA accelerator (see the module doc for ports, beat layout, timing and costs).
///
/// Two passes per sample. Pass 1 streams the input exactly as QKTA does (tokens in order, the
/// `T` time steps of a token innermost) through the Q and K projections and LIF banks; Q spikes
/// go into `T * C` column counters, K spikes into a K buffer RAM. When the last Q beat of the
/// sample is in, the channel attention runs over `t = 0..T-1` and stores the mask `A_c[t]`.
/// Pass 2 replays the K buffer in the input order, ANDs each beat with `A_c[t]` of its time
/// step, and feeds the projection (event encoder, accumulator, LIF bank) to the output.
/// Pass 1 of the next sample overlaps pass 2 of this one: a K word is overwritten only after
/// pass 2 has read it (one K buffer, no double buffering), and Q spikes of the next sample wait
/// only while the mask is being computed.
public func makeQKCA(_ c: QKCAConfig) throws -> Module {
    try c.validate()
    let C = c.channels, P = c.lanes, G = c.groups, T = c.timeSteps, N = c.tokens
    let W = c.kWordBits, D = c.kBufferDepth, TG = T * G
    let orForm = try c.usesOrForm()
    let cw = try c.columnCounterWidth()
    let buffers = try c.buffers()
    let gw = Memory.addressWidth(depth: G)
    let nw = Memory.addressWidth(depth: N)
    let aw = Memory.addressWidth(depth: TG)
    let dw = Memory.addressWidth(depth: D)
    let layout = BlockRAMBanks(depth: D, width: W)
    func k(_ v: Int, _ w: Int) -> Expr { .const(v, width: w) }

    let attnConfig = LIFBankConfig(neurons: C, lanes: P, neuron: c.attention, current: Interval(0, N),
                                   storage: c.storage.forTimeSteps(T).resolvedWithoutWaits(groups: G), name: "\(c.name)_attn_lif")
    let lifA: Module? = orForm ? nil : try makeLIFBank(attnConfig)

    let attnText = orForm
        ? "OR form (\(AttentionOrProof.check(neuron: c.attention, maxSum: N))): 1-bit column flags, copied into the mask in 1 cycle"
        : "general form: \(cw)-bit column counters into a LIF bank of \(C) attention neurons (\(attnConfig.storage.rawValue)), \(TG) beats"
    let m = Module("\(c.name)_c\(C)_h\(c.heads)_t\(T)_n\(N)_p\(P)", doc: """
        QKCA: Q-K channel attention accelerator (docs/arithmetic.md §6), C = \(C) channels, T = \(T) time steps, N = \(N) tokens per sample
        (h = \(c.heads) heads name the stage; the channel mask does not use them).
        Q = LIF(Wq x + bq), K = LIF(Wk x + bk), A_c[t][c] = attn_lif_c(sum over the N tokens of Q[t][n][c]) (one attention
        neuron per channel, over the T time steps of a sample), X'[t][n][c] = A_c[t][c] AND K[t][n][c], out = LIF(Wp X' + bp).

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
          pass 1: input events -> Q and K accumulators -> Q and K LIF banks (per token, as QKTA);
                  Q spikes -> T x C column counters (\(cw) bit each); K spikes -> K buffer RAM, word (token*T + t)*\(G) + group\(layout.banks == 1 ? "" : " (\(layout.banks) banks of \(layout.bankDepth) words, by the word's high address bits)").
          mask:   after the sample's last Q beat, \(attnText) -> mask registers A_c[t].
          pass 2: the K buffer is read back in input order (1 word per cycle), each word AND-ed with A_c[t] of its time
                  step -> event encoder -> projection accumulator -> projection LIF bank -> m_axis.
        Latency: the first output of a sample needs its whole input (pass 1), the mask, then the pipeline of pass 2.
        Overlap: pass 1 of the next sample runs during pass 2 of this one. A K word is written only after pass 2 has
        read the word at that address (single K buffer); Q spikes of the next sample wait only while the mask is built.
        Cycles per sample, steady state: about max(input events x \(G), N x T x inputBeats, X' events x \(G), N x T x \(G))
        plus the mask (\(orForm ? "1 cycle" : "about \(TG) cycles")) and pipeline fill, during which the input stalls.
        Buffers (bits): \(buffers).
        """)
    m.parameter("channels", C)
    m.parameter("heads", c.heads)
    m.parameter("timeSteps", T)
    m.parameter("tokens", N)
    m.parameter("lanes", P)
    m.parameter("inputChunk", c.inputChunk)
    m.parameter("maxInputCount", c.maxInputCount)
    m.parameter("storage", c.storage.rawValue)
    m.parameter("attentionForm", orForm ? "or (proven)" : "general")
    m.parameter("kBufferBits", buffers.kBuffer)

    // ---- Pass 1: input -> Q and K, exactly as QKTA.
    let input = try AttentionInput(m, c)
    let uLifQ = input.lifQ, uLifK = input.lifK

    // ---- Sample-level handshake flags.
    // q_pending: the column counters hold a whole sample, not yet turned into a mask.
    // mask_ready: the mask of the sample in the K buffer is held, until pass 2 has read its last word.
    // k_pending: the K buffer holds a whole sample, until pass 2 has read its last word.
    let qPending = m.reg("q_pending", width: 1, reset: 0)
    let maskReady = m.reg("mask_ready", width: 1, reset: 0)
    let kPending = m.reg("k_pending", width: 1, reset: 0)

    // ---- Q spikes into the column counters: cnt[t][c] counts Q[t][n][c] over the tokens n.
    let qReady = m.wire("q_sink_ready", ~qPending)
    uLifQ.connect("out_ready", qReady)
    let qFire = m.wire("q_fire", uLifQ.output("out_valid") & qReady)
    let qSpike = uLifQ.output("out_spike")
    let qSlot = m.reg("q_slot", width: aw, reset: 0)       // t*G + group of the next Q beat
    let qToken = m.reg("q_token", width: nw, reset: 0)
    let qLastSlot = qSlot.eq(k(TG - 1, aw))
    let qLastToken = qToken.eq(k(N - 1, nw))
    m.next(qSlot, mux(qLastSlot, k(0, aw), qSlot +% k(1, aw)), enable: qFire)
    m.next(qToken, mux(qLastToken, k(0, nw), qToken +% k(1, nw)), enable: qFire & qLastSlot)
    let qSampleDone = m.wire("q_sample_done", qFire & qLastSlot & qLastToken)
    let qFirstToken = m.wire("q_first_token", qToken.eq(k(0, nw)))
    var counters: [[Expr]] = []                              // [t][c]
    for t in 0..<T {
        var row: [Expr] = []
        for g in 0..<G {
            let hit = m.wire("q_hit_t\(t)_g\(g)", qFire & qSlot.eq(k(t * G + g, aw)))
            for j in 0..<P where g * P + j < C {
                let ch = g * P + j
                let r = m.reg("col_t\(t)_c\(ch)", width: cw, reset: 0)
                let s = qSpike.bit(j)
                if orForm {
                    m.next(r, mux(qFirstToken, s, r | s), enable: hit)
                } else {
                    // At most N tokens per time step: the count fits cw bits.
                    m.next(r, mux(qFirstToken, s.extend(to: cw), r +% k(1, cw)), enable: hit & (qFirstToken | s))
                }
                row.append(r)
            }
        }
        counters.append(row)
    }

    // ---- The channel mask A_c[t], T*G words of W bits.
    var maskRegs: [Expr] = []                                // index t*G + g
    for t in 0..<T {
        for g in 0..<G { maskRegs.append(m.reg("mask_t\(t)_g\(g)", width: W, reset: 0)) }
    }
    let attnStart = m.wire("attn_start", qPending & ~maskReady)
    let attnDone: Expr
    if orForm {
        // Never keeps charge: the flags are the mask (AttentionOrProof).
        for t in 0..<T {
            for g in 0..<G {
                let bits = (0..<W).map { j in g * P + j < C ? counters[t][g * P + j] : k(0, 1) }
                m.next(maskRegs[t * G + g], SpikeStreamParts.pack(bits), enable: attnStart)
            }
        }
        attnDone = attnStart
    } else {
        let uA = m.instance(lifA!, "u_attn_lif")
        let wi = try attnConfig.widths().current
        let attnBusy = m.reg("attn_busy", width: 1, reset: 0)
        let attnIssue = m.reg("attn_issue", width: 1, reset: 0)
        let aSlot = m.reg("attn_slot", width: aw, reset: 0)  // t*G + group of the next beat in
        let aGroup = m.reg("attn_group", width: gw, reset: 0)
        let oSlot = m.reg("attn_out_slot", width: aw, reset: 0)
        let begin = m.wire("attn_begin", attnStart & ~attnBusy)
        let aFire = m.wire("attn_fire", attnIssue & uA.output("in_ready"))
        let aLast = aSlot.eq(k(TG - 1, aw))
        m.next(aSlot, mux(aLast, k(0, aw), aSlot +% k(1, aw)), enable: aFire)
        m.next(aGroup, mux(aGroup.eq(k(G - 1, gw)), k(0, gw), aGroup +% k(1, gw)), enable: aFire)
        m.next(attnIssue, mux(begin, k(1, 1), attnIssue & ~(aFire & aLast)))
        let zero = k(0, cw)
        let currents = (0..<P).map { j -> Expr in
            var items: [Expr] = []
            for t in 0..<T {
                for g in 0..<G { items.append(g * P + j < C ? counters[t][g * P + j] : zero) }
            }
            let v = SpikeStreamParts.select(m, "attn_count_lane\(j)", index: aSlot, items: items, fallback: zero)
            return SummationWidths.current(v, width: wi)
        }
        uA.connect("in_valid", attnIssue)
        uA.connect("in_first", T == 1 ? k(1, 1) : aSlot.lt(k(G, aw)))   // TG >= 2G > G when T >= 2
        uA.connect("in_group", aGroup)
        uA.connect("in_current", m.wire("attn_current", SpikeStreamParts.pack(currents)))
        uA.connect("out_ready", k(1, 1))
        let oFire = uA.output("out_valid")
        let oLast = oSlot.eq(k(TG - 1, aw))
        m.next(oSlot, mux(oLast, k(0, aw), oSlot +% k(1, aw)), enable: oFire)
        let spikes = uA.output("out_spike")
        let word = W == P ? spikes : spikes.truncate(to: W)
        for a in 0..<TG {
            m.next(maskRegs[a], word, enable: oFire & oSlot.eq(k(a, aw)))
        }
        let done = m.wire("attn_done", oFire & oLast)
        m.next(attnBusy, mux(begin, k(1, 1), attnBusy & ~done))
        attnDone = done
    }
    m.next(qPending, mux(qSampleDone, k(1, 1), qPending & ~attnDone))

    // ---- The K buffer: written in input order by pass 1, read in the same order by pass 2.
    // Deeper than one block RAM, the buffer is banks of one RAM's depth (`BlockRAMBanks`), so
    // that pass 2 registers each bank's word before the multiplexer across them.
    let ob = layout.offsetBits
    let kMems = (0..<layout.banks).map { i in
        m.memory(layout.banks == 1 ? "k_buffer" : "k_buffer_b\(i)", width: W, depth: layout.depth(ofBank: i))
    }
    // No read meets a write of its word: a word is written only when the words held are fewer
    // than D (so the writer is not at the reader's word, except with none held), and read only
    // in pass 2, which starts once the sample's last word is written and reads only words held.
    for mem in kMems { m.promiseNoReadWriteCollision(mem) }
    /// The bank of a word address and its address inside bank `i`.
    func bank(_ ptr: Expr) -> Expr { ptr.slice(dw - 1, ob) }
    func offset(_ ptr: Expr, _ i: Int) -> Expr { ptr.slice(Memory.addressWidth(depth: layout.depth(ofBank: i)) - 1, 0) }
    let wPtr = m.reg("k_wptr", width: dw, reset: 0)
    let rPtr = m.reg("k_rptr", width: dw, reset: 0)
    // A word may be overwritten once pass 2 of the previous sample has read it: the buffer is
    // full when k_pending and k_wptr == k_rptr (the writer has caught up with the reader). The
    // flag is a register, kept from the words held (`k_count`, written minus read), so that
    // the write enable and the K bank's out_ready never wait on a pointer compare.
    let kFull = m.reg("k_full", width: 1, reset: 0)
    let kcw = Memory.addressWidth(depth: D + 1)
    let kCount = m.reg("k_count", width: kcw, reset: 0)
    let kReady = m.wire("k_sink_ready", ~kFull)
    uLifK.connect("out_ready", kReady)
    let kFire = m.wire("k_fire", uLifK.output("out_valid") & kReady)
    let kSpike = uLifK.output("out_spike")
    let kWord = W == P ? kSpike : kSpike.truncate(to: W)
    if layout.banks == 1 {
        m.write(kMems[0], address: wPtr, data: kWord, enable: kFire)
    } else {
        let wBank = m.wire("k_wbank", bank(wPtr))
        for (i, mem) in kMems.enumerated() {
            m.write(mem, address: offset(wPtr, i), data: kWord, enable: kFire & wBank.eq(k(i, wBank.width)))
        }
    }
    let wLast = wPtr.eq(k(D - 1, dw))
    m.next(wPtr, mux(wLast, k(0, dw), wPtr +% k(1, dw)), enable: kFire)

    // ---- Pass 2: replay, AND with the mask, into the projection.
    let replay = m.wire("replay", maskReady & kPending)
    let xBuf = SpikeSkidBuffer(m, "x", fields: [("spike", W, false)])
    // x_s1: the word being read (the RAM's registered output) and its mask; x_s2: the word
    // registered again in the fabric (each bank's, when banked) before the multiplexer and the
    // AND, so that the block RAMs' clock-to-out has a clock period of its own.
    let s1Valid = m.reg("x_s1_valid", width: 1, reset: 0)
    let s1Mask = m.reg("x_s1_mask", width: W)
    let s2Valid = m.reg("x_s2_valid", width: 1, reset: 0)
    let s2Mask = m.reg("x_s2_mask", width: W)
    let s2Free = m.wire("x_s2_free", ~s2Valid | xBuf.ready)
    let s2Advance = m.wire("x_s2_advance", s2Valid & xBuf.ready)
    let s1Advance = m.wire("x_s1_advance", s1Valid & s2Free)
    let issue = m.wire("x_issue", replay & (~s1Valid | s2Free))
    let s2Word: Expr
    if layout.banks == 1 {
        let rData = m.readSync(kMems[0], rPtr, enable: issue, name: "k_rdata")
        let word = m.reg("x_s2_word", width: W)
        m.next(word, rData, enable: s2Free)
        s2Word = word
    } else {
        let rBank = m.wire("k_rbank", bank(rPtr))
        let s1Bank = m.reg("x_s1_bank", width: rBank.width)
        let s2Bank = m.reg("x_s2_bank", width: rBank.width)
        m.next(s1Bank, rBank, enable: issue)
        m.next(s2Bank, s1Bank, enable: s2Free)
        let words = kMems.enumerated().map { i, mem -> Expr in
            let rData = m.readSync(mem, offset(rPtr, i), enable: issue & rBank.eq(k(i, rBank.width)), name: "k_rdata_b\(i)")
            let word = m.reg("x_s2_word_b\(i)", width: W)
            m.next(word, rData, enable: s2Free)
            return word
        }
        s2Word = SpikeStreamParts.select(m, "x_s2_word", index: s2Bank, items: words, fallback: k(0, W))
    }
    let rSlot = m.reg("x_slot", width: aw, reset: 0)         // t*G + group of the word read next
    let rLast = rPtr.eq(k(D - 1, dw))
    m.next(rPtr, mux(rLast, k(0, dw), rPtr +% k(1, dw)), enable: issue)
    m.next(rSlot, mux(rSlot.eq(k(TG - 1, aw)), k(0, aw), rSlot +% k(1, aw)), enable: issue)
    let maskNow = SpikeStreamParts.select(m, "x_mask_sel", index: rSlot, items: maskRegs, fallback: k(0, W))
    m.next(s1Mask, maskNow, enable: issue)
    m.next(s1Valid, issue | (s1Valid & ~s1Advance))
    m.next(s2Valid, s1Advance | (s2Valid & ~s2Advance))
    m.next(s2Mask, s1Mask, enable: s2Free)
    let replayDone = m.wire("replay_done", issue & rLast)
    m.next(kPending, mux(kFire & wLast, k(1, 1), kPending & ~replayDone))
    // Full: nothing is written while full, so one read empties a word; otherwise it fills when
    // the last free word is written and none is read.
    // The count moves by one adder: +1 for a write alone, -1 (all ones) for a read alone.
    let kCountDown = m.wire("k_count_down", issue & ~kFire)
    m.next(kCount, kCount +% mux(kCountDown, k((1 << kcw) - 1, kcw), k(1, kcw)), enable: kFire ^ issue)
    m.next(kFull, mux(kFull, ~issue, kFire & ~issue & kCount.eq(k(D - 1, kcw))))
    m.next(maskReady, mux(attnDone, k(1, 1), maskReady & ~replayDone))

    let xReady = try attentionProjection(m, c, valid: xBuf.valid, spikes: xBuf.payload[0])
    xBuf.connect(enqueue: s2Advance, payload: [m.wire("x_masked", s2Word & s2Mask)], consumerReady: xReady)
    return m
}
