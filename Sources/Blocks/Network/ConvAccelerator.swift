import Description
import HDL

/// A 2-D convolution on a count stream, event driven, with QKFormer's LIF and an optional
/// `MaxPool2d(3, 2, 1)` on the currents before the LIF (SPEC 3.6, 3.7; docs/conv.md):
/// `S = LIF(pool?(conv(x)))`, PyTorch `Conv2d(kernel, stride, padding)` semantics.
public struct ConvConfig: Hashable, Sendable, WindowedLayer {
    public var inChannels: Int
    public var outChannels: Int
    /// The input image, `height x width` tokens (token `y*width + x`).
    public var height: Int
    public var width: Int
    public var timeSteps: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public var pool: Bool
    /// `P`: outputs updated per cycle, lanes of the LIF bank and of `m_axis`.
    public var lanes: Int
    /// Counts per `s_axis` beat.
    public var inputChunk: Int
    public var maxInputCount: Int
    /// `W[o][(i*k + dy)*k + dx]` (PyTorch's flattening), bias and neuron.
    public var layer: SpikingLayerWeights
    public var storage: LIFStateStorage
    /// Output tokens (post-pool tokens with `pool`) that may be gathered ahead of `m_axis`: the
    /// gatherer starts output token `j` only while fewer than this many started tokens have not
    /// left `m_axis` completely. 2 overlaps one token's gather with the previous one's drain.
    public var tokensInFlight: Int
    public var name: String

    public init(inChannels: Int, outChannels: Int, height: Int, width: Int, timeSteps: Int, kernel: Int, stride: Int = 1,
                padding: Int? = nil, pool: Bool = false, lanes: Int, inputChunk: Int? = nil, maxInputCount: Int = 1,
                layer: SpikingLayerWeights, storage: LIFStateStorage = .auto, tokensInFlight: Int = 2, name: String = "conv") {
        (self.inChannels, self.outChannels, self.height, self.width, self.timeSteps) = (inChannels, outChannels, height, width, timeSteps)
        (self.kernel, self.stride, self.padding, self.pool) = (kernel, stride, padding ?? (kernel - 1) / 2, pool)
        (self.lanes, self.inputChunk, self.maxInputCount) = (lanes, inputChunk ?? min(inChannels, 64), maxInputCount)
        (self.layer, self.storage, self.tokensInFlight, self.name) = (layer, storage, tokensInFlight, name)
    }

    /// The described layer reading `input` (a spatial stream), folded `lanes` wide.
    public init(_ c: ConvLayer, input: StreamFormat, lanes: Int, inputChunk: Int? = nil, storage: LIFStateStorage = .auto,
                tokensInFlight: Int = 2, name: String? = nil) throws {
        guard let w = input.width, w >= 1, input.tokens % w == 0 else {
            throw BlockError("a convolution reads a spatial stream; \(input) has no image width")
        }
        self.init(inChannels: c.inChannels, outChannels: c.outChannels, height: input.tokens / w, width: w,
                  timeSteps: input.timeSteps, kernel: c.kernel, stride: c.stride, padding: c.padding, pool: c.pool,
                  lanes: lanes, inputChunk: inputChunk, maxInputCount: input.maxCount, layer: try SpikingLayerWeights(c.layer),
                  storage: storage, tokensInFlight: tokensInFlight, name: name ?? "conv_\(c.layer.name)")
    }

    /// The convolution's own window walk (at the pre-pool resolution).
    public var convGeometry: WindowGeometry {
        WindowGeometry(height: height, width: width, kernel: kernel, stride: stride, padding: padding)
    }
    /// The pool's window walk over the conv outputs (nil without pool).
    public var poolGeometry: WindowGeometry? {
        pool ? WindowGeometry(height: convGeometry.outHeight, width: convGeometry.outWidth, kernel: 3, stride: 2, padding: 1) : nil
    }
    public var outHeight: Int { poolGeometry?.outHeight ?? convGeometry.outHeight }
    public var outWidth: Int { poolGeometry?.outWidth ?? convGeometry.outWidth }
    public var inputTokens: Int { height * width }
    public var outputTokens: Int { outHeight * outWidth }
    public var countWidth: Int { Interval(0, maxInputCount).unsignedWidth }
    /// `B`: beats per input vector.
    public var inputBeats: Int { (inChannels + inputChunk - 1) / inputChunk }
    /// `G`: beats per output vector and accumulator cycles per event.
    public var groups: Int { (outChannels + lanes - 1) / lanes }
    /// Channels the event encoder numbers per window: `k*k*B*inputChunk` (each tap's vector
    /// padded to whole beats; the padding channels never carry events).
    public var windowChannels: Int { kernel * kernel * inputBeats * inputChunk }

