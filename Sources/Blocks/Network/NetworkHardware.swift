import Description
import HDL

/// How a whole network is folded: the lanes of each section (the conv accumulators' and the
/// blocks' `P`), by section name, with one default for every section.
public struct NetworkFolding: Hashable, Sendable {
    /// Lanes of every section not named in `sectionLanes`; nil: one lane per 8 output channels
    /// of the section (as a block's default), at most 256.
    public var lanes: Int?
    /// Lanes by section name (`patch_embed1`, `stage1.block0`, ...) or by conv layer
    /// (`patch_embed1.proj1_conv`), as the pipeline folding chooses them. A fork's shortcut takes
    /// the lanes of the main branch's last conv (the join adds beat to beat); a block whose lanes
    /// differ from the stream before it reads it through a lane converter.
    public var sectionLanes: [String: Int]
    /// Multipliers of the stem (pixels x weights; they are also its output lanes).
    public var stemMultipliers: Int?
    public var storage: LIFStateStorage

    public init(lanes: Int? = nil, sectionLanes: [String: Int] = [:], stemMultipliers: Int? = nil, storage: LIFStateStorage = .auto) {
        (self.lanes, self.sectionLanes, self.stemMultipliers, self.storage) = (lanes, sectionLanes, stemMultipliers, storage)
    }

    /// The lanes of section `name` whose widest layer writes `channels` channels: never more
    /// than `channels` (a lane without a channel would only carry zeros).
    public func lanes(_ name: String, channels: Int) -> Int {
        min(channels, sectionLanes[name] ?? lanes ?? min(256, max(1, channels / 8)))
    }
}

/// One section's hardware: its module and the beat formats at its two ends.
public struct SectionHardware: Sendable {
    public let name: String
    public let module: Module
    public let input: CountStreamFormat
    public let output: CountStreamFormat
    /// The configs of its parts, for the estimator: convs, and the block's hardware if it is one.
    public let convs: [ConvConfig]
    public let block: BlockHardware?
    /// The lane converter in front of a block that reads beats of other lanes than it is given.
    public var converter: LaneConverterConfig? = nil
}

/// The hardware of a whole network (docs/arithmetic.md §8): the stem (pixels in), every section
/// in stream order, the head (z out), each its own module with its weights in on-chip ROM.
/// The description's composition maps onto modules here and nowhere else.
public struct NetworkHardware: Sendable {
    public let network: NetworkDescription
    public let folding: NetworkFolding
    public let stem: StemConfig?
    public let sections: [SectionHardware]
    public let head: HeadConfig

    public init(_ n: NetworkDescription, folding f: NetworkFolding) throws {
        network = n
        folding = f
        let model = (n.config.model ?? "custom").replacingOccurrences(of: "-", with: "_")
        var format: CountStreamFormat
        var stream: StreamFormat
        if let s = n.stem {
            guard case .pixels = n.image.kind else { throw BlockError("a stem reads pixels") }
            let P = f.stemMultipliers ?? f.lanes("stem", channels: s.outChannels)
            let sc = try StemConfig(s, image: n.image, lanes: P, storage: f.storage, name: "stem_\(model)")
            try sc.validate()
            stem = sc
            format = sc.outputFormat
            stream = try n.stemOutput()
        } else {
            stem = nil
            guard let frames = n.image.frameStream else { throw BlockError("an image of pixels needs a stem") }
            stream = frames
            format = CountStreamFormat(channels: frames.channels, lanes: frames.channels, countWidth: Interval(0, frames.maxCount).unsignedWidth,
                                       timeSteps: frames.timeSteps)
        }
        var built: [SectionHardware] = []
        for s in n.sections {
            let P = f.lanes(s.name, channels: s.output.channels)
            let stemName = "\(s.name.replacingOccurrences(of: ".", with: "_"))_\(model)"
            if let bc = s.block {
                guard let d = s.blockDescription(origin: n.origin) else { throw BlockError("\(s.name): not a valid block") }
                let hw = try BlockHardware(d, folding: Folding(lanes: P, storage: f.storage))
                // The block takes beats of min(P, C) counts: a stream of other lanes is regrouped first.
                var module = try hw.makeModule()
                var converter: LaneConverterConfig? = nil
                if hw.inputFormat != format {
                    var same = format
                    same.lanes = hw.inputFormat.lanes
                    guard same == hw.inputFormat else {
                        throw BlockError("\(s.name) (\(bc.block.rawValue)) takes \(hw.inputFormat) but the stream before it is \(format)")
                    }
                    let lc = LaneConverterConfig(input: format, outputLanes: hw.inputFormat.lanes, name: "lanes_\(stemName)")
                    converter = lc
                    module = try makeStreamChain("\(stemName)_k\(format.lanes)", doc: "\(s.name), its input regrouped from \(format.lanes) to \(hw.inputFormat.lanes) lanes.",
                                                 stages: [(try makeLaneConverter(lc), format, lc.outputFormat), (module, hw.inputFormat, hw.outputFormat)])
                }
                built.append(SectionHardware(name: s.name, module: module, input: format, output: hw.outputFormat,
                                             convs: [], block: hw, converter: converter))
                format = hw.outputFormat
            } else {
                var convs: [ConvConfig] = []
                let lanes = ConvLanes(section: s.name, folding: f, sectionLanes: P)
                let part = try Self.build(s.body, reading: stream, format: format, lanes: lanes, outputLanes: nil,
                                          storage: f.storage, name: stemName, convs: &convs)
                built.append(SectionHardware(name: s.name, module: part.module, input: format, output: part.output, convs: convs, block: nil))
                format = part.output
            }
            stream = s.output
        }
        sections = built
        let hw = n.head.weights.map { $0.map { Int($0) } }
        head = HeadConfig(channels: stream.channels, lanes: format.lanes, maxInputCount: stream.maxCount, tokens: stream.tokens,
                          timeSteps: stream.timeSteps, weights: hw, bias: n.head.bias.map { Int($0) }, name: "head_\(model)")
        try head.validate()
        if head.inputFormat != format {
            throw BlockError("the head takes \(head.inputFormat) but the last stage gives \(format)")
        }
    }

