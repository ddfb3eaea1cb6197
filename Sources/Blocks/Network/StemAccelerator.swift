import Description
import HDL

/// The image stem (SPEC 3.8; docs/conv.md): the network's first conv on signed fixed-point
/// pixels, `S = LIF(pool?(conv(image)))`, the one layer that multiplies (pixel x weight, `P`
/// multipliers). A static image: the current of each output position is computed once and
/// fed to the LIF `T` times.
public struct StemConfig: Hashable, Sendable, WindowedLayer {
    public var inChannels: Int
    public var outChannels: Int
    public var height: Int
    public var width: Int
    public var timeSteps: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public var pool: Bool
    /// Signed bits of one pixel.
    public var inputBits: Int
    /// `P`: multipliers, outputs computed per cycle, LIF and `m_axis` lanes.
    public var lanes: Int
    /// `W[o][(i*k + dy)*k + dx]` on the grid of weights x pixels, bias on that grid, neuron.
    public var layer: SpikingLayerWeights
    public var storage: LIFStateStorage
    /// Output tokens gathered ahead of `m_axis` (as `ConvConfig.tokensInFlight`).
    public var tokensInFlight: Int
    public var name: String

    public init(inChannels: Int, outChannels: Int, height: Int, width: Int, timeSteps: Int, kernel: Int = 3, stride: Int = 1,
                padding: Int? = nil, pool: Bool = false, inputBits: Int = 8, lanes: Int, layer: SpikingLayerWeights,
                storage: LIFStateStorage = .auto, tokensInFlight: Int = 2, name: String = "stem") {
        (self.inChannels, self.outChannels, self.height, self.width, self.timeSteps) = (inChannels, outChannels, height, width, timeSteps)
        (self.kernel, self.stride, self.padding, self.pool, self.inputBits) = (kernel, stride, padding ?? (kernel - 1) / 2, pool, inputBits)
        (self.lanes, self.layer, self.storage, self.tokensInFlight, self.name) = (lanes, layer, storage, tokensInFlight, name)
    }

    /// The described stem reading `image` (pixels), folded over `lanes` multipliers.
    public init(_ c: ConvLayer, image: ImageFormat, lanes: Int, storage: LIFStateStorage = .auto, tokensInFlight: Int = 2,
                name: String = "stem") throws {
        guard case .pixels(let bits, _) = image.kind else { throw BlockError("the stem reads pixels; \(image) holds event frames") }
        guard image.channels == c.inChannels else {
            throw BlockError("the stem reads \(c.inChannels) channels but the image has \(image.channels)")
        }
        try self.init(c, height: image.height, width: image.width, timeSteps: image.timeSteps, inputBits: bits, lanes: lanes,
                      storage: storage, tokensInFlight: tokensInFlight, name: name)
    }

    /// The described stem reading `height x width` images of `inputBits`-bit pixels.
    public init(_ c: ConvLayer, height: Int, width: Int, timeSteps: Int, inputBits: Int, lanes: Int, storage: LIFStateStorage = .auto,
                tokensInFlight: Int = 2, name: String = "stem") throws {
        self.init(inChannels: c.inChannels, outChannels: c.outChannels, height: height, width: width,
                  timeSteps: timeSteps, kernel: c.kernel, stride: c.stride, padding: c.padding, pool: c.pool, inputBits: inputBits,
                  lanes: lanes, layer: try SpikingLayerWeights(c.layer), storage: storage, tokensInFlight: tokensInFlight, name: name)
    }