    public var inputFormat: CountStreamFormat {
        CountStreamFormat(channels: inChannels, lanes: inputChunk, countWidth: countWidth, timeSteps: timeSteps)
    }
    public var outputFormat: CountStreamFormat {
        CountStreamFormat(channels: outChannels, lanes: lanes, countWidth: 1, timeSteps: timeSteps)
    }

    /// Bits of the input line buffer: `slots x T x B` words of `inputChunk x countWidth` bits.
    public var lineBufferBits: Int { convGeometry.slots * timeSteps * inputBeats * inputChunk * countWidth }
    /// Bits of the pool's buffers (0 without pool): the row buffer of `ceil(Wc/2) x T x G` words
    /// and the column buffer of `T x G` words, each of `P x currentWidth` bits.
    public func poolBufferBits() throws -> Int {
        guard let pg = poolGeometry else { return 0 }
        return (pg.outWidth + 1) * timeSteps * groups * lanes * (try configs().accumulator.widths().accumulator)
    }

    /// The accumulator (its input channels in the encoder's window order: tap-major, then the
    /// padded channel) and the LIF bank.
    public func configs() throws -> (accumulator: SpikeAccumulatorConfig, lif: LIFBankConfig) {
        let k = kernel, K = inputChunk, B = inputBeats
        var weights = [[Int]](repeating: [Int](repeating: 0, count: windowChannels), count: outChannels)
        for o in 0..<outChannels {
            for tap in 0..<(k * k) {
                for c in 0..<inChannels {
                    weights[o][tap * B * K + c] = layer.weights[o][c * k * k + tap]
                }
            }
        }
        let l = SpikingLayerWeights(weights: weights, bias: layer.bias, neuron: layer.neuron, thresholds: layer.thresholds)
        return try l.configs(channels: outChannels, lanes: lanes, maxCount: maxInputCount, storage: storage, name: name)
    }

    public func validate() throws {
        try SpikeStreamParts.checkName(name, field: "name")
        guard [1, 3].contains(kernel) else { throw BlockError("kernel is \(kernel); choose 1 or 3") }
        guard [1, 2, 4].contains(stride) else { throw BlockError("stride is \(stride); choose 1, 2 or 4") }
        guard (0...(kernel - 1)).contains(padding) else { throw BlockError("padding is \(padding); choose 0...\(kernel - 1)") }
        guard inChannels >= 1, outChannels >= 1 else { throw BlockError("channels must be at least 1") }
        guard height + 2 * padding >= kernel, width + 2 * padding >= kernel else {
            throw BlockError("a \(kernel)x\(kernel) kernel does not fit the \(height) x \(width) image with padding \(padding)")
        }
        guard (1...64).contains(timeSteps) else { throw BlockError("timeSteps is \(timeSteps); choose 1...64") }
        guard (1...256).contains(lanes) else { throw BlockError("lanes is \(lanes); choose 1...256") }
        guard (1...inChannels).contains(inputChunk) else { throw BlockError("inputChunk is \(inputChunk); choose 1...\(inChannels)") }
        guard (1...255).contains(maxInputCount) else { throw BlockError("maxInputCount is \(maxInputCount); choose 1...255") }
        guard (1...8).contains(tokensInFlight) else { throw BlockError("tokensInFlight is \(tokensInFlight); choose 1...8") }
        guard layer.weights.count == outChannels, layer.weights.allSatisfy({ $0.count == inChannels * kernel * kernel }) else {
            throw BlockError("weights must be \(outChannels) x \(inChannels * kernel * kernel) (outputs x Cin*k*k)")
        }
        guard layer.bias.count == outChannels else { throw BlockError("bias must have \(outChannels) values") }
    }

