import HDL

/// The causal reach of a streaming part, in tokens of its input (tokens in raster order, every
/// count vector of a token counted with it). Both functions are monotone in the output token.
public struct TokenReach: Sendable {
    /// `needs(j)`: input tokens the part is guaranteed to have consumed enough of to emit every
    /// beat of output token `j` (it never waits for more). A guarantee of the hardware.
    public var needs: @Sendable (Int) -> Int
    /// `causal(j)`: input tokens it must have seen before any beat of output token `j` can
    /// exist (the last input token `j` depends on, plus one). A property of the arithmetic.
    public var causal: @Sendable (Int) -> Int
    /// Output tokens.
    public var outputTokens: Int

    public init(outputTokens: Int, needs: @escaping @Sendable (Int) -> Int, causal: @escaping @Sendable (Int) -> Int) {
        (self.outputTokens, self.needs, self.causal) = (outputTokens, needs, causal)
    }

    /// `first` then `self` (self reads `first`'s output).
    public func after(_ first: TokenReach) -> TokenReach {
        let (a, b) = (first, self)
        return TokenReach(outputTokens: b.outputTokens,
                          needs: { j in let n = b.needs(j); return n == 0 ? 0 : a.needs(n - 1) },
                          causal: { j in let n = b.causal(j); return n == 0 ? 0 : a.causal(n - 1) })
    }

    /// The shortcut FIFO a fork needs, in output tokens (docs/arithmetic.md §8): while the main
    /// branch waits for input to emit token `j`, the shortcut may have emitted every token whose
    /// causal input is already in (`causal(j') <= main.needs(j)`), of which the join has taken
    /// `j`. The largest such backlog is the depth; one token more covers the partial token the
    /// broadcast holds.
    public static func forkBacklog(main: TokenReach, shortcut: TokenReach) -> Int {
        var worst = 0, emitted = 0
        for j in 0..<main.outputTokens {
            let inputIn = main.needs(j)
            while emitted < shortcut.outputTokens && shortcut.causal(emitted) <= inputIn { emitted += 1 }
            worst = max(worst, emitted - j)
        }
        return worst + 1
    }
}

/// A patch embedding's join (docs/arithmetic.md §8): `y = main(x) + shortcut(x)` on counts.
public struct PatchForkConfig: Hashable, Sendable {
    public var input: CountStreamFormat
    /// Both branches write this many channels in beats of `lanes` counts.
    public var channels: Int
    public var lanes: Int
    public var mainMaxCount: Int
    public var shortcutMaxCount: Int
    /// The shortcut FIFO's depth in output tokens (`TokenReach.forkBacklog`).
    public var fifoTokens: Int
    public var name: String

    public init(input: CountStreamFormat, channels: Int, lanes: Int, mainMaxCount: Int = 1, shortcutMaxCount: Int = 1,
                fifoTokens: Int, name: String = "patch_fork") {
        (self.input, self.channels, self.lanes, self.mainMaxCount, self.shortcutMaxCount) = (input, channels, lanes, mainMaxCount, shortcutMaxCount)
        (self.fifoTokens, self.name) = (fifoTokens, name)
    }

    public var timeSteps: Int { input.timeSteps }
    public var outputBeats: Int { (channels + lanes - 1) / lanes }
    public var mainFormat: CountStreamFormat {
        CountStreamFormat(channels: channels, lanes: lanes, countWidth: Interval(0, mainMaxCount).unsignedWidth, timeSteps: timeSteps)
    }
    public var shortcutFormat: CountStreamFormat {
        CountStreamFormat(channels: channels, lanes: lanes, countWidth: Interval(0, shortcutMaxCount).unsignedWidth, timeSteps: timeSteps)
    }
    public var maxOutputCount: Int { mainMaxCount + shortcutMaxCount }
    public var outputFormat: CountStreamFormat {
        CountStreamFormat(channels: channels, lanes: lanes, countWidth: Interval(0, maxOutputCount).unsignedWidth, timeSteps: timeSteps)
    }
    /// Beats of the shortcut FIFO: `fifoTokens` tokens of `T` vectors.
    public var fifoDepth: Int { fifoTokens * timeSteps * outputBeats }

