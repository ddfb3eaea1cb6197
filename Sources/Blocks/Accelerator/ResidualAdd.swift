import HDL

/// A SEW residual add around a branch (docs/arithmetic.md §5): `y = x + branch(x)` on counts.
public struct ResidualConfig: Hashable, Sendable {
    public var channels: Int
    public var timeSteps: Int
    /// Counts per beat, `K`, of the input and the output (the branch takes the input beats as
    /// they are, so its own input chunk is `K`).
    public var lanes: Int
    /// The largest input count; the output holds counts up to `maxInputCount + 1` (the branch
    /// adds 0/1 spikes).
    public var maxInputCount: Int
    /// Slots of the branch's `m_axis_tdata` (its `P`): beat `g` carries channels `g*P ...`. A
    /// branch beat covers `r = ceil(min(P, C) / K)` output beats, so `P` must be a multiple of
    /// `K` or at least `C` (the join takes the branch beat's `K`-channel slices in turn).
    public var branchLanes: Int
    /// The branch's causality window `W`: the vectors it must receive before it emits the first
    /// of them (1 for a token-local branch such as QKTA or the MLP; `N*T`, a whole sample, for
    /// QKCA, whose channel mask needs every token).
    public var branchWindow: Int
    /// `V`, the most vectors admitted into the branch and not yet joined (the credit limit);
    /// at least `branchWindow`. More overlaps the branch's pipeline; each costs a vector of FIFO.
    public var vectorsInFlight: Int
    public var name: String

    public init(channels: Int, timeSteps: Int, lanes: Int, maxInputCount: Int, branchLanes: Int,
                branchWindow: Int = 1, vectorsInFlight: Int = 4, name: String = "residual") {
        self.channels = channels
        self.timeSteps = timeSteps
        self.lanes = lanes
        self.maxInputCount = maxInputCount
        self.branchLanes = branchLanes
        self.branchWindow = branchWindow
        self.vectorsInFlight = vectorsInFlight
        self.name = name
    }

    /// Beats per vector, `B`.
    public var beats: Int { (channels + lanes - 1) / lanes }
    /// Output beats per branch beat, `r` (the last branch beat of a vector may cover fewer).
    public var slicesPerBranchBeat: Int { (min(branchLanes, channels) + lanes - 1) / lanes }
    public var maxOutputCount: Int { maxInputCount + 1 }
    public var inputFormat: CountStreamFormat {
        CountStreamFormat(channels: channels, lanes: lanes, countWidth: Interval(0, maxInputCount).unsignedWidth, timeSteps: timeSteps)
    }
    /// Counts `0...maxInputCount + 1`: exactly the bits they need, nothing saturates.
    public var outputFormat: CountStreamFormat {
        CountStreamFormat(channels: channels, lanes: lanes, countWidth: Interval(0, maxOutputCount).unsignedWidth, timeSteps: timeSteps)
    }
    /// The FIFO depth the proof in `makeResidual` needs: `V * B` beats.
    public var fifoDepth: Int { vectorsInFlight * beats }

    public func validate() throws {
        guard channels >= 1 else { throw BlockError("channels is \(channels); give at least 1") }
        guard (1...64).contains(timeSteps) else { throw BlockError("timeSteps is \(timeSteps); choose 1...64") }
        guard (1...channels).contains(lanes) else { throw BlockError("lanes is \(lanes); choose 1...\(channels) counts per beat") }
        guard (0...254).contains(maxInputCount) else { throw BlockError("maxInputCount is \(maxInputCount); choose 0...254") }
        guard (1...256).contains(branchLanes), branchLanes % lanes == 0 || branchLanes >= channels else {
            throw BlockError("the branch emits beats of \(branchLanes) channels but the residual's beats hold \(lanes); give the branch lanes a multiple of \(lanes) (or at least \(channels))")
        }
        guard branchWindow >= 1 else { throw BlockError("branchWindow is \(branchWindow); give at least 1 vector") }
        guard vectorsInFlight >= branchWindow else {
            throw BlockError("vectorsInFlight is \(vectorsInFlight) but the branch needs \(branchWindow) vector(s) before it emits one; raise vectorsInFlight to at least \(branchWindow), or the block would deadlock")
        }
        guard fifoDepth <= 1 << 22 else { throw BlockError("the residual FIFO would hold \(fifoDepth) beats; lower vectorsInFlight") }
    }
}