    /// The input-lookahead contract (a guarantee of the generated RTL, proven in docs/conv.md
    /// and checked in co-simulation): before the module emits any beat of output token `n` of
    /// an image, it has accepted beats of at most this many input tokens of that image
    /// (counting a token once any of its `T x B` beats was accepted). A safe upper bound: it
    /// assumes every one of the `tokensInFlight` tokens the gatherer may start ahead of `m_axis`
    /// has been gathered completely; when `m_axis` stalls the RTL stops within a token or two
    /// (without pool) of it, as the pipeline fills first. `n == outputTokens` gives the whole image.
    public func inputTokensRead(beforeOutput n: Int) -> Int {
        let cg = convGeometry, F = tokensInFlight
        guard let pg = poolGeometry else {
            // The gatherer is at most at output n + F (F tokens started and not emitted).
            return cg.tokensWritable(whileGathering: min(n + F, cg.outTokens))
        }
        // The pool has started at most n + F pooled tokens and waits, at the latest, at the first
        // beat of pooled token n + F, which conv token pg.end(n + F) makes: it has touched at most
        // c1 conv tokens, completed at most c1, so the conv gatherer is at most at conv output c1 + F.
        let c1 = n + F >= pg.outTokens ? cg.outTokens : pg.end(n + F) + 1
        return cg.tokensWritable(whileGathering: min(c1 + F, cg.outTokens))
    }

    /// Readable parameters, then a fingerprint of the numbers (weights, bias, neuron, folding),
    /// so that two layers of one shape never share a module name.
    public var moduleName: String {
        let text = "\(layer)|\(maxInputCount)|\(inputChunk)|\(padding)|\(storage.rawValue)|\(tokensInFlight)"
        return "\(name)_k\(kernel)s\(stride)_ci\(inChannels)_co\(outChannels)_\(height)x\(width)_t\(timeSteps)_p\(lanes)\(pool ? "_pool" : "")_\(ModuleNameHash.hash(text))"
    }
}

