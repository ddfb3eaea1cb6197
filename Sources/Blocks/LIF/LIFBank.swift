import HDL

/// Where a LIF bank keeps its membranes.
public enum LIFStateStorage: String, Hashable, Sendable {
    /// One register per neuron, reset to `vr`; a lane reads its neuron through a mux on the group.
    case registers
    /// One RAM word per group (`P` membranes side by side) with a synchronous read: what
    /// block RAM wants for large `L`. Not reset: the first beat of each group after power-up or
    /// reset must set `first`.
    case ram
    /// One register per neuron, like `registers`, with the update split over four register
    /// stages (s1 read the membrane through a one-hot registered select; s2 charge `H`; s3 fire
    /// and reset; s4 write back and emit) so that no clock period holds more than one carry
    /// chain, and the write-back's fan-out to the `G` groups starts at a register. A beat waits
    /// in the first stage while a beat of its own group is still in the other three (its
    /// membrane is not written yet) unless it starts a token (`first`): with `G >= 4` groups
    /// sent in order it never waits.
    case pipelined
    /// `pipelined` where the bank has `G >= 2` groups, `registers` where it has one (`L <= P`).
    /// With `G >= 4` groups sent in order a pipelined beat never waits; with 2 or 3 each beat
    /// waits for its own group's write-back (2 cycles in 4 at `G = 2`, 1 in 4 at `G = 3`), which
    /// a bank behind an accumulator's drain (one drain of `G` beats per vector, after a whole
    /// vector of events) does not feel, while the one-cycle register update (three carry
    /// chains) set the clock of every block that had one (66 MHz for hst-4-384's stage-1
    /// QKFormer block, docs/timing.md). With one group every beat would wait 3 cycles in 4.
    /// The default.
    case auto

    /// The storage a bank of `groups` groups gets: `auto` resolved, any other case itself.
    public func resolved(groups: Int) -> LIFStateStorage {
        self == .auto ? (groups >= 2 ? .pipelined : .registers) : self
    }

    /// `auto` resolved where no beat may wait: `pipelined` only at `G >= 4`. For the QKCA's
    /// channel-mask bank, whose general form keeps the OR form's cycle-for-cycle timing (and
    /// the cycle model that assumes it) wherever `auto` leaves it on registers.
    public func resolvedWithoutWaits(groups: Int) -> LIFStateStorage {
        self == .auto ? (groups >= 4 ? .pipelined : .registers) : self
    }

    /// `auto` for the two banks of an MLP: `pipelined` at any number of groups, one included.
    /// With one group every beat but a token's first waits for the previous one's write-back
    /// (a beat every 4 cycles; `LIFBankCosimTests.pipelinedThroughput`), but an MLP bank sits
    /// behind an accumulator's drain, which at `G = 1` delivers one beat a vector, at least 3
    /// cycles apart (`SpikeAccumulatorPipeline`): at most a cycle a vector, which `MLPTimeline`
    /// charges. On registers, the one-cycle update of a one-group bank set the clock of every
    /// small QKFormer block (84 to 92 MHz, docs/timing.md). Any other case is itself.
    public var pipelinedAtAnyGroups: LIFStateStorage { self == .auto ? .pipelined : self }

    /// `auto` for a bank whose tokens have `timeSteps` steps: with one step every beat starts
    /// from `vr` (`in_first` is the constant 1), no membrane is ever read back, and `registers`
    /// lets synthesis drop the state outright, where the pipelined form's stage registers kept
    /// it in Yosys (held-out seed 10, docs/estimate-accuracy.md). Any other case is itself.
    public func forTimeSteps(_ timeSteps: Int) -> LIFStateStorage {
        self == .auto && timeSteps == 1 ? .registers : self
    }
}

