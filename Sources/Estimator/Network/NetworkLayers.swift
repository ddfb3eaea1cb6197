import Description

/// The geometry of one convolution of the network (the stem or a patch-embedding conv), as the
/// estimator needs it: sizes before and after the optional pool.
public struct ConvGeometry: Sendable, Hashable, Codable {
    public var inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, pool: Bool
    public var inHeight: Int, inWidth: Int
    /// Output size of the convolution alone (before the pool): the positions it computes.
    public var convHeight: Int, convWidth: Int
    /// Output size after the pool (the LIF neurons' positions).
    public var outHeight: Int, outWidth: Int

    public init(_ c: ConvLayer, inHeight h: Int, inWidth w: Int) {
        (inChannels, outChannels, kernel, stride, padding, pool) = (c.inChannels, c.outChannels, c.kernel, c.stride, c.padding, c.pool)
        (inHeight, inWidth) = (h, w)
        (convHeight, convWidth) = (c.convSize(h), c.convSize(w))
        (outHeight, outWidth) = (c.outputSize(h), c.outputSize(w))
    }

    /// Positions the convolution computes (a strided conv skips the off-grid ones).
    public var convPositions: Int { convHeight * convWidth }
    public var outPositions: Int { outHeight * outWidth }

    /// Kernel taps that fall inside the image along one axis, summed over the output positions.
    static func validTaps(n: Int, out: Int, k: Int, s: Int, p: Int) -> Int {
        (0..<out).reduce(0) { acc, o in acc + (0..<k).filter { (0..<n).contains(o * s - p + $0) }.count }
    }

    /// `(output position, input pixel)` pairs inside the image, over every position: the input
    /// events of one channel and time step at rate 1, padding excluded.
    public var validWindowTaps: Int {
        Self.validTaps(n: inHeight, out: convHeight, k: kernel, s: stride, p: padding)
            * Self.validTaps(n: inWidth, out: convWidth, k: kernel, s: stride, p: padding)
    }

    /// Dense multiply-accumulates of one time step, as FLOP counters count a `Conv2d` (padding
    /// taps included): `Hc * Wc * Cout * Cin * k * k`.
    public var denseMACs: Double { Double(convPositions) * Double(outChannels) * Double(inChannels * kernel * kernel) }
    /// The same, padding taps excluded (what event-driven hardware can ever do).
    public var validMACs: Double { Double(validWindowTaps) * Double(outChannels) * Double(inChannels) }
}

/// One layer of the network's pipeline: a unit of hardware with its own folding (the stem, a
/// patch-embedding conv, a whole QKFormer block, the head), in stream order.
public struct NetworkLayer: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable { case stem, conv, block, head }
    /// `stem`, `patch_embed1.conv2`, `stage1.block0`, `head`.
    public var name: String
    public var section: String
    public var kind: Kind
    public var input: StreamFormat
    public var output: StreamFormat
    public var conv: ConvGeometry?
    /// A QKFormer block's config (stage, dim, heads, tokens, T, attention).
    public var block: BlockConfig?
    /// The section index in `NetworkDescription.sections` (nil: stem and head).
    public var sectionIndex: Int?
    /// Weights (parameters) of the layer, biases excluded.
    public var weights: Int
    /// Head only: classes.
    public var classes: Int
    /// Whether the layer sits on a patch embedding's shortcut (runs beside the main chain).
    public var shortcut: Bool
    /// Whether it reads its section's input stream (else the previous conv's spikes).
    public var readsSectionInput: Bool = true
    /// Whether it writes its section's output (the main chain's last conv, the shortcut): its
    /// beats feed the next block, which reads beats of its own lanes, so the two share lanes.
    public var writesSectionOutput: Bool = false
    /// The pipeline layer whose beats it reads (its index in `pipelineLayers`): the conv before
    /// it in a chain, the writer of the stream a fork splits, the previous section's writer;
    /// nil for the stem (pixels) and a DVS network's first convs (frames).
    public var inputFrom: Int? = nil

    public var timeSteps: Int { output.timeSteps }
}