    /// A section part's module, the format it writes, and its causal reach.
    struct BuiltPart {
        let module: Module
        let output: CountStreamFormat
        let reach: TokenReach
    }

    /// The lanes of one conv of a patch embedding: its own entry in the folding, else its section's.
    struct ConvLanes {
        let section: String, folding: NetworkFolding, sectionLanes: Int
        func of(_ c: ConvLayer) -> Int { folding.sectionLanes["\(section).\(c.layer.name)"] ?? sectionLanes }
    }

    /// Builds part `p`; `outputLanes` (when given) are the lanes of the beats it must write: the
    /// convs that write the part's output take them, the others their own.
    static func build(_ p: Part, reading input: StreamFormat, format: CountStreamFormat, lanes: ConvLanes, outputLanes: Int?,
                      storage: LIFStateStorage, name: String, convs: inout [ConvConfig]) throws -> BuiltPart {
        switch p {
        case .conv(let c):
            guard let w = input.width else { throw BlockError("\(name): a convolution reads a spatial stream") }
            guard w >= 1 else { throw BlockError("\(name): a convolution reads a spatial stream") }
            // A conv narrower than its lanes writes one beat per token.
            let cc = try ConvConfig(c, input: input, lanes: min(outputLanes ?? lanes.of(c), c.outChannels), inputChunk: format.lanes, storage: storage, name: "\(name)_\(c.layer.name)")
            try cc.validate()
            try format.check(feeds: cc.inputFormat, "the stream before \(cc.name)", cc.name)
            convs.append(cc)
            return BuiltPart(module: try makeConv(cc), output: cc.outputFormat, reach: TokenReach(cc, c))
        case .chain(let parts):
            var f = format, s = input
            var built: [BuiltPart] = []
            var stages: [(module: Module, input: CountStreamFormat, output: CountStreamFormat)] = []
            for (k, q) in parts.enumerated() {
                let b = try build(q, reading: s, format: f, lanes: lanes, outputLanes: k == parts.count - 1 ? outputLanes : nil,
                                  storage: storage, name: name, convs: &convs)
                stages.append((b.module, f, b.output))
                built.append(b)
                f = b.output
                s = try q.output(reading: s)
            }
            if built.count == 1 { return built[0] }
            var reach = built[0].reach
            for b in built.dropFirst() { reach = b.reach.after(reach) }
            let m = try makeStreamChain("\(name)_\(built.map { $0.module.name.components(separatedBy: "_").last ?? "" }.joined(separator: "_"))_chain",
                                        doc: "A chain of the parts of \(name) (docs/arithmetic.md §8).", stages: stages)
            return BuiltPart(module: m, output: f, reach: reach)
        case .fork(let main, let shortcut):
            // Both branches write the join's beats: the main branch's lanes unless the output's are given.
            let a = try build(main, reading: input, format: format, lanes: lanes, outputLanes: outputLanes, storage: storage, name: name, convs: &convs)
            let b = try build(shortcut, reading: input, format: format, lanes: lanes, outputLanes: a.output.lanes, storage: storage,
                              name: name, convs: &convs)
            let fa = try main.output(reading: input), fb = try shortcut.output(reading: input)
            guard a.output.lanes == b.output.lanes else {
                throw BlockError("\(name): the main branch writes beats of \(a.output.lanes) counts and the shortcut \(b.output.lanes); give both the same lanes")
            }
            let cfg = PatchForkConfig(input: format, channels: fa.channels, lanes: a.output.lanes, mainMaxCount: fa.maxCount,
                                      shortcutMaxCount: fb.maxCount, fifoTokens: TokenReach.forkBacklog(main: a.reach, shortcut: b.reach),
                                      name: "\(name)_fork")
            try a.output.check(feeds: cfg.mainFormat, "\(name) main branch", "the fork's main input")
            try b.output.check(feeds: cfg.shortcutFormat, "\(name) shortcut", "the fork's shortcut input")
            let reach = TokenReach(outputTokens: a.reach.outputTokens,
                                   needs: { [ra = a.reach, rb = b.reach] j in max(ra.needs(j), rb.needs(j)) },
                                   causal: { [ra = a.reach, rb = b.reach] j in max(ra.causal(j), rb.causal(j)) })
            return BuiltPart(module: try makePatchFork(cfg, main: a.module, shortcut: b.module), output: cfg.outputFormat, reach: reach)
        default:
            throw BlockError("\(name): a patch embedding holds convolutions, chains and forks; \(p.name) belongs in a block section")
        }
    }
}