/// A bank of `L` LIF neurons (docs/arithmetic.md §1) folded over `P` lanes.
///
/// Neuron `n` lives in group `n / P`, lane `n % P`; there are `G = ceil(L / P)` groups and the
/// last one is partial when `P` does not divide `L` (every lane past `L` reads as spike 0 and
/// membrane 0). `P > L` is allowed: one partial group.
public struct LIFBankConfig: Hashable, Sendable {
    /// `L`, the neurons.
    public var neurons: Int
    /// `P`, the lanes: neurons stepped per beat.
    public var lanes: Int
    /// The neuron's parameters, shared by every neuron of the bank.
    public var neuron: LIFNeuronConfig
    /// Every value the input current `I` can take (on the weight grid, before `<< E`). All
    /// widths follow from it.
    public var current: Interval
    public var storage: LIFStateStorage
    /// Per-neuron thresholds (`L` values), or nil for `neuron.threshold` everywhere. A layer
    /// quantized per output channel puts each channel on its own grid, so its threshold 1.0 is
    /// a different integer per neuron (docs/arithmetic.md §4). Hard reset only; `neuron.threshold` is then
    /// ignored, and the widths are proven for the largest of these (see `effectiveNeuron`).
    public var thresholds: [Int]?
    /// Adds `out_membrane`, the `P` membranes after the step, for debugging.
    public var membraneOutput: Bool
    /// The module name's stem; the full name adds the key parameters and a fingerprint.
    public var name: String

    public init(neurons: Int, lanes: Int, neuron: LIFNeuronConfig, current: Interval,
                storage: LIFStateStorage = .auto, membraneOutput: Bool = false,
                name: String = "lif_bank", thresholds: [Int]? = nil) {
        self.thresholds = thresholds
        self.neurons = neurons
        self.lanes = lanes
        self.neuron = neuron
        self.current = current
        self.storage = storage
        self.membraneOutput = membraneOutput
        self.name = name
    }

    /// `G = ceil(L / P)`.
    public var groups: Int { (neurons + lanes - 1) / max(lanes, 1) }

    /// The storage the bank is built with: `storage`, with `auto` resolved for `G` groups.
    public var resolvedStorage: LIFStateStorage { storage.resolved(groups: groups) }

    /// The widths the generator will use (signed bits): current, membrane, charged membrane.
    public func widths() throws -> (current: Int, membrane: Int, hidden: Int) {
        let d = try LIFDatapath(neuron: try effectiveNeuron(), current: current, field: "neuron")
        return (d.currentWidth, d.membraneWidth, d.ranges.hidden.signedWidth)
    }

    /// The neuron the ranges are proven for: `neuron`, with the largest per-neuron threshold
    /// when there are several. With a hard reset a membrane that did not fire stays below its
    /// own threshold, so the largest one bounds them all.
    func effectiveNeuron() throws -> LIFNeuronConfig {
        guard let ths = thresholds else { return neuron }
        guard ths.count == neurons else {
            throw BlockError("thresholds has \(ths.count) values for \(neurons) neurons; give one per neuron")
        }
        guard neuron.isHardReset else {
            throw BlockError("per-neuron thresholds need a hard reset; the neuron has a soft reset")
        }
        guard let lo = ths.min(), lo >= 1 else {
            throw BlockError("per-neuron thresholds must be >= 1 on the membrane grid, got \(ths.min() ?? 0)")
        }
        var n = neuron
        n.threshold = ths.max()!
        return n
    }

    /// The per-neuron thresholds when they differ, nil when one constant serves every neuron.
    var distinctThresholds: [Int]? {
        guard let ths = thresholds, Set(ths).count > 1 else { return nil }
        return ths
    }

    var fingerprintText: String {
        let th = thresholds.map { ths in Set(ths).count > 1 ? " th=\(ths.map(String.init).joined(separator: ","))" : " th=\(ths[0])" } ?? ""
        return "L=\(neurons) P=\(lanes) \(neuron) I=\(current) \(resolvedStorage.rawValue) mem=\(membraneOutput)\(th)"
    }
}