extension NetworkDescription {
    /// The network's pipeline layers in stream order: the stem (if any), every conv of every
    /// patch embedding (main chain, then shortcut), every QKFormer block, the head.
    public var pipelineLayers: [NetworkLayer] {
        var out: [NetworkLayer] = []
        let T = image.timeSteps
        var writer: Int? = nil
        if let s = stem {
            let pixels = StreamFormat(channels: image.channels, tokens: image.height * image.width, timeSteps: T, maxCount: 1, width: image.width)
            let o = try! s.output(reading: pixels, at: "stem")
            out.append(NetworkLayer(name: "stem", section: "stem", kind: .stem, input: pixels, output: o,
                                    conv: ConvGeometry(s, inHeight: image.height, inWidth: image.width), block: nil, sectionIndex: nil,
                                    weights: s.layer.outputs * s.layer.inputs, classes: 0, shortcut: false))
            writer = 0
        }
        for (i, sec) in sections.enumerated() {
            if let b = sec.block {
                out.append(NetworkLayer(name: sec.name, section: sec.name, kind: .block, input: sec.input, output: sec.output, conv: nil,
                                        block: b, sectionIndex: i, weights: sec.body.layers.reduce(0) { $0 + $1.outputs * $1.inputs },
                                        classes: 0, shortcut: false, inputFrom: writer))
                writer = out.count - 1
                continue
            }
            // `from`: the layer whose beats the part reads; returns the part's output and the layer
            // whose beats carry it (a fork's join writes beats of its main branch's lanes).
            func walk(_ p: Part, _ f: StreamFormat, from: Int?, shortcut: Bool, fromInput: Bool, last: Bool) -> (StreamFormat, Int?) {
                switch p {
                case .conv(let c):
                    let o = try! c.output(reading: f, at: sec.name)
                    let w = f.width ?? 1
                    out.append(NetworkLayer(name: "\(sec.name).\(c.layer.name)", section: sec.name, kind: .conv, input: f, output: o,
                                            conv: ConvGeometry(c, inHeight: f.tokens / w, inWidth: w), block: nil, sectionIndex: i,
                                            weights: c.layer.outputs * c.layer.inputs, classes: 0, shortcut: shortcut,
                                            readsSectionInput: fromInput, writesSectionOutput: last, inputFrom: from))
                    return (o, out.count - 1)
                case .chain(let ps):
                    var g = f, by = from, first = fromInput
                    for (k, q) in ps.enumerated() {
                        (g, by) = walk(q, g, from: by, shortcut: shortcut, fromInput: first, last: last && k == ps.count - 1)
                        first = false
                    }
                    return (g, by)
                case .fork(let m, let s):
                    let (o, by) = walk(m, f, from: from, shortcut: shortcut, fromInput: fromInput, last: last)
                    _ = walk(s, f, from: from, shortcut: true, fromInput: fromInput, last: last)
                    return (try! p.output(reading: f, at: sec.name).withWidth(o.width), by)
                default:
                    // Token-local parts outside a block (none in the named networks): no pipeline layer of their own.
                    return ((try? p.output(reading: f, at: sec.name)) ?? f, from)
                }
            }
            writer = walk(sec.body, sec.input, from: writer, shortcut: false, fromInput: true, last: true).1
        }
        let f = output
        out.append(NetworkLayer(name: "head", section: "head", kind: .head, input: f, output: f, conv: nil, block: nil, sectionIndex: nil,
                                weights: head.classes * head.channels, classes: head.classes, shortcut: false, inputFrom: writer))
        return out
    }
}

extension StreamFormat {
    func withWidth(_ w: Int?) -> StreamFormat { var s = self; if s.width == nil { s.width = w }; return s }
}