/// Builds `y = x + branch(x)` around the module `branch`, which must have count-stream ports
/// (`s_axis_*` taking `inputFormat`, `m_axis_*` giving one spike vector per input vector in
/// input order, `s_axis_error`).
///
/// The input forks into the branch and into a FIFO of the input counts; the adder joins the
/// branch output and the FIFO head beat by beat, in order (no fixed-latency delay line: the
/// FIFO holds exactly what the branch has not answered yet).
///
/// Why it cannot deadlock (the FIFO depth `D = V * B` is proven, not guessed): a credit
/// counter admits the first beat of a vector only while fewer than `V` vectors are admitted and
/// not yet joined; later beats of an admitted vector need no credit; a credit returns when the
/// adder emits the vector's last beat. A beat enters the FIFO only after it was admitted, and
/// leaves it when joined, so the FIFO never holds more than `V` vectors of `B` beats, `V * B =
/// D`: the fork never waits on a full FIFO. The fork waits on the branch only, and the branch
/// can always make progress: its output is taken whenever the FIFO head is there, which it is,
/// since the branch emits vector `v` only after it took vector `v`'s beats (every branch here
/// answers a vector after its whole input), and those beats went into the FIFO in the same
/// order. Credits run out only when `V` vectors are inside the branch; because `V >= W`, the
/// branch's causality window, those vectors are enough for it to emit the oldest one, which
/// the adder joins (given the consumer eventually takes `m_axis`), returning a credit. So every
/// admitted vector is eventually joined and every offered beat eventually admitted, under any
/// stall pattern on either side.
public func makeResidual(_ c: ResidualConfig, branch: Module) throws -> Module {
    try c.validate()
    let C = c.channels, K = c.lanes, B = c.beats, T = c.timeSteps, V = c.vectorsInFlight
    let wi = c.inputFormat.countWidth, wo = c.outputFormat.countWidth
    let bw = Memory.addressWidth(depth: B), tw = Memory.addressWidth(depth: T)
    let vw = Interval(0, V).unsignedWidth
    let fifo = try makeStreamFIFO(StreamFIFOConfig(width: K * wi, depth: c.fifoDepth, name: "residual_fifo"))

    let m = Module("\(c.name)_c\(C)_k\(K)_m\(c.maxInputCount)_v\(V)", doc: """
        SEW residual add (docs/arithmetic.md §5): y = x + branch(x) on counts; branch = \(branch.name).
        Input stream s_axis (one vector per token and time step; tokens in order, the T = \(T) time steps of a token
        innermost; a vector is \(B) beat(s) of \(K) counts of \(wi) bit(s), counts 0...\(c.maxInputCount)):
          s_axis_tdata  [\(K * wi - 1):0]  count of channel beat*\(K) + j at bits [j*\(wi) +: \(wi)]
          s_axis_tlast  last beat of a vector
          s_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        s_axis_error goes high (sticky) if the branch saw tlast or tuser disagree with the beat count, or its output
        beats did not line up with the input's.
        Output stream m_axis (one vector per input vector, same order, \(B) beat(s) of \(K) counts of \(wo) bit(s),
        counts 0...\(c.maxOutputCount): exactly the bits the sum needs, nothing saturates):
          m_axis_tdata  [\(K * wo - 1):0]  x + branch(x) of channel beat*\(K) + j at bits [j*\(wo) +: \(wo)]
          m_axis_tlast  last beat of a vector
          m_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        Join: each branch beat (\(c.branchLanes) spikes) serves \(c.slicesPerBranchBeat) output beat(s) of \(K) channels, in turn.
        Fork and join: the input goes to the branch and to a FIFO of \(c.fifoDepth) beats (\(V) vectors x \(B) beats);
        a credit counter admits at most V = \(V) vectors that are not yet joined (the branch needs \(c.branchWindow) before it
        emits one), which proves the FIFO never fills while the branch waits, so no stall pattern deadlocks it.
        \(streamBlockConventions(memories: true))
        """)
    m.parameter("channels", C)
    m.parameter("lanes", K)
    m.parameter("maxInputCount", c.maxInputCount)
    m.parameter("vectorsInFlight", V)
    m.parameter("fifoDepth", c.fifoDepth)

    let sValid = m.input("s_axis_tvalid", width: 1)
    let sData = m.input("s_axis_tdata", width: K * wi)
    let sLast = m.input("s_axis_tlast", width: 1)
    let sUser = m.input("s_axis_tuser", width: 2)
    let mReady = m.input("m_axis_tready", width: 1)

    let uBranch = m.instance(branch, "u_branch")
    let uFifo = m.instance(fifo, "u_fifo")

    // MARK: Fork, with the credit limit

    let inBeat = m.reg("in_beat", width: bw, reset: 0)
    let inflight = m.reg("inflight", width: vw, reset: 0)
    let pendBranch = m.reg("pending_branch", width: 1, reset: 0)
    let pendFifo = m.reg("pending_fifo", width: 1, reset: 0)
    let heldData = m.reg("held_data", width: K * wi)
    let heldLast = m.reg("held_last", width: 1)
    let heldUser = m.reg("held_user", width: 2)
    let branchReady = uBranch.output("s_axis_tready")
    let fifoReady = uFifo.output("in_ready")
    let allTaken = m.wire("fork_all_taken", (~pendBranch | branchReady) & (~pendFifo | fifoReady))
    let inFirst = inBeat.eq(.const(0, width: bw))
    let credit = m.wire("credit_ok", ~inFirst | inflight.lt(.const(V, width: vw)))
    let sReady = m.wire("s_ready", allTaken & credit)
    let sFire = m.wire("s_fire", sValid & sReady)
    m.next(inBeat, mux(inBeat.eq(.const(B - 1, width: bw)), .const(0, width: bw), inBeat +% .const(1, width: bw)), enable: sFire)
    m.next(pendBranch, mux(sFire, .const(1, width: 1), pendBranch & ~branchReady))
    m.next(pendFifo, mux(sFire, .const(1, width: 1), pendFifo & ~fifoReady))
    m.next(heldData, sData, enable: sFire)
    m.next(heldLast, sLast, enable: sFire)
    m.next(heldUser, sUser, enable: sFire)
    uBranch.connect("s_axis_tvalid", pendBranch)
    uBranch.connect("s_axis_tdata", heldData)
    uBranch.connect("s_axis_tlast", heldLast)
    uBranch.connect("s_axis_tuser", heldUser)
    uFifo.connect("in_valid", pendFifo)
    uFifo.connect("in_data", heldData)

    // MARK: Join and add

    let outFields = [StreamField("data", width: K * wo), StreamField("last", width: 1), StreamField("user", width: 2)]
    let out = SkidBuffer(m, "out_slice", fields: outFields)
    let bValid = uBranch.output("m_axis_tvalid"), fValid = uFifo.output("out_valid")
    let joinValid = m.wire("join_valid", bValid & fValid)
    let joinFire = m.wire("join_fire", joinValid & out.upReady)
    let outBeat = m.reg("out_beat", width: bw, reset: 0)
    let outStep = m.reg("out_step", width: tw, reset: 0)
    let outLast = m.wire("out_last_beat", outBeat.eq(.const(B - 1, width: bw)))
    // A branch beat of r*K channels serves r output beats: slice `sub` of it joins this FIFO
    // beat, and the branch beat leaves with its last slice or at the vector's end.
    let r = c.slicesPerBranchBeat
    let sub: Expr?
    let branchDone: Expr
    if r == 1 {
        sub = nil
        branchDone = .const(1, width: 1)
    } else {
        let sw = Memory.addressWidth(depth: r)
        let reg = m.reg("branch_slice", width: sw, reset: 0)
        branchDone = m.wire("branch_slice_done", reg.eq(.const(r - 1, width: sw)) | outLast)
        m.next(reg, mux(branchDone, .const(0, width: sw), reg +% .const(1, width: sw)), enable: joinFire)
        sub = reg
    }
    uBranch.connect("m_axis_tready", r == 1 ? fValid & out.upReady : fValid & out.upReady & branchDone)
    uFifo.connect("out_ready", bValid & out.upReady)
    m.next(outBeat, mux(outLast, .const(0, width: bw), outBeat +% .const(1, width: bw)), enable: joinFire)
    m.next(outStep, mux(outStep.eq(.const(T - 1, width: tw)), .const(0, width: tw), outStep +% .const(1, width: tw)),
           enable: joinFire & outLast)
    let vecIn = m.wire("vector_admitted", sFire & inFirst)
    let vecOut = m.wire("vector_joined", joinFire & outLast)
    m.next(inflight, mux(vecIn & ~vecOut, inflight +% .const(1, width: vw),
                         mux(vecOut & ~vecIn, inflight -% .const(1, width: vw), inflight)))

    let counts = uFifo.output("out_data"), spikes = uBranch.output("m_axis_tdata")
    var lanes: [Expr] = []
    for j in 0..<K {
        // x + s with x <= maxInputCount and s <= 1: wo bits hold every sum.
        var spike = spikes.bit(j)
        if let sub {
            for k in 1..<r where k * K + j < c.branchLanes {
                spike = mux(sub.eq(.const(k, width: sub.width)), spikes.bit(k * K + j), spike)
            }
        }
        let sum = (counts.slice(j * wi + wi - 1, j * wi).extend(to: wo) +% spike.extend(to: wo))
        // Slots past C in the last beat carry 0 (the input may hold anything there).
        lanes.append((B - 1) * K + j >= C ? mux(outLast, .const(0, width: wo), sum) : sum)
    }
    let firstBeat = outBeat.eq(.const(0, width: bw))
    out.drive(upValid: joinValid, upPayload: [m.wire("sum", cat(lanes.reversed())), outLast,
                                              cat(firstBeat & outStep.eq(.const(0, width: tw)), firstBeat)],
              downReady: mReady)
    // The branch's beats must line up with the input's: its tlast marks the same beat.
    let joinError = m.reg("join_error", width: 1, reset: 0)
    let branchFire = r == 1 ? joinFire : joinFire & branchDone
    m.next(joinError, joinError | (branchFire & uBranch.output("m_axis_tlast").ne(outLast)))

    m.output("s_axis_tready", sReady)
    m.output("s_axis_error", uBranch.output("s_axis_error") | joinError)
    m.output("m_axis_tvalid", out.downValid)
    m.output("m_axis_tdata", out.downPayload[0])
    m.output("m_axis_tlast", out.downPayload[1])
    m.output("m_axis_tuser", out.downPayload[2])
    return m
}