    public var convGeometry: WindowGeometry {
        WindowGeometry(height: height, width: width, kernel: kernel, stride: stride, padding: padding)
    }
    public var poolGeometry: WindowGeometry? {
        pool ? WindowGeometry(height: convGeometry.outHeight, width: convGeometry.outWidth, kernel: 3, stride: 2, padding: 1) : nil
    }
    public var outHeight: Int { poolGeometry?.outHeight ?? convGeometry.outHeight }
    public var outWidth: Int { poolGeometry?.outWidth ?? convGeometry.outWidth }
    public var inputTokens: Int { height * width }
    public var outputTokens: Int { outHeight * outWidth }
    public var groups: Int { (outChannels + lanes - 1) / lanes }
    /// Multiply-accumulate cycles per conv output position: `G x k*k x Cin`.
    public var macCycles: Int { groups * kernel * kernel * inChannels }
    public var pixelRange: Interval { Interval(-(1 << (inputBits - 1)), (1 << (inputBits - 1)) - 1) }
    /// Bits of `s_axis_tdata`: `Cin` pixels.
    public var inputWidth: Int { inChannels * inputBits }
    public var outputFormat: CountStreamFormat {
        CountStreamFormat(channels: outChannels, lanes: lanes, countWidth: 1, timeSteps: timeSteps)
    }

    /// Signed bits of a weight.
    public var weightWidth: Int {
        layer.weights.flatMap { $0 }.reduce(Interval.point(0)) { $0.union(.point($1)) }.signedWidth
    }

    /// Every value a current (a partial sum included) can take: bias plus any pixels x weights.
    public func currentRange() throws -> Interval {
        var all: Interval?
        for (o, row) in layer.weights.enumerated() {
            var acc = Interval.point(layer.bias[o])
            for w in row where w != 0 { acc = try acc.adding(try pixelRange.multiplying(.point(w))) }
            all = all.map { $0.union(acc) } ?? acc
        }
        return all!
    }

    public var lineBufferBits: Int { convGeometry.slots * inputWidth }
    public func poolBufferBits() throws -> Int {
        guard let pg = poolGeometry else { return 0 }
        return (pg.outWidth + 1) * groups * lanes * (try currentRange().signedWidth)
    }

    public func lif() throws -> LIFBankConfig {
        LIFBankConfig(neurons: outChannels, lanes: lanes, neuron: layer.neuron, current: try currentRange(),
                      storage: storage.resolved(groups: groups), name: "\(name)_lif", thresholds: layer.thresholds)
    }

    public func validate() throws {
        try SpikeStreamParts.checkName(name, field: "name")
        guard [1, 3].contains(kernel), [1, 2, 4].contains(stride), (0...(kernel - 1)).contains(padding) else {
            throw BlockError("kernel \(kernel), stride \(stride), padding \(padding): the stem builds kernels 1|3, strides 1|2|4, padding 0...k-1")
        }
        guard inChannels >= 1, outChannels >= 1 else { throw BlockError("channels must be at least 1") }
        guard height + 2 * padding >= kernel, width + 2 * padding >= kernel else {
            throw BlockError("a \(kernel)x\(kernel) kernel does not fit the \(height) x \(width) image")
        }
        guard (1...64).contains(timeSteps) else { throw BlockError("timeSteps is \(timeSteps); choose 1...64") }
        guard (2...24).contains(inputBits) else { throw BlockError("inputBits is \(inputBits); choose 2...24") }
        guard (1...256).contains(lanes) else { throw BlockError("lanes is \(lanes); choose 1...256") }
        guard (1...8).contains(tokensInFlight) else { throw BlockError("tokensInFlight is \(tokensInFlight); choose 1...8") }
        guard layer.weights.count == outChannels, layer.weights.allSatisfy({ $0.count == inChannels * kernel * kernel }) else {
            throw BlockError("weights must be \(outChannels) x \(inChannels * kernel * kernel)")
        }
        guard layer.bias.count == outChannels else { throw BlockError("bias must have \(outChannels) values") }
        guard try currentRange().signedWidth <= 62 else { throw BlockError("the stem's currents need more than 62 bits") }
    }

    /// The input-lookahead contract, as `ConvConfig.inputTokensRead(beforeOutput:)`: before
    /// the module emits any beat of output token `n` of an image, it has accepted at most this
    /// many pixel beats (tokens) of that image. A safe upper bound.
    public func inputTokensRead(beforeOutput n: Int) -> Int {
        let cg = convGeometry, F = tokensInFlight
        guard let pg = poolGeometry else { return cg.tokensWritable(whileGathering: min(n + F, cg.outTokens)) }
        let c1 = n + F >= pg.outTokens ? cg.outTokens : pg.end(n + F) + 1
        return cg.tokensWritable(whileGathering: min(c1 + F, cg.outTokens))
    }