/// Builds a LIF bank: one stream of current beats in, one stream of spike beats out.
///
/// Ports (all streams valid/ready):
/// - `in_valid`, `in_ready`, `in_first`, `in_group` (`ceil(log2 G)` bits, at least 1),
///   `in_current` (`P * Wi` bits: lane `j`'s signed current at bits `[j*Wi +: Wi]`).
///   `in_first` starts the group's neurons from `V = vr` (0 for a soft reset): set it on the
///   first time step of every token/sample. A group index `>= G` is outside the contract.
/// - `out_valid`, `out_ready`, `out_first`, `out_group` (copied from the input beat),
///   `out_spike` (`P` bits, lane `j` at bit `j`), and with `membraneOutput`, `out_membrane`
///   (`P * Wv` bits, the signed membranes after the step).
///
/// One output beat per input beat, in order. Latency 1 cycle (registers) or 2 (RAM); one beat
/// per cycle when never stalled. The outputs are registers and `in_ready` is a function of
/// registers only (a skid buffer sits at the output).
///
/// RAM hazards: the RAM is read when a beat is accepted and written one stage later, when it
/// leaves. A beat accepted on the same edge as the write of its own group (consecutive beats of
/// one group, always the case when `L <= P`) would read the stale word, so that write is
/// forwarded: the written word is captured beside the read and replaces it.
public func makeLIFBank(_ config: LIFBankConfig) throws -> Module {
    var c = config
    c.storage = config.resolvedStorage
    try SpikeStreamParts.checkName(c.name, field: "name")
    guard c.neurons >= 1 && c.neurons <= 1 << 20 else {
        throw BlockError("neurons = \(c.neurons): a LIF bank needs 1...\(1 << 20) neurons")
    }
    guard c.lanes >= 1 && c.lanes <= 4096 else {
        throw BlockError("lanes = \(c.lanes): a LIF bank needs 1...4096 lanes")
    }
    let neuron = try c.effectiveNeuron()
    let dp = try LIFDatapath(neuron: neuron, current: c.current, field: "neuron")
    let (p, l, g) = (c.lanes, c.neurons, c.groups)
    let wi = dp.currentWidth, wv = dp.membraneWidth
    let gw = SpikeStreamParts.indexWidth(g)
    let partial = l - (g - 1) * p   // lanes that exist in the last group
    let name = "\(c.name)_l\(l)_p\(p)_\(c.storage == .ram ? "ram" : c.storage == .pipelined ? "pipe" : "reg")_\(SpikeStreamParts.fingerprint(c.fingerprintText))"
    let m = Module(name, doc: """
        LIF neuron bank (docs/arithmetic.md §1): \(l) neurons over \(p) lanes, \(g) group(s), state in \(c.storage.rawValue).
        Neuron n is group n/\(p), lane n%\(p).\(partial < p ? " Lane(s) \(partial == p - 1 ? "\(partial)" : "\(partial) to \(p - 1)") of group \(g - 1) hold no neuron: spike 0, membrane 0." : "")
        Per step: a = I << \(c.neuron.inputShift); \(c.neuron.decayInput ? "H = V + ((a - (V - vr)) >>> \(c.neuron.k))" : "H = V - ((V - vr) >>> \(c.neuron.k)) + a");
        S = H >= \(c.distinctThresholds.map { "th[n] (per-neuron thresholds \($0.min()!) to \($0.max()!), a constant per group and lane)" } ?? "\(neuron.threshold)"); \(c.neuron.isHardReset ? "V = S ? \(c.neuron.resetValue) : H" : "V = H - S * \(c.neuron.threshold)").\
        \(c.neuron.membraneWidth != nil ? " H and V saturate to \(wv) signed bits (forced width)." : " Widths proven by interval analysis: no overflow.")
        Current I in \(c.current) (\(wi) signed bits per lane), membrane V in \(dp.ranges.membrane) (\(wv) bits), H in \(dp.ranges.hidden).
        in:  in_valid, in_ready, in_first (start from V = vr), in_group [\(gw)], in_current [\(p)x\(wi)] (lane j at [j*\(wi) +: \(wi)]).
        out: out_valid, out_ready, out_first, out_group [\(gw)], out_spike [\(p)] (lane j at bit j)\(c.membraneOutput ? ", out_membrane [\(p)x\(wv)] (V after the step)" : "").
        One output beat per input beat, in order; latency \(c.storage == .ram ? 2 : c.storage == .pipelined ? 5 : 1) cycle(s), one beat per cycle unstalled\(c.storage == .pipelined ? " (a beat of a group still in flight waits, unless it sets in_first)" : "").
        \(c.storage == .ram ? "RAM \(g) x \(p * wv), sync read on accept, write one stage later; a same-group write on the accepting edge is forwarded. The first beat of each group after power-up or reset must set in_first." : c.storage == .pipelined ? "Registers reset to vr; stages: s1 the accepted beat (one-hot read select), s2 the start membrane V0, s3 the charged H, s4 the spike and both reset candidates, written back as the beat leaves; s2 to s4 shift together, bubbles included, whenever the output buffer has room." : "Registers reset to vr.")
        """)
    m.parameter("neurons", l)
    m.parameter("lanes", p)
    m.parameter("neuron", neuron)
    if let ths = c.distinctThresholds { m.parameter("thresholds", "\(ths.count) values, \(ths.min()!)...\(ths.max()!), fingerprinted in the name") }
    m.parameter("current", c.current)
    m.parameter("storage", c.storage.rawValue)
    m.parameter("membraneOutput", c.membraneOutput)

    let inValid = m.input("in_valid", width: 1)
    let inFirst = m.input("in_first", width: 1)
    let inGroup = m.input("in_group", width: gw)
    let inCurrent = m.input("in_current", width: p * wi)
    let outReady = m.input("out_ready", width: 1)

    var fields: [(name: String, width: Int, signed: Bool)] = [("first", 1, false), ("group", gw, false), ("spike", p, false)]
    if c.membraneOutput { fields.append(("membrane", p * wv, false)) }
    // Pipelined: `buf.ready` is the shift enable of every s2..s4 flop, so it is a flop itself.
    let buf = SpikeSkidBuffer(m, "out", fields: fields, readyRegister: c.storage == .pipelined)
    let vrConst = Expr.const(c.neuron.resetValue, width: wv, signed: true)

    /// Whether lane `j` holds a neuron in the beat's group.
    func exists(_ j: Int, group: Expr) -> Expr {
        if j < partial { return .const(1, width: 1) }
        return group.ne(.const(g - 1, width: gw))
    }

    /// Lane `j`'s threshold for the beat's group: a constant per (group, lane), selected by the
    /// group index; nil when every neuron shares `neuron.threshold`.
    let thWidth = Interval.point(neuron.threshold).signedWidth
    func laneThreshold(_ j: Int, group: Expr) -> Expr? {
        guard let ths = c.distinctThresholds else { return nil }
        let items = (0..<g).compactMap { gi in gi * p + j < l ? Expr.const(ths[gi * p + j], width: thWidth, signed: true) : nil }
        if items.isEmpty { return nil }   // a lane past L in every group: its spike is gated off
        if g == 1 || Set((0..<g).compactMap { gi in gi * p + j < l ? ths[gi * p + j] : nil }).count == 1 { return items[0] }
        return SpikeStreamParts.select(m, "th_lane\(j)", index: group, items: items, fallback: items[items.count - 1])
    }

    var spikes: [Expr] = []
    var membranes: [Expr] = []

    /// Lane `j`'s stored membrane in the beat's group (register storage).
    func storedMembrane(_ v: [Expr], _ j: Int, group: Expr) -> Expr {
        let items = (0..<g).compactMap { gi in gi * p + j < l ? v[gi * p + j] : nil }
        return g == 1 ? (j < l ? v[j] : vrConst)
            : SpikeStreamParts.select(m, "v_lane\(j)", index: group, items: items, fallback: vrConst)
    }

    /// Writes lane `j`'s next membrane into the beat's group when `write`, and collects the
    /// lane's spike and membrane for the output beat (register storage).
    func retire(_ v: [Expr], _ j: Int, spike s: Expr, next nv: Expr, group: Expr, write: Expr) {
        for gi in 0..<g where gi * p + j < l {
            let hit = g == 1 ? write : write & group.eq(.const(gi, width: gw))
            m.next(v[gi * p + j], nv, enable: hit)
        }
        let e = exists(j, group: group)
        spikes.append(s & e)
        membranes.append(SpikeStreamParts.gate(e, nv))
    }

    /// The output beat: first, group, the spikes (and membranes), enqueued when `enqueue`.
    func emit(first: Expr, group: Expr, enqueue: Expr) {
        var payload = [first, group, SpikeStreamParts.pack(spikes)]
        if c.membraneOutput { payload.append(SpikeStreamParts.pack(membranes)) }
        buf.connect(enqueue: enqueue, payload: payload, consumerReady: outReady)
    }

    switch c.storage {
    case .registers, .auto:   // .auto is resolved above
        let inReady = m.wire("in_ready_w", buf.ready)
        let accept = m.wire("accept", inValid & inReady)
        let v = (0..<l).map { m.reg("v_\($0)", width: wv, signed: true, reset: c.neuron.resetValue) }
        for j in 0..<p {
            let old = storedMembrane(v, j, group: inGroup)
            let lane = SpikeStreamParts.field(inCurrent, j, wi).asSigned()
            let (s, nv) = try dp.build(m, "lane\(j)", membrane: old, current: lane, first: inFirst,
                                       threshold: laneThreshold(j, group: inGroup))
            retire(v, j, spike: s, next: nv, group: inGroup, write: accept)
        }
        emit(first: inFirst, group: inGroup, enqueue: accept)
        m.output("in_ready", inReady)

    case .ram:
        let mem = m.memory("v_mem", width: p * wv, depth: g)
        let s1Valid = m.reg("s1_valid", width: 1, reset: 0)
        let s1First = m.reg("s1_first", width: 1)
        let s1Group = m.reg("s1_group", width: gw)
        let s1Current = m.reg("s1_current", width: p * wi)
        let s1Advance = m.wire("s1_advance", s1Valid & buf.ready)
        let inReady = m.wire("in_ready_w", ~s1Valid | buf.ready)
        let accept = m.wire("accept", inValid & inReady)
        let rdata = m.readSync(mem, inGroup, enable: accept, name: "v_rdata")
        let fwdHit = m.reg("fwd_hit", width: 1, reset: 0)
        let fwdData = m.reg("fwd_data", width: p * wv)
        let old = m.wire("v_old", mux(fwdHit, fwdData, rdata))
        for j in 0..<p {
            let vOld = SpikeStreamParts.field(old, j, wv).asSigned()
            let lane = SpikeStreamParts.field(s1Current, j, wi).asSigned()
            let (s, nv) = try dp.build(m, "lane\(j)", membrane: vOld, current: lane, first: s1First,
                                       threshold: laneThreshold(j, group: s1Group))
            let e = exists(j, group: s1Group)
            spikes.append(s & e)
            membranes.append(nv)
        }
        let wdata = m.wire("v_wdata", SpikeStreamParts.pack(membranes))
        m.write(mem, address: s1Group, data: wdata, enable: s1Advance)
        // Read-during-write on the accepting edge: the RAM returns the old word, so keep the
        // word being written and use it instead.
        let sameGroup = g == 1 ? s1Advance : s1Advance & inGroup.eq(s1Group)
        m.next(fwdHit, sameGroup, enable: accept)
        m.next(fwdData, wdata, enable: accept)
        m.next(s1Valid, accept | (s1Valid & ~s1Advance))
        m.next(s1First, inFirst, enable: accept)
        m.next(s1Group, inGroup, enable: accept)
        m.next(s1Current, inCurrent, enable: accept)
        var payload = [s1First, s1Group, SpikeStreamParts.pack(spikes)]
        if c.membraneOutput {
            let gated = (0..<p).map { j in SpikeStreamParts.gate(exists(j, group: s1Group), membranes[j]) }
            payload.append(SpikeStreamParts.pack(gated))
        }
        buf.connect(enqueue: s1Advance, payload: payload, consumerReady: outReady)
        m.output("in_ready", inReady)

    case .pipelined:
        let v = (0..<l).map { m.reg("v_\($0)", width: wv, signed: true, reset: c.neuron.resetValue) }
        // s1 is a skid buffer: in_ready is a register, so the producer's valid/ready logic
        // never waits on this bank's stages; a beat arriving while s1 stalls waits in its skid
        // entry. s1_read[gi]: the beat reads group gi (one-hot, all zero on a token's first
        // step), so that the membrane read is an AND-OR of registered selects, two LUT levels,
        // instead of a mux tree on the group index behind the `first` select.
        let s1 = SkidBuffer(m, "s1", fields: [StreamField("first", width: 1), StreamField("group", width: gw),
                                              StreamField("current", width: p * wi), StreamField("read", width: g)],
                            loadsWhenEmpty: true)
        let s1Valid = s1.downValid
        let (s1First, s1Group, s1Current, s1Read) = (s1.downPayload[0], s1.downPayload[1], s1.downPayload[2], s1.downPayload[3])
        let s2Valid = m.reg("s2_valid", width: 1, reset: 0)
        let s3Valid = m.reg("s3_valid", width: 1, reset: 0), s4Valid = m.reg("s4_valid", width: 1, reset: 0)
        let s2First = m.reg("s2_first", width: 1)
        let s3First = m.reg("s3_first", width: 1), s4First = m.reg("s4_first", width: 1)
        let s2Group = m.reg("s2_group", width: gw)
        let s3Group = m.reg("s3_group", width: gw), s4Group = m.reg("s4_group", width: gw)
        // s2 to s4 move together: all of them shift, bubbles included, whenever the output
        // buffer can take a beat (`buf.ready`, a flop of positive polarity), and all of them hold otherwise. The
        // data registers of a stage load on every shift (the valid bit says whether a beat came),
        // so their enables, which fan out to every lane, are that register itself, with no LUT
        // in between and no chain of per-stage "free" terms (a stage-by-stage chain, which
        // would let a stage fill a bubble below a stalled one, put three LUT levels on those
        // wide nets and set the bank's clock). A bubble is only kept while the output buffer
        // is full, so the consumer still has two beats waiting.
        let shift = buf.ready
        let s4Advance = m.wire("s4_advance", s4Valid & shift)
        // A beat reads its group's membranes in s1; a beat of the same group in s2, s3 or s4 has
        // not written them yet, so the reader waits (a token's first step reads nothing). The
        // check is computed for the beat s1 holds after each edge, so that the stage enables
        // never wait on a group compare. Both candidates are checked in registers:
        // - `hazard_new`, in case s1 loads a beat (from its skid entry or the input): it meets
        //   the beat leaving s1, the beats of s2 and s3 (they stay in flight whether they move
        //   or not), and that of s4 unless it leaves;
        // - `hazard_held`, in case s1 keeps its beat: it meets the beats of s2 and s3, and that
        //   of s4 unless it leaves;
        // and `s1_loaded` picks one after the edge. Choosing before the edge would put s1's load
        // (a net that fans out to the enables of every lane's s1 registers) in series with the
        // group compares.
        let hazardNewR = m.reg("hazard_new", width: 1, reset: 0)
        let hazardHeldR = m.reg("hazard_held", width: 1, reset: 0)
        let s1Loaded = m.reg("s1_loaded", width: 1, reset: 0)
        let hazard = m.wire("hazard", mux(s1Loaded, hazardNewR, hazardHeldR))
        let s1Take = m.wire("s1_take", ~hazard & shift)
        let s1Advance = m.wire("s1_advance", s1Valid & s1Take)
        let reads = (0..<g).map { gi in g == 1 ? ~inFirst : ~inFirst & inGroup.eq(.const(gi, width: gw)) }
        let (s1Load, incoming) = s1.drive(upValid: inValid, upPayload: [inFirst, inGroup, inCurrent, SpikeStreamParts.pack(reads)],
                                          downReady: s1Take)
        let (newFirst, newGroup) = (m.wire("s1_new_first", incoming[0]), m.wire("s1_new_group", incoming[1]))
        func same(_ a: Expr, _ b: Expr) -> Expr { g == 1 ? .const(1, width: 1) : a.eq(b) }
        let s4Stays: Expr = m.wire("s4_stays", s4Valid & ~shift)
        let newMeets1: Expr = s1Valid & same(newGroup, s1Group)
        let newMeets2: Expr = s2Valid & same(newGroup, s2Group)
        let newMeets3: Expr = s3Valid & same(newGroup, s3Group)
        let newMeets4: Expr = s4Stays & same(newGroup, s4Group)
        let meetsNew: Expr = m.wire("new_meets", (newMeets1 | newMeets2) | (newMeets3 | newMeets4))
        let heldMeets2: Expr = s2Valid & same(s1Group, s2Group)
        let heldMeets3: Expr = s3Valid & same(s1Group, s3Group)
        let heldMeets4: Expr = s4Stays & same(s1Group, s4Group)
        let meetsHeld: Expr = m.wire("held_meets", (heldMeets2 | heldMeets3) | heldMeets4)
        let hazardNew: Expr = ~newFirst & meetsNew
        let hazardHeld: Expr = ~s1First & meetsHeld
        m.next(hazardNewR, hazardNew)
        m.next(hazardHeldR, hazardHeld)
        m.next(s1Loaded, s1Load)
        m.next(s2Valid, mux(shift, s1Advance, s2Valid))
        m.next(s2First, s1First, enable: shift)
        m.next(s2Group, s1Group, enable: shift)
        m.next(s3Valid, mux(shift, s2Valid, s3Valid))
        m.next(s3First, s2First, enable: shift)
        m.next(s3Group, s2Group, enable: shift)
        m.next(s4Valid, mux(shift, s3Valid, s4Valid))
        m.next(s4First, s3First, enable: shift)
        m.next(s4Group, s3Group, enable: shift)
        for j in 0..<p {
            // s1 -> s2: the start membrane (the OR of the selected group's membrane and, on a
            // token's first step or for a lane with no neuron in the group, vr), and the current.
            var terms: [Expr] = []
            for gi in 0..<g where gi * p + j < l { terms.append(SpikeStreamParts.gate(s1Read.bit(gi), v[gi * p + j])) }
            let hasNeuron = !terms.isEmpty
            var useVr: Expr = s1First
            if j >= partial && g > 1 { useVr = useVr | s1Read.bit(g - 1) }
            if hasNeuron && c.neuron.resetValue != 0 { terms.append(SpikeStreamParts.gate(useVr, vrConst)) }
            let s2V0 = m.reg("s2_v0_lane\(j)", width: wv, signed: true)
            let s2Current = m.reg("s2_current_lane\(j)", width: wi, signed: true)
            let start = !hasNeuron ? vrConst : m.wire("v0_lane\(j)", terms.dropFirst().reduce(terms[0]) { $0 | $1 })
            m.next(s2V0, start, enable: shift)
            m.next(s2Current, SpikeStreamParts.field(s1Current, j, wi).asSigned(), enable: shift)
            // s2 -> s3: the charged membrane, and the lane's threshold for the beat's group.
            let s3H = m.reg("s3_h_lane\(j)", width: dp.chargedWidth, signed: true)
            m.next(s3H, try dp.charge(m, "lane\(j)", start: s2V0, current: s2Current), enable: shift)
            var th: Expr?
            if let t = laneThreshold(j, group: s2Group) {
                let s3Th = m.reg("s3_th_lane\(j)", width: t.width, signed: true)
                m.next(s3Th, t, enable: shift)
                th = s3Th
            }
            // s3 -> s4: the compare, and the two membranes the reset chooses from; s4 selects
            // one, writes it back and emits the spike.
            let f = dp.compare(m, "lane\(j)", charged: s3H, threshold: th)
            let s4Spike = m.reg("s4_spike_lane\(j)", width: 1)
            let s4Kept = m.reg("s4_kept_lane\(j)", width: wv, signed: true)
            m.next(s4Spike, f.spike, enable: shift)
            m.next(s4Kept, f.kept, enable: shift)
            var fired = f.fired   // vr, a constant, for a hard reset
            if case .soft = c.neuron.reset {
                let s4Fired = m.reg("s4_fired_lane\(j)", width: wv, signed: true)
                m.next(s4Fired, f.fired, enable: shift)
                fired = s4Fired
            }
            let s4V = dp.reset(m, "lane\(j)", spike: s4Spike, fired: fired, kept: s4Kept)
            retire(v, j, spike: s4Spike, next: s4V, group: s4Group, write: s4Advance)
        }
        emit(first: s4First, group: s4Group, enqueue: s4Advance)
        m.output("in_ready", s1.upReady)
    }
    m.output("out_valid", buf.valid)
    m.output("out_first", buf.payload[0])
    m.output("out_group", buf.payload[1])
    m.output("out_spike", buf.payload[2])
    if c.membraneOutput { m.output("out_membrane", buf.payload[3]) }
    return m
}