extension NetworkHardware {
    /// The top module: image in on `s_axis`, `z` out on `m_axis`, every section between.
    public func makeModule() throws -> Module {
        let n = network
        let model = n.config.model ?? "custom"
        var stages: [(module: Module, input: CountStreamFormat, output: CountStreamFormat)] =
            sections.map { ($0.module, $0.input, $0.output) }
        let body = try makeStreamChain("\(n.name)_sections", doc: "Every section of \(model), in stream order.", stages: stages)
        stages.removeAll()
        let format0 = sections[0].input
        let inputDoc: String
        switch n.image.kind {
        case .pixels(let bits, let fin):
            inputDoc = """
                Input stream s_axis: the image, one beat per pixel position in raster order (y, then x), \(n.image.height) x \(n.image.width)
                positions, the \(n.image.channels) channels of a position in one beat:
                  s_axis_tdata  [\(n.image.channels * bits - 1):0]  pixel of channel c at bits [c*\(bits) +: \(bits)], signed, on the grid 2^-\(fin)
                  s_axis_tlast  on the image's last position
                The tools quantize a float image onto this grid (docs/arithmetic.md §8) before it enters.
                """
        case .frames(let m):
            inputDoc = """
                Input stream s_axis: DVS frames as a count stream (docs/formats.md): one vector of \(n.image.channels) counts (0...\(m)) per
                position and time step, positions in raster order, the \(n.image.timeSteps) time steps of a position innermost; one beat per vector:
                  s_axis_tdata  [\(format0.dataWidth - 1):0]  count of channel c at bits [c*\(format0.countWidth) +: \(format0.countWidth)], unsigned
                  s_axis_tlast  on every beat; s_axis_tuser [1] on the first time step of a position, [0] on every beat
                """
        }
        let zw = try head.accumulatorRange().signedWidth
        let m = Module(n.name, doc: """
            The whole network \(model) (docs/arithmetic.md §8): \(n.stem == nil ? "" : "the stem conv, ")\(n.sections.map(\.name).joined(separator: ", ")), the head.
            Weights: \(n.origin).
            \(inputDoc)
            Output stream m_axis: after each \(n.stem == nil ? "sample" : "image"), its \(head.classes) class scores z[k] (docs/arithmetic.md §8), one per beat, z[0] first:
              m_axis_tdata  [\(zw - 1):0]  z[k], signed; logits[k] = z[k] * 2^-Fw[k] / (N*T), N = \(head.tokens), T = \(head.timeSteps)
              m_axis_tlast  on z[\(head.classes - 1)]
            error (sticky): a section saw a malformed stream (a wiring fault, never the input's values).
            Images follow one another without gaps; each section works on its own image (a pipeline).
            Reset: rst is active high and synchronous; hold it for at least 1 clock cycle with s_axis_tvalid low.
            Memory images: every weight, bias and threshold ROM is loaded by $readmemh from the .hex file its module names, in the
            folder the memory-directory macro gives (files.f and README.md of the generated folder say which).
            Undefined: m_axis_tdata while m_axis_tvalid is low.
            """)
        let sValid = m.input("s_axis_tvalid", width: 1)
        let mReady = m.input("m_axis_tready", width: 1)
        let uBody = m.instance(body, "u_sections")
        let uHead = m.instance(try makeHead(head), "u_head")
        var error: Expr
        if let sc = stem {
            let uStem = m.instance(try makeStem(sc), "u_stem")
            uStem.connect("s_axis_tvalid", sValid)
            uStem.connect("s_axis_tdata", m.input("s_axis_tdata", width: sc.inputWidth))
            uStem.connect("s_axis_tlast", m.input("s_axis_tlast", width: 1))
            m.output("s_axis_tready", uStem.output("s_axis_tready"))
            uBody.connect("s_axis_tvalid", uStem.output("m_axis_tvalid"))
            uBody.connect("s_axis_tdata", uStem.output("m_axis_tdata"))
            uBody.connect("s_axis_tlast", uStem.output("m_axis_tlast"))
            uBody.connect("s_axis_tuser", uStem.output("m_axis_tuser"))
            uStem.connect("m_axis_tready", uBody.output("s_axis_tready"))
            error = uStem.output("s_axis_error") | uBody.output("s_axis_error")
        } else {
            let f = sections[0].input
            uBody.connect("s_axis_tvalid", sValid)
            uBody.connect("s_axis_tdata", m.input("s_axis_tdata", width: f.dataWidth))
            uBody.connect("s_axis_tlast", m.input("s_axis_tlast", width: 1))
            uBody.connect("s_axis_tuser", m.input("s_axis_tuser", width: 2))
            m.output("s_axis_tready", uBody.output("s_axis_tready"))
            error = uBody.output("s_axis_error")
        }
        uHead.connect("s_axis_tvalid", uBody.output("m_axis_tvalid"))
        uHead.connect("s_axis_tdata", uBody.output("m_axis_tdata"))
        uHead.connect("s_axis_tlast", uBody.output("m_axis_tlast"))
        uHead.connect("s_axis_tuser", uBody.output("m_axis_tuser"))
        uBody.connect("m_axis_tready", uHead.output("s_axis_tready"))
        uHead.connect("m_axis_tready", mReady)
        m.output("error", error | uHead.output("s_axis_error"))
        m.output("m_axis_tvalid", uHead.output("m_axis_tvalid"))
        m.output("m_axis_tdata", uHead.output("m_axis_tdata"))
        m.output("m_axis_tlast", uHead.output("m_axis_tlast"))
        return m
    }
}