/// Builds the convolution on a count stream (`ConvConfig`).
public func makeConv(_ c: ConvConfig) throws -> Module {
    try c.validate()
    let (acc, lifC) = try c.configs()
    let aw = try acc.widths()
    let cg = c.convGeometry
    let T = c.timeSteps, B = c.inputBeats, K = c.inputChunk, cw = c.countWidth, k = c.kernel
    let G = c.groups, P = c.lanes, F = c.tokensInFlight
    let gw = Memory.addressWidth(depth: G), tw = Memory.addressWidth(depth: T)
    let D = cg.slots, TB = T * B
    let poolBits = try c.poolBufferBits()
    let encCfg = EventEncoderConfig(channels: c.windowChannels, chunkChannels: K, countWidth: cw, slots: 1)
    let stride = c.stride, pad = c.padding

    let m = Module(c.moduleName, doc: """
        Convolution on a count stream (SPEC 3.6\(c.pool ? ", 3.7" : ""); docs/conv.md): S = LIF(\(c.pool ? "MaxPool2d(3,2,1)(" : "")conv(x)\(c.pool ? ")" : "")),
        Conv2d(\(c.inChannels) -> \(c.outChannels), kernel \(k), stride \(stride), padding \(pad)) on a \(c.height) x \(c.width) image, T = \(T);
        \(c.pool ? "the conv runs at \(cg.outHeight) x \(cg.outWidth) and its currents (not spikes) are max-pooled (floor mode, -infinity padding) to " : "output ")\(c.outHeight) x \(c.outWidth).
        Input stream s_axis (CountStreamFormat: tokens y*\(c.width)+x row-major, the T time steps of a token innermost; a vector is
        \(B) beat(s) of \(K) counts of \(cw) bit(s), counts 0...\(c.maxInputCount)):
          s_axis_tdata  [\(K * cw - 1):0]  count of channel beat*\(K) + j at bits [j*\(cw) +: \(cw)]
          s_axis_tlast  last beat of a vector
          s_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        s_axis_error goes high (sticky) if tlast or tuser disagree with the beat count. Images follow each other
        back to back (\(c.inputTokens) tokens each); there is no image marker.
        Output stream m_axis (one spike vector per output token and time step, tokens y*\(c.outWidth)+x row-major, T innermost;
        \(G) beat(s) of \(P) spikes):
          m_axis_tdata  [\(P - 1):0]  spike of channel group*\(P) + j at bit j (bits past \(c.outChannels) are 0)
          m_axis_tlast  last beat of a vector
          m_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        Datapath: the input line buffer (RAM line_buffer, \(D) tokens = (k-1)*W + k + 1, x T x B words of \(K * cw) bits =
        \(c.lineBufferBits) bits, no reset, no image) keeps the last tokens; for each conv output position and time step the
        gatherer reads the \(k)x\(k) window (\(k * k * B) beats, taps outside the image read as zeros: the padding), the event
        encoder turns the non-zero counts into events over the \(c.windowChannels) window channels (tap-major: channel
        (dy*\(k)+dx)*\(B * K) + i), and the accumulator adds each event's weight row (\(G) cycle(s) per event, P = \(P) lanes,
        \(aw.accumulator)-bit exact currents in \(aw.currentRange)).\(c.pool ? """
         The currents are max-pooled as they stream, separably (no window is re-read): the column buffer (pool_cols,
        T x G = \(T * G) words) holds the running max of the pooled column, the row buffer (RAM pool_rows, \(c.poolGeometry!.outWidth) x T x G
        words) that of the pooled row, each word \(P * aw.accumulator) bits: \(poolBits) bits in all; -infinity padding = taps that do not exist are skipped.
        """ : "")
        Weights: the accumulator's ROMs are $readmemh images beside this file (weights, bias); the LIF thresholds are constants.
        Memory bits: line buffer \(c.lineBufferBits)\(c.pool ? ", pool buffer \(poolBits)" : ""), weights \(c.windowChannels * G * P * aw.weight), bias \(G * P * aw.bias).
        Cycles (docs/conv.md): per conv output vector, the encoder takes sum over the \(k * k * B) window beats of max(1, events in
        the beat) cycles, and the accumulator events x \(G) + 1 cycles; the two overlap, so a vector costs about
        max(\(k * k * B) + extra events, events x \(G) + 1) cycles; zero counts cost only their beat's scan cycle. Outputs off the
        stride grid are skipped (no cycles); between two output tokens the gatherer idles 1 cycle.\(c.pool ? " The pool takes one conv beat per cycle (it never limits the conv)." : "")
        Input lookahead (a guarantee, ConvConfig.inputTokensRead): the input is accepted only while the token being written
        is below start(j) + \(D), j the conv output being gathered (start = its window's top-left token, negative in the padding);
        at most \(F) output token(s) are gathered ahead of m_axis\(c.pool ? " (pooled tokens started by the pool, and \(F) conv tokens ahead of the pool's input)" : "").
        \(streamBlockConventions(memories: true))
        """)
    m.parameter("inChannels", c.inChannels)
    m.parameter("outChannels", c.outChannels)
    m.parameter("image", "\(c.height) x \(c.width)")
    m.parameter("kernel", k)
    m.parameter("stride", stride)
    m.parameter("padding", pad)
    m.parameter("pool", c.pool)
    m.parameter("timeSteps", T)
    m.parameter("lanes", P)
    m.parameter("inputChunk", K)
    m.parameter("maxInputCount", c.maxInputCount)
    m.parameter("tokensInFlight", F)
    m.parameter("storage", c.storage.rawValue)
    m.parameter("lineBufferBits", c.lineBufferBits)
    if c.pool { m.parameter("poolBufferBits", poolBits) }

    let sValid = m.input("s_axis_tvalid", width: 1)
    let sData = m.input("s_axis_tdata", width: K * cw)
    let sLast = m.input("s_axis_tlast", width: 1)
    let sUser = m.input("s_axis_tuser", width: 2)
    let mReady = m.input("m_axis_tready", width: 1)

    // MARK: Input line buffer: write side

    let lineMem = m.memory("line_buffer", width: K * cw, depth: D * TB)
    let writer = LineWriter(m, "wr", geometry: cg, beatsPerToken: TB, addressWidth: lineMem.addressWidth)
    let walker = WindowWalker(m, "win", geometry: cg, scale: TB)
    let gImage = m.reg("gather_image", width: 1, reset: 0)
    let gWait = m.reg("gather_wait", width: 1, reset: 0)   // every output of the image gathered
    let sameImage = m.wire("wr_same_image", writer.image.eq(gImage))
    let sReady = m.wire("s_ready", sameImage & (gWait | ult(writer.token, walker.limit)))
    let sFire = m.wire("s_fire", sValid & sReady)
    // The slots past C_in in the last beat are ignored: stored as zeros, they never make events.
    let lastBeatSlots = c.inChannels - (B - 1) * K
    var masked = sData
    if lastBeatSlots < K {
        let beatIdx = m.reg("wr_in_beat", width: uwidth(B - 1), reset: 0)
        m.next(beatIdx, wrapIncrement(beatIdx, last: B - 1), enable: sFire)
        let isLast = beatIdx.eq(ucon(B - 1, beatIdx.width))
        let keep = cat((0..<K).reversed().map { j in j < lastBeatSlots ? ucon(1, 1) : ~isLast })
        var maskBits: [Expr] = []
        for j in (0..<K).reversed() { for _ in 0..<cw { maskBits.append(keep.bit(j)) } }
        masked = m.wire("wr_data", sData & cat(maskBits))
    }
    m.write(lineMem, address: writer.address, data: masked, enable: sFire)
    writer.advance(fire: sFire)

    // MARK: Gather: windows out of the line buffer, one beat per cycle

    let tokenDone = m.wire("gather_token_done", width: 1)   // a gathered token has left (m_axis, or into the pool buffer)
    let mTokenDone = m.wire("out_token_done", width: 1)      // an output token left m_axis completely
    let inflight = m.reg("inflight", width: uwidth(F), reset: 0)
    let active = m.reg("gather_active", width: 1, reset: 0)
    let windowReady = m.wire("window_ready", walker.windowWritten(writer, writerAhead: writer.image.ne(gImage)))
    let start = m.wire("gather_start", ~active & ~gWait & ult(inflight, ucon(F, inflight.width)) & windowReady)
    let gt = m.reg("gather_t", width: tw, reset: 0)
    let gtB = m.reg("gather_tb", width: uwidth(TB), reset: 0)   // t*B
    let dy = m.reg("gather_dy", width: uwidth(k - 1), reset: 0)
    let dx = m.reg("gather_dx", width: uwidth(k - 1), reset: 0)
    let gb = m.reg("gather_beat", width: uwidth(B - 1), reset: 0)
    let encReady = m.wire("enc_ready", width: 1)
    let s2Valid = m.reg("window_valid", width: 1, reset: 0)
    let s2Pad = m.reg("window_pad", width: 1, reset: 0)
    let load = m.wire("gather_load", active & (~s2Valid | encReady))
    // The read address is one add from registers: the tap's slot ((start + (dy*W + dx)) mod D, scaled
    // by T*B) and the beat offset t*B + b, both kept incrementally.
    let slot = walker.tapSlotRegister("gather_slot")
    let beatOff = m.reg("gather_beat_offset", width: uwidth(TB - 1), reset: 0)
    let rawAddr = slot +& beatOff
    let readAddr = m.wire("gather_addr", fitTo(rawAddr, lineMem.addressWidth))
    let word = m.readSync(lineMem, readAddr, enable: load, name: "window_q")
    m.next(s2Valid, load | (s2Valid & ~encReady))
    m.next(s2Pad, ~walker.tapInside(dy: dy, dx: dx), enable: load)

    let lastBeat = gb.eq(ucon(B - 1, gb.width))
    let lastDx = dx.eq(ucon(k - 1, dx.width)), lastDy = dy.eq(ucon(k - 1, dy.width))
    let lastT = gt.eq(ucon(T - 1, gt.width))
    let tapDone = m.wire("gather_tap_done", load & lastBeat)
    let windowDone = m.wire("gather_window_done", tapDone & lastDx & lastDy)
    let outputDone = m.wire("gather_output_done", windowDone & lastT)
    m.next(gb, wrapIncrement(gb, last: B - 1), enable: load)
    m.next(dx, wrapIncrement(dx, last: k - 1), enable: tapDone)
    m.next(dy, wrapIncrement(dy, last: k - 1), enable: tapDone & lastDx)
    walker.updateTapSlot(slot, tapDone: tapDone, lastDx: lastDx, windowEnd: lastDx & lastDy, outputDone: outputDone)
    // t*B + b: up by one per beat; back to t*B after a tap; (t+1)*B after a window; 0 after the output.
    let beatNext = beatOff +% ucon(1, beatOff.width)
    m.next(beatOff, mux(lastBeat, mux(windowDone, mux(lastT, ucon(0, beatOff.width), beatNext), fitTo(gtB, beatOff.width)), beatNext), enable: load)
    m.next(gt, wrapIncrement(gt, last: T - 1), enable: windowDone)
    m.next(gtB, mux(lastT, ucon(0, gtB.width), gtB +% ucon(B, gtB.width)), enable: windowDone)
    m.next(active, mux(start, ucon(1, 1), mux(outputDone, ucon(0, 1), active)))
    walker.advance(enable: outputDone)
    // After the last output of an image, wait for the writer to finish the image, then follow it.
    m.next(gWait, mux(outputDone & walker.lastOutput, ucon(1, 1), mux(gWait & ~sameImage, ucon(0, 1), gWait)))
    m.next(gImage, ~gImage, enable: gWait & ~sameImage)
    m.next(inflight, mux(start & ~tokenDone, inflight +% ucon(1, inflight.width),
                         mux(tokenDone & ~start, inflight -% ucon(1, inflight.width), inflight)))

    // MARK: Events, accumulate

    let uEnc = m.instance(try makeEventEncoder(encCfg), "u_enc_window")
    uEnc.connect("in_valid", s2Valid)
    uEnc.connect("in_counts", mux(s2Pad, ucon(0, K * cw), word))
    m.assign(encReady, uEnc.output("in_ready"))
    let uAcc = m.instance(try makeSpikeAccumulator(acc), "u_acc")
    uAcc.takeStream("in", from: uEnc, "out", fields: ["event", "channel", "count", "last"])
    let uLif = m.instance(try makeLIFBank(lifC), "u_lif")

    if let pg = c.poolGeometry {
        let pool = buildStreamingPool(m, "pool", convHeight: pg.height, convWidth: pg.width, timeSteps: T, groups: G,
                                      laneWidth: aw.accumulator, lanes: P, tokensInFlight: F, inValid: uAcc.output("out_valid"),
                                      inCurrent: uAcc.output("out_current"), outReady: uLif.output("in_ready"), outTokenDone: mTokenDone)
        uAcc.connect("out_ready", pool.inReady)
        uLif.connect("in_valid", pool.outValid)
        uLif.connect("in_group", fitTo(pool.outGroup, gw))
        uLif.connect("in_current", pool.outCurrent)
        uLif.connect("in_first", pool.outFirst)
        // A conv token in flight ends when its currents are all in the pool buffer.
        m.assign(tokenDone, pool.inTokenDone)
    } else {
        feedBank(m, uAcc, uLif, "lif", timeSteps: T)
        m.assign(tokenDone, mTokenDone)
    }

    uLif.connect("out_ready", mReady)
    let outGroup = uLif.output("out_group")
    let groupZero = outGroup.eq(ucon(0, gw))
    let mValid = uLif.output("out_valid")
    let mLast = outGroup.eq(ucon(G - 1, gw))
    m.output("m_axis_tvalid", mValid)
    m.output("m_axis_tdata", uLif.output("out_spike"))
    m.output("m_axis_tlast", mLast)
    m.output("m_axis_tuser", cat(groupZero & uLif.output("out_first"), groupZero))
    // Output token bookkeeping for the in-flight limit.
    let outT = m.reg("out_t", width: tw, reset: 0)
    let vectorOut = m.wire("out_vector_done", mValid & mReady & mLast)
    m.next(outT, wrapIncrement(outT, last: T - 1), enable: vectorOut)
    m.assign(mTokenDone, vectorOut & outT.eq(ucon(T - 1, tw)))

    let error = streamProtocolCheck(m, "s", fire: sFire, last: sLast, user: sUser, beats: B, timeSteps: T)
    m.output("s_axis_tready", sReady)
    m.output("s_axis_error", error)
    return m
}