    /// Readable parameters, then a fingerprint of the numbers (weights, bias, neuron, folding).
    public var moduleName: String {
        let text = "\(layer)|\(inputBits)|\(padding)|\(storage.rawValue)|\(tokensInFlight)"
        return "\(name)_k\(kernel)s\(stride)_ci\(inChannels)_co\(outChannels)_\(height)x\(width)_t\(timeSteps)_p\(lanes)\(pool ? "_pool" : "")_\(ModuleNameHash.hash(text))"
    }
}

/// Signed lane values packed into one word, lane 0 in the low bits.
func packSigned(_ values: [Int], width: Int) -> Bits {
    let total = values.count * width
    var words = [UInt64](repeating: 0, count: (total + 63) / 64)
    for (lane, v) in values.enumerated() {
        let pattern = Bits(width: width, truncating: v)
        for b in 0..<width where pattern.bit(b) {
            let pos = lane * width + b
            words[pos / 64] |= UInt64(1) << UInt64(pos % 64)
        }
    }
    return Bits(width: max(total, 1), truncating: words)
}

/// Builds the image stem (`StemConfig`).
public func makeStem(_ c: StemConfig) throws -> Module {
    try c.validate()
    let cg = c.convGeometry, D = cg.slots
    let Cin = c.inChannels, Cout = c.outChannels, T = c.timeSteps, P = c.lanes, G = c.groups, k = c.kernel, kk = k * k
    let pb = c.inputBits, F = c.tokensInFlight
    let range = try c.currentRange()
    let wa = range.signedWidth, ww = c.weightWidth
    let bw = c.layer.bias.reduce(Interval.point(0)) { $0.union(.point($1)) }.signedWidth
    let lifC = try c.lif()
    let gw = Memory.addressWidth(depth: G), tw = Memory.addressWidth(depth: T)
    let poolBits = try c.poolBufferBits()
    let weightDepth = G * kk * Cin

    let m = Module(c.moduleName, doc: """
        Image stem (SPEC 3.8; docs/conv.md): S = LIF(\(c.pool ? "MaxPool2d(3,2,1)(" : "")conv(image)\(c.pool ? ")" : "")), Conv2d(\(Cin) -> \(Cout), kernel \(k),
        stride \(c.stride), padding \(c.padding)) on a \(c.height) x \(c.width) image of signed \(pb)-bit pixels, T = \(T); output \(c.outHeight) x \(c.outWidth).
        A static image: the current of each conv position is computed once (pixel x weight on \(P) multipliers) and the LIF
        steps T times on it (the pooled current, with pool).
        Input stream s_axis: one beat per pixel position, row-major (y*\(c.width)+x), \(c.inputTokens) beats per image, images back to back:
          s_axis_tdata  [\(c.inputWidth - 1):0]  pixel of channel i (signed, two's complement) at bits [i*\(pb) +: \(pb)]
          s_axis_tlast  the last position of an image
        s_axis_error goes high (sticky) if tlast disagrees with the position count.
        Output stream m_axis (CountStreamFormat: one spike vector per output token and time step, tokens y*\(c.outWidth)+x row-major,
        T innermost; \(G) beat(s) of \(P) spikes):
          m_axis_tdata  [\(P - 1):0]  spike of channel group*\(P) + j at bit j (bits past \(Cout) are 0)
          m_axis_tlast  last beat of a vector
          m_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        Datapath: pixel line buffer (RAM pixel_buffer, \(D) positions x \(c.inputWidth) bits = \(c.lineBufferBits) bits, no reset); for each
        conv position the \(k)x\(k) window is read tap by tap (taps outside the image are zeros), and for each group of \(P) output
        channels, tap and input channel one cycle multiplies the pixel by \(P) weights (ROM weights, \(weightDepth) words of
        \(P) x \(ww) bits, $readmemh image beside this file; word (g*\(kk) + tap)*\(Cin) + i lane l = W[g*\(P)+l][i][tap]) and adds into
        \(P) accumulators of \(wa) bits (exact: currents in \(range)), starting from the bias (ROM bias, $readmemh).
        \(c.pool ? "The currents are max-pooled as they stream, separably, stored once (the pool of a static image is static): column buffer pool_cols (\(G) words), row buffer RAM pool_rows (\(c.poolGeometry!.outWidth) x \(G) words), \(P * wa) bits each: \(poolBits) bits.\n" : "")\
        A replay buffer (replay_buffer, two banks of \(G) words of \(P * wa) bits) holds a position's currents and feeds the LIF
        T times while the other bank fills.
        Memory bits: line buffer \(c.lineBufferBits)\(c.pool ? ", pool buffer \(poolBits)" : ""), replay \(2 * G * P * wa), weights \(weightDepth * P * ww), bias \(G * P * bw).
        Cycles (docs/conv.md): \(c.macCycles) multiply cycles per conv position (G x k*k x Cin = \(G) x \(kk) x \(Cin), zeros included),
        plus 1 idle cycle per position; each output token takes T x G = \(T * G) LIF beats from one replay bank while the next position
        fills the other (hidden while T <= k*k*Cin = \(kk * Cin))\(c.pool ? "; the pool takes one current beat per cycle" : "").
        Input lookahead (a guarantee, StemConfig.inputTokensRead): pixels are accepted only while the position being written is below
        start(j) + \(D), j the conv position being computed; at most \(F) output token(s) are computed ahead of m_axis.
        Reset: rst is active high and synchronous; hold it for at least 1 clock cycle with s_axis_tvalid low. It clears every
        valid, counter, position and LIF membrane held in registers (the RAMs need no reset). Between reset and the first beat
        nothing comes out. Undefined: m_axis_tdata while m_axis_tvalid is low; bits past the last channel are 0.
        """)
    m.parameter("inChannels", Cin)
    m.parameter("outChannels", Cout)
    m.parameter("image", "\(c.height) x \(c.width)")
    m.parameter("kernel", k)
    m.parameter("stride", c.stride)
    m.parameter("padding", c.padding)
    m.parameter("pool", c.pool)
    m.parameter("timeSteps", T)
    m.parameter("inputBits", pb)
    m.parameter("lanes", P)
    m.parameter("tokensInFlight", F)
    m.parameter("currentWidth", wa)

    let sValid = m.input("s_axis_tvalid", width: 1)
    let sData = m.input("s_axis_tdata", width: c.inputWidth)
    let sLast = m.input("s_axis_tlast", width: 1)
    let mReady = m.input("m_axis_tready", width: 1)

    // MARK: Pixel line buffer

    let pixMem = m.memory("pixel_buffer", width: c.inputWidth, depth: D)
    let writer = LineWriter(m, "wr", geometry: cg, beatsPerToken: 1, addressWidth: pixMem.addressWidth)
    let walker = WindowWalker(m, "win", geometry: cg, scale: 1)
    let gImage = m.reg("gather_image", width: 1, reset: 0)
    let gWait = m.reg("gather_wait", width: 1, reset: 0)
    let sameImage = m.wire("wr_same_image", writer.image.eq(gImage))
    let sReady = m.wire("s_ready", sameImage & (gWait | ult(writer.token, walker.limit)))
    let sFire = m.wire("s_fire", sValid & sReady)
    m.write(pixMem, address: writer.address, data: sData, enable: sFire)
    let lastPixel = writer.token.eq(ucon(c.inputTokens - 1, writer.token.width))
    let sError = m.reg("s_error", width: 1, reset: 0)
    m.next(sError, sError | (sFire & sLast.ne(lastPixel)))
    writer.advance(fire: sFire)

    // MARK: Multiply-accumulate over the window

    let tokenDone = m.wire("gather_token_done", width: 1)
    let mTokenDone = m.wire("out_token_done", width: 1)
    let inflight = m.reg("inflight", width: uwidth(F), reset: 0)
    let active = m.reg("gather_active", width: 1, reset: 0)
    let windowReady = m.wire("window_ready", walker.windowWritten(writer, writerAhead: writer.image.ne(gImage)))
    let start = m.wire("gather_start", ~active & ~gWait & ult(inflight, ucon(F, inflight.width)) & windowReady)
    let wAddr = m.reg("weight_addr", width: Memory.addressWidth(depth: weightDepth), reset: 0)
    let ci = m.reg("gather_channel", width: uwidth(Cin - 1), reset: 0)
    let dy = m.reg("gather_dy", width: uwidth(k - 1), reset: 0)
    let dx = m.reg("gather_dx", width: uwidth(k - 1), reset: 0)
    let tapOff = m.reg("gather_tap_offset", width: walker.slotWidth, reset: 0)
    let grp = m.reg("gather_group", width: gw, reset: 0)

    let s2Valid = m.reg("mac_valid", width: 1, reset: 0)
    let s2Inside = m.reg("mac_inside", width: 1, reset: 0)
    let s2Channel = m.reg("mac_channel", width: ci.width, reset: 0)
    let s2First = m.reg("mac_first", width: 1, reset: 0)
    let s2Last = m.reg("mac_last", width: 1, reset: 0)
    let s2Group = m.reg("mac_group", width: gw, reset: 0)
    let outValid = m.reg("current_valid", width: 1, reset: 0)
    let outReady = m.wire("current_ready", width: 1)
    let outFree = m.wire("current_free", ~outValid | outReady)
    // Stage 3 holds the products (registered after the multipliers, before the accumulating add).
    let s3Valid = m.reg("product_valid", width: 1, reset: 0)
    let s3First = m.reg("product_first", width: 1, reset: 0)
    let s3Last = m.reg("product_last", width: 1, reset: 0)
    let s3Group = m.reg("product_group", width: gw, reset: 0)
    let s3Adv = m.wire("product_advance", s3Valid & (~s3Last | outFree))
    let s2Adv = m.wire("mac_advance", s2Valid & (~s3Valid | s3Adv))
    let load = m.wire("gather_load", active & (~s2Valid | s2Adv))
    m.next(s3Valid, s2Adv | (s3Valid & ~s3Adv))
    m.next(s3First, s2First, enable: s2Adv)
    m.next(s3Last, s2Last, enable: s2Adv)
    m.next(s3Group, s2Group, enable: s2Adv)

    var weightWords: [Bits] = []
    for g in 0..<G {
        for tap in 0..<kk {
            for i in 0..<Cin {
                weightWords.append(packSigned((0..<P).map { l in g * P + l < Cout ? c.layer.weights[g * P + l][i * kk + tap] : 0 }, width: ww))
            }
        }
    }
    let wMem = m.memory("weights", width: P * ww, depth: weightDepth, initial: weightWords)
    let biasMem = m.memory("bias", width: P * bw, depth: G,
                           initial: (0..<G).map { g in packSigned((0..<P).map { l in g * P + l < Cout ? c.layer.bias[g * P + l] : 0 }, width: bw) })
    let pixAddr = m.wire("gather_addr", walker.tapSlot(offset: tapOff))
    let pixWord = m.readSync(pixMem, fitTo(pixAddr, pixMem.addressWidth), enable: load, name: "pixel_q")
    let wWord = m.readSync(wMem, wAddr, enable: load, name: "weight_q")

    let lastC = ci.eq(ucon(Cin - 1, ci.width))
    let lastDx = dx.eq(ucon(k - 1, dx.width)), lastDy = dy.eq(ucon(k - 1, dy.width))
    let lastTap = lastDx & lastDy
    let lastG = grp.eq(ucon(G - 1, gw))
    let tapDone = m.wire("gather_tap_done", load & lastC)
    let groupDone = m.wire("gather_group_done", tapDone & lastTap)
    let outputDone = m.wire("gather_output_done", groupDone & lastG)
    m.next(s2Valid, load | (s2Valid & ~s2Adv))
    m.next(s2Inside, walker.tapInside(dy: dy, dx: dx), enable: load)
    m.next(s2Channel, ci, enable: load)
    m.next(s2First, ci.eq(ucon(0, ci.width)) & dx.eq(ucon(0, dx.width)) & dy.eq(ucon(0, dy.width)), enable: load)
    m.next(s2Last, lastC & lastTap, enable: load)
    m.next(s2Group, grp, enable: load)
    m.next(wAddr, mux(outputDone, ucon(0, wAddr.width), wAddr +% ucon(1, wAddr.width)), enable: load)
    m.next(ci, wrapIncrement(ci, last: Cin - 1), enable: load)
    m.next(dx, wrapIncrement(dx, last: k - 1), enable: tapDone)
    m.next(dy, wrapIncrement(dy, last: k - 1), enable: tapDone & lastDx)
    m.next(tapOff, mux(lastTap, ucon(0, walker.slotWidth), addMod(tapOff, walker.tapStep(lastDx: lastDx), walker.modulus)), enable: tapDone)
    m.next(grp, wrapIncrement(grp, last: G - 1), enable: groupDone)
    m.next(active, mux(start, ucon(1, 1), mux(outputDone, ucon(0, 1), active)))
    walker.advance(enable: outputDone)
    m.next(gWait, mux(outputDone & walker.lastOutput, ucon(1, 1), mux(gWait & ~sameImage, ucon(0, 1), gWait)))
    m.next(gImage, ~gImage, enable: gWait & ~sameImage)
    m.next(inflight, mux(start & ~tokenDone, inflight +% ucon(1, inflight.width),
                         mux(tokenDone & ~start, inflight -% ucon(1, inflight.width), inflight)))

    // The pixel of the MAC's channel (zero outside the image), times P weights, into P accumulators.
    let pixels = (0..<Cin).map { i in pixWord.slice(i * pb + pb - 1, i * pb) }
    let chosen = Cin == 1 ? pixels[0] : SpikeStreamParts.select(m, "mac_pixel_raw", index: s2Channel, items: pixels, fallback: pixels[0])
    let pixel = m.wire("mac_pixel", mux(s2Inside, chosen, ucon(0, pb)).asSigned())
    let biasWord = m.read(biasMem, s3Group)
    var sums: [Expr] = []
    for l in 0..<P {
        let acc = m.reg("acc\(l)", width: wa, signed: true, reset: 0)
        let w = wWord.slice(l * ww + ww - 1, l * ww).asSigned()
        let raw = pixel * w
        let product = m.reg("prod\(l)", width: raw.width, signed: true)
        m.next(product, raw, enable: s2Adv)
        let b = biasWord.slice(l * bw + bw - 1, l * bw).asSigned().extend(to: max(bw, wa))
        let base = mux(s3First, b.truncate(to: wa), acc)
        // Every partial sum lies in the proven current range: narrowing loses nothing.
        let sum = m.wire("sum\(l)", (base +& product).truncate(to: wa))
        m.next(acc, sum, enable: s3Adv)
        sums.append(sum)
    }
    let emit = m.wire("current_emit", s3Adv & s3Last)
    m.next(outValid, emit | (outValid & ~outReady))
    let outCurrent = m.reg("current_data", width: P * wa, reset: 0)
    let outGroup = m.reg("current_group", width: gw, reset: 0)
    m.next(outCurrent, cat(sums.reversed().map { $0.asUnsigned() }), enable: emit)
    m.next(outGroup, s3Group, enable: emit)

    // MARK: Optional pool (stored once), replay T times, LIF

    var rValid = outValid, rCurrent: Expr = outCurrent
    let rReady = m.wire("replay_in_ready", width: 1)
    if let pg = c.poolGeometry {
        let pool = buildStreamingPool(m, "pool", convHeight: pg.height, convWidth: pg.width, timeSteps: 1, groups: G, laneWidth: wa,
                                      lanes: P, tokensInFlight: F, inValid: outValid, inCurrent: outCurrent, outReady: rReady,
                                      outTokenDone: mTokenDone)
        m.assign(outReady, pool.inReady)
        m.assign(tokenDone, pool.inTokenDone)
        rValid = pool.outValid
        rCurrent = pool.outCurrent
    } else {
        m.assign(outReady, rReady)
        m.assign(tokenDone, mTokenDone)
    }
    // Replay: two banks of G words; one fills while the other feeds the LIF T x G beats
    // (t outer, g inner), so the multipliers never wait for the replay while T <= k*k*Cin.
    let replay = m.memory("replay_buffer", width: P * wa, depth: 2 * G)
    let raw = replay.addressWidth
    func bankAddress(_ bank: Expr, _ g: Expr) -> Expr {
        fitTo(mux(bank, g.extend(to: raw + 1) +% ucon(G, raw + 1), g.extend(to: raw + 1)), raw)
    }
    let fillG = m.reg("replay_fill", width: gw, reset: 0)
    let fillBank = m.reg("replay_fill_bank", width: 1, reset: 0)
    let readBank = m.reg("replay_read_bank", width: 1, reset: 0)
    let full0 = m.reg("replay_full0", width: 1, reset: 0)
    let full1 = m.reg("replay_full1", width: 1, reset: 0)
    let fillFull = m.wire("replay_fill_full", mux(fillBank, full1, full0))
    let readFull = m.wire("replay_read_full", mux(readBank, full1, full0))
    let rt = m.reg("replay_t", width: tw, reset: 0)
    let rg = m.reg("replay_group", width: gw, reset: 0)
    m.assign(rReady, ~fillFull)
    let rFire = m.wire("replay_in_fire", rValid & ~fillFull)
    m.write(replay, address: m.wire("replay_write_addr", bankAddress(fillBank, fillG)), data: rCurrent, enable: rFire)
    m.next(fillG, wrapIncrement(fillG, last: G - 1), enable: rFire)
    let fillDone = m.wire("replay_fill_done", rFire & fillG.eq(ucon(G - 1, gw)))
    let uLif = m.instance(try makeLIFBank(lifC), "u_lif")
    let lifReady = uLif.output("in_ready")
    let rOut = m.wire("replay_out_fire", readFull & lifReady)
    let rLastG = rg.eq(ucon(G - 1, gw)), rLastT = rt.eq(ucon(T - 1, tw))
    let readDone = m.wire("replay_read_done", rOut & rLastG & rLastT)
    m.next(rg, wrapIncrement(rg, last: G - 1), enable: rOut)
    m.next(rt, wrapIncrement(rt, last: T - 1), enable: rOut & rLastG)
    // A bank fills only while empty and is read only while full: the two never meet in one bank.
    m.next(full0, mux(fillDone & ~fillBank, ucon(1, 1), mux(readDone & ~readBank, ucon(0, 1), full0)))
    m.next(full1, mux(fillDone & fillBank, ucon(1, 1), mux(readDone & readBank, ucon(0, 1), full1)))
    m.next(fillBank, ~fillBank, enable: fillDone)
    m.next(readBank, ~readBank, enable: readDone)
    uLif.connect("in_valid", readFull)
    uLif.connect("in_group", rg)
    uLif.connect("in_current", m.read(replay, m.wire("replay_read_addr", bankAddress(readBank, rg))))
    uLif.connect("in_first", rt.eq(ucon(0, tw)))

    uLif.connect("out_ready", mReady)
    let outG = uLif.output("out_group")
    let groupZero = outG.eq(ucon(0, gw))
    let mValid = uLif.output("out_valid")
    let mLast = outG.eq(ucon(G - 1, gw))
    m.output("m_axis_tvalid", mValid)
    m.output("m_axis_tdata", uLif.output("out_spike"))
    m.output("m_axis_tlast", mLast)
    m.output("m_axis_tuser", cat(groupZero & uLif.output("out_first"), groupZero))
    let outT = m.reg("out_t", width: tw, reset: 0)
    let vectorOut = m.wire("out_vector_done", mValid & mReady & mLast)
    m.next(outT, wrapIncrement(outT, last: T - 1), enable: vectorOut)
    m.assign(mTokenDone, vectorOut & outT.eq(ucon(T - 1, tw)))

    m.output("s_axis_tready", sReady)
    m.output("s_axis_error", sError)
    return m
}