extension TokenReach {
    /// A convolution's reach: `needs` from the RTL's lookahead contract (before any beat of
    /// output token `j + 1`, every beat of token `j` is out, having read at most
    /// `inputTokensRead(beforeOutput: j + 1)` input tokens), `causal` from the arithmetic (the
    /// last input token the window, and the pool's window of conv outputs, reaches).
    init(_ cc: ConvConfig, _ layer: ConvLayer) {
        let (H, W, k, s, p) = (cc.height, cc.width, layer.kernel, layer.stride, layer.padding)
        let hc = layer.convSize(H), wc = layer.convSize(W)
        let outW = layer.outputSize(W), outTokens = cc.outputTokens
        let pool = layer.pool
        @Sendable func convCausal(_ y: Int, _ x: Int) -> Int {
            let r = min(H - 1, s * y + k - 1 - p), c = min(W - 1, s * x + k - 1 - p)
            return max(0, r) * W + max(0, c) + 1
        }
        self.init(outputTokens: outTokens,
                  needs: { [cc] j in cc.inputTokensRead(beforeOutput: min(j + 1, outTokens)) },
                  causal: { j in
                      let (y, x) = (j / outW, j % outW)
                      guard pool else { return convCausal(y, x) }
                      return convCausal(min(hc - 1, 2 * y + 1), min(wc - 1, 2 * x + 1))
                  })
    }
}