    public func validate() throws {
        guard channels >= 1, (1...channels).contains(lanes) || lanes >= 1 else { throw BlockError("fork lanes must be at least 1") }
        guard fifoTokens >= 1 else { throw BlockError("the shortcut FIFO must hold at least one token") }
        guard fifoDepth <= 1 << 22 else { throw BlockError("the shortcut FIFO would hold \(fifoDepth) beats; that is beyond 2^22") }
        guard maxOutputCount <= 255 else { throw BlockError("the fork's sum reaches \(maxOutputCount), beyond uint8") }
    }
}

/// Builds `main(x) + shortcut(x)` around two branch modules with count-stream ports (as the
/// conv and block modules have): the input is broadcast to both (a beat leaves `s_axis` once
/// both took it), the shortcut's output waits in a FIFO, and the join adds the main branch's
/// beat and the FIFO head lane by lane, in order.
///
/// Why it cannot deadlock: the join takes a main beat whenever the FIFO holds its partner, and
/// the FIFO holds `fifoTokens` tokens, proven from the branches' causal reach
/// (`TokenReach.forkBacklog`): while the main branch still waits for input to emit token `j`,
/// the shortcut cannot have more than that many tokens ready beyond what the join took, so it
/// never stalls the broadcast, and the input keeps reaching the main branch.
public func makePatchFork(_ c: PatchForkConfig, main: Module, shortcut: Module) throws -> Module {
    try c.validate()
    let K = c.lanes, B = c.outputBeats, T = c.timeSteps, C = c.channels
    let wi = c.input.countWidth, wm = c.mainFormat.countWidth, ws = c.shortcutFormat.countWidth, wo = c.outputFormat.countWidth
    let ki = c.input.lanes
    let bw = Memory.addressWidth(depth: B), tw = Memory.addressWidth(depth: T)
    let fifo = try makeStreamFIFO(StreamFIFOConfig(width: K * ws, depth: c.fifoDepth, name: "shortcut_fifo"))
    let m = Module("\(c.name)_c\(C)_k\(K)_d\(c.fifoTokens)", doc: """
        Patch embedding join (docs/arithmetic.md §8): y = main(x) + shortcut(x) on counts; main = \(main.name),
        shortcut = \(shortcut.name).
        Input stream s_axis (\(c.input)): as the branches take it; a beat leaves s_axis once both branches took it.
          s_axis_tdata  [\(ki * wi - 1):0], s_axis_tlast, s_axis_tuser [1] first beat of a token, [0] first beat of a time step
        Output stream m_axis (one vector per output token and time step, tokens in raster order, T = \(T) innermost;
        \(B) beat(s) of \(K) counts of \(wo) bit(s), counts 0...\(c.maxOutputCount)):
          m_axis_tdata  [\(K * wo - 1):0]  main + shortcut of channel beat*\(K) + j at bits [j*\(wo) +: \(wo)]
          m_axis_tlast  last beat of a vector
          m_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        s_axis_error (sticky): either branch saw a malformed input, or the branches' beats did not line up.
        Shortcut FIFO: \(c.fifoDepth) beats = \(c.fifoTokens) tokens x \(T) time steps x \(B) beats, the largest backlog the
        branches' causal reach allows (TokenReach.forkBacklog), so no stall pattern deadlocks the fork.
        \(streamBlockConventions(memories: true))
        """)
    m.parameter("channels", C)
    m.parameter("lanes", K)
    m.parameter("fifoTokens", c.fifoTokens)

    let sValid = m.input("s_axis_tvalid", width: 1)
    let sData = m.input("s_axis_tdata", width: ki * wi)
    let sLast = m.input("s_axis_tlast", width: 1)
    let sUser = m.input("s_axis_tuser", width: 2)
    let mReady = m.input("m_axis_tready", width: 1)
    let uMain = m.instance(main, "u_main")
    let uShort = m.instance(shortcut, "u_shortcut")
    let uFifo = m.instance(fifo, "u_shortcut_fifo")

    // MARK: Broadcast: hold the beat until both branches took it.
    let pendMain = m.reg("pending_main", width: 1, reset: 0)
    let pendShort = m.reg("pending_shortcut", width: 1, reset: 0)
    let heldData = m.reg("held_data", width: ki * wi)
    let heldLast = m.reg("held_last", width: 1)
    let heldUser = m.reg("held_user", width: 2)
    let mainTakes = uMain.output("s_axis_tready"), shortTakes = uShort.output("s_axis_tready")
    let sReady = m.wire("s_ready", (~pendMain | mainTakes) & (~pendShort | shortTakes))
    let sFire = m.wire("s_fire", sValid & sReady)
    m.next(pendMain, mux(sFire, .const(1, width: 1), pendMain & ~mainTakes))
    m.next(pendShort, mux(sFire, .const(1, width: 1), pendShort & ~shortTakes))
    m.next(heldData, sData, enable: sFire)
    m.next(heldLast, sLast, enable: sFire)
    m.next(heldUser, sUser, enable: sFire)
    for u in [uMain, uShort] {
        u.connect("s_axis_tdata", heldData)
        u.connect("s_axis_tlast", heldLast)
        u.connect("s_axis_tuser", heldUser)
    }
    uMain.connect("s_axis_tvalid", pendMain)
    uShort.connect("s_axis_tvalid", pendShort)

    // MARK: Shortcut into its FIFO; join and add.
    uFifo.connect("in_valid", uShort.output("m_axis_tvalid"))
    uFifo.connect("in_data", uShort.output("m_axis_tdata"))
    uShort.connect("m_axis_tready", uFifo.output("in_ready"))

    let outFields = [StreamField("data", width: K * wo), StreamField("last", width: 1), StreamField("user", width: 2)]
    let out = SkidBuffer(m, "out_slice", fields: outFields)
    let mValid = uMain.output("m_axis_tvalid"), fValid = uFifo.output("out_valid")
    let joinValid = m.wire("join_valid", mValid & fValid)
    let joinFire = m.wire("join_fire", joinValid & out.upReady)
    uMain.connect("m_axis_tready", fValid & out.upReady)
    uFifo.connect("out_ready", mValid & out.upReady)
    let outBeat = m.reg("out_beat", width: bw, reset: 0)
    let outStep = m.reg("out_step", width: tw, reset: 0)
    let outLast = m.wire("out_last_beat", outBeat.eq(.const(B - 1, width: bw)))
    m.next(outBeat, mux(outLast, .const(0, width: bw), outBeat +% .const(1, width: bw)), enable: joinFire)
    m.next(outStep, mux(outStep.eq(.const(T - 1, width: tw)), .const(0, width: tw), outStep +% .const(1, width: tw)),
           enable: joinFire & outLast)
    let a = uMain.output("m_axis_tdata"), b = uFifo.output("out_data")
    var lanes: [Expr] = []
    for j in 0..<K {
        // main <= mainMaxCount and shortcut <= shortcutMaxCount: wo bits hold the sum.
        let sum = a.slice(j * wm + wm - 1, j * wm).extend(to: wo) +% b.slice(j * ws + ws - 1, j * ws).extend(to: wo)
        lanes.append((B - 1) * K + j >= C ? mux(outLast, .const(0, width: wo), sum) : sum)
    }
    let firstBeat = outBeat.eq(.const(0, width: bw))
    out.drive(upValid: joinValid, upPayload: [m.wire("sum", cat(lanes.reversed())), outLast,
                                              cat(firstBeat & outStep.eq(.const(0, width: tw)), firstBeat)],
              downReady: mReady)
    let joinError = m.reg("join_error", width: 1, reset: 0)
    m.next(joinError, joinError | (joinFire & uMain.output("m_axis_tlast").ne(outLast)))

    m.output("s_axis_tready", sReady)
    m.output("s_axis_error", uMain.output("s_axis_error") | uShort.output("s_axis_error") | joinError)
    m.output("m_axis_tvalid", out.downValid)
    m.output("m_axis_tdata", out.downPayload[0])
    m.output("m_axis_tlast", out.downPayload[1])
    m.output("m_axis_tuser", out.downPayload[2])
    return m
}
