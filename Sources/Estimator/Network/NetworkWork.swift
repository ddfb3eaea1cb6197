import Foundation
import Description

/// The firing rates the network estimate assumes where QKFormer publishes none. Every value
/// here is an assumption and is printed as one (`NetworkRates.assumptions`).
public struct NetworkRateAssumptions: Sendable, Hashable, Codable {
    /// Output spikes of every convolution's LIF (stem and patch embeddings). QKFormer gives no
    /// embedding rates; 0.2 is the estimator's default spike rate (`FiringRates.defaultInputRate`).
    public var convOutput: Double = FiringRates.defaultInputRate
    /// Non-zero pixels of a DVS event frame (the dvs embedding's first conv input).
    public var dvsFrame: Double = 0.1
    /// SSA (the last stage): Q, K, V and the attention neuron; QKFormer reports none.
    public var ssa: Double = SSAFiringRates.assumed.q
    public init() {}
}

/// QKFormer's Table 7 (seed 001, appendix A.3: the trained 64.9M model on ImageNet-1K, 224x224):
/// the QKTA rates (Q, K, A_t, X', X'' = the attention's output) and the SMLP's two layers, stage
/// 1 and stage 2. Read here as the output spikes of fc1 (`Layer1`) and fc2 (`Layer2`).
public enum QKFormerTable7 {
    public static func mlp(stage: Int) -> (fc1: Double, fc2: Double) { stage == 1 ? (0.0518, 0.2733) : (0.0246, 0.1869) }
    public static func attention(stage: Int) -> (q: Double, k: Double, attention: Double, xPrime: Double, out: Double) {
        FiringRates.qkformerTable7(stage: stage)
    }
}

/// The rates of one pipeline layer: its input stream's non-zero fraction, and the rates inside a block.
public struct LayerRates: Sendable, Hashable, Codable {
    public var input: Double
    public var output: Double
    /// Blocks: the rates the block's cycle model and work need.
    public var q: Double?, k: Double?, attention: Double?, xPrime: Double?, attentionOut: Double?, x1: Double?, fc1: Double?, fc2: Double?
    /// Where they come from ("paper" where Table 7 gives them).
    public var source: String
}

/// `1 - (1 - a)(1 - b)`: the non-zero fraction of a SEW sum of two independent streams.
func orRate(_ a: Double, _ b: Double) -> Double { 1 - (1 - a) * (1 - b) }

extension NetworkDescription {
    /// Every pipeline layer's rates, in `pipelineLayers` order: the stem reads dense pixels; each
    /// conv writes `convOutput`; an embedding with a shortcut writes the SEW sum of two conv
    /// outputs; a block reads the stream before it and writes `x2 = x1 + MLP(x1)`, `x1 = x +
    /// Attn(x)` with QKFormer's Table 7 (stage 3 and beyond: stage 2's, as `FiringRates` does),
    /// independent spikes assumed in the sums.
    public func layerRates(_ a: NetworkRateAssumptions = NetworkRateAssumptions()) -> [LayerRates] {
        let layers = pipelineLayers
        var out: [LayerRates] = []
        var stream = stem == nil ? a.dvsFrame : a.convOutput
        var sectionInput = stream
        var current = ""
        for l in layers {
            if l.section != current && l.kind != .head { current = l.section; sectionInput = stream }
            switch l.kind {
            case .stem:
                out.append(LayerRates(input: 1, output: a.convOutput, source: "pixels dense (rate 1); output \(a.convOutput) assumed"))
                stream = a.convOutput
            case .conv:
                let r = l.readsSectionInput ? sectionInput : a.convOutput
                out.append(LayerRates(input: r, output: a.convOutput, source: "input \(l.readsSectionInput ? "the section input" : "a conv's spikes (assumed)"); output \(a.convOutput) assumed"))
                // The section writes the SEW sum of a fork's two branches (or one conv's spikes).
                let hasFork = layers.contains { $0.section == l.section && $0.shortcut }
                stream = hasFork ? orRate(a.convOutput, a.convOutput) : a.convOutput
            case .block:
                let b = l.block!
                let s = min(max(b.stage, 1), 2)
                let t7 = QKFormerTable7.attention(stage: s), m = QKFormerTable7.mlp(stage: s)
                let input = sectionInput
                if b.attention == .ssa {
                    let x1 = orRate(input, t7.out)
                    let o = orRate(x1, m.fc2)
                    out.append(LayerRates(input: input, output: o, q: a.ssa, k: a.ssa, attention: a.ssa, xPrime: nil, attentionOut: t7.out,
                                          x1: x1, fc1: m.fc1, fc2: m.fc2,
                                          source: "SSA Q, K, V, attention \(a.ssa) assumed (QKFormer reports no SSA rates); attention out, fc1, fc2: Table 7 stage \(s)"))
                    stream = o
                } else {
                    let x1 = orRate(input, t7.out)
                    let o = orRate(x1, m.fc2)
                    var xPrime = t7.xPrime, att = t7.attention
                    var src = "Q, K, A_t, X', X'', fc1, fc2: QKFormer Table 7 stage \(s)\(b.stage > 2 ? " (stage \(b.stage) has none)" : "")"
                    if b.attention == .channel {
                        // QKCA is not in Table 7: A_c from Q as FiringRates does.
                        att = 1 - FiringRates.pow1m(t7.q, b.tokens)
                        xPrime = t7.k * att
                        src += "; QKCA: A_c = 1-(1-q)^N, X' = k*A_c (independent spikes)"
                    }
                    out.append(LayerRates(input: input, output: o, q: t7.q, k: t7.k, attention: att, xPrime: xPrime, attentionOut: t7.out,
                                          x1: x1, fc1: m.fc1, fc2: m.fc2, source: src + "; block input chained from the stream before it"))
                    stream = o
                }
            case .head:
                out.append(LayerRates(input: stream, output: 0, source: "the last block's output"))
            }
        }
        return out
    }
}

/// The work of one synaptic layer for one image (a conv, or one linear layer inside a block,
/// or the head), counted two ways:
///
/// - **paper**: QKFormer's (and Spikformer's) energy method: `SOPs = fr x T x FLOPs` of every
///   layer but the first, whose `FLOPs x T` are MACs (the image is presented at each of the T
///   time steps); FLOPs are the dense multiply-accumulates of one time step, padding taps
///   included, as FLOP counters count them.
/// - **hardware**: what the event-driven hardware does: input events x fan-out ACs, padding taps
///   excluded; the stem multiplies each pixel window once per position (not per time step); the
///   head adds count sums and multiplies once per image; plus LIF updates and memory traffic.
public struct SynapticWork: Sendable, Hashable, Codable {
    public var layer: String
    public var name: String
    public var inputRate: Double
    /// Whether the input rate is a published one (QKFormer Table 7) or an assumption.
    public var rateFromPaper: Bool
    public var timeSteps: Int
    /// Dense MACs of one time step.
    public var denseMACs: Double
    public var paperACs: Double
    public var paperMACs: Double
    public var hardwareACs: Double
    public var hardwareMACs: Double
    /// LIF updates (neurons x T).
    public var neuronUpdates: Double
    public var weightBitsRead: Double
    /// Accumulator and membrane reads and writes.
    public var stateBits: Double
    /// Line-buffer (or count-sum) reads and writes.
    public var bufferBits: Double
    public var memoryBits: Double { weightBitsRead + stateBits + bufferBits }
}

/// Energy per image from `SynapticWork`, both ways.
public struct NetworkEnergy: Sendable, Hashable, Codable {
    public var parameters: EnergyParameters
    /// Widths the memory traffic assumes.
    public var accumulatorBits: Int
    public var membraneBits: Int
    public var work: [SynapticWork]

    public init(work: [SynapticWork], parameters: EnergyParameters = EnergyParameters(), accumulatorBits: Int = 16, membraneBits: Int = 16) {
        (self.work, self.parameters, self.accumulatorBits, self.membraneBits) = (work, parameters, accumulatorBits, membraneBits)
    }

    /// pJ of one entry, the paper's way.
    public func paperPJ(_ w: SynapticWork) -> Double { w.paperACs * parameters.accumulate + w.paperMACs * parameters.multiplyAccumulate }
    /// pJ of one entry, the hardware's operations plus LIF updates plus memory traffic.
    public func hardwarePJ(_ w: SynapticWork) -> Double {
        (w.hardwareACs + w.neuronUpdates) * parameters.accumulate + w.hardwareMACs * parameters.multiplyAccumulate + w.memoryBits * parameters.memoryBit
    }
    public var paperMillijoules: Double { work.reduce(0) { $0 + paperPJ($1) } * 1e-9 }
    public var hardwareMillijoules: Double { work.reduce(0) { $0 + hardwarePJ($1) } * 1e-9 }
    /// The paper-method energy of the entries whose rates are assumptions (not Table 7), in mJ.
    public var paperAssumedMillijoules: Double { work.filter { !$0.rateFromPaper }.reduce(0) { $0 + paperPJ($1) } * 1e-9 }
    /// Totals per pipeline layer (paper, hardware), in mJ.
    public func byLayer(_ name: String) -> (paper: Double, hardware: Double) {
        let w = work.filter { $0.layer == name }
        return (w.reduce(0) { $0 + paperPJ($1) } * 1e-9, w.reduce(0) { $0 + hardwarePJ($1) } * 1e-9)
    }
    /// Published figure this reproduces (QKFormer, HST-10-384 on ImageNet), in mJ.
    public static let paperHST10_384 = 15.13
}

/// Bits of a count of `0...maxCount`.
func countBits(_ maxCount: Int) -> Int { max(1, Int.bitWidth - max(maxCount, 1).leadingZeroBitCount) }

extension NetworkDescription {
    /// The synaptic work of every layer for one image at `rates` (`layerRates`).
    public func synapticWork(rates: [LayerRates], accumulatorBits wa: Int = 16, membraneBits wv: Int = 16) -> [SynapticWork] {
        let layers = pipelineLayers
        let wb = Double(config.quantization.weightBits)
        var out: [SynapticWork] = []
        for (l, r) in zip(layers, rates) {
            let T = Double(l.timeSteps)
            func linear(_ name: String, rate: Double, paper: Bool, tokens: Int, cin: Int, cout: Int, inBits: Int) -> SynapticWork {
                let dense = Double(tokens) * Double(cin) * Double(cout)
                let acs = rate * T * dense
                let updates = Double(tokens) * T * Double(cout)
                return SynapticWork(layer: l.name, name: "\(l.name).\(name)", inputRate: rate, rateFromPaper: paper, timeSteps: l.timeSteps,
                                    denseMACs: dense, paperACs: acs, paperMACs: 0, hardwareACs: acs, hardwareMACs: 0, neuronUpdates: updates,
                                    weightBitsRead: acs * wb, stateBits: acs * 2 * Double(wa) + updates * 2 * Double(wv),
                                    bufferBits: 0)
            }
            switch l.kind {
            case .stem:
                let g = l.conv!
                let pixelBits: Double
                if case .pixels(let b, _) = image.kind { pixelBits = Double(b) } else { pixelBits = 8 }
                let updates = Double(g.outPositions) * T * Double(g.outChannels)
                out.append(SynapticWork(layer: l.name, name: "stem.conv1", inputRate: 1, rateFromPaper: true, timeSteps: l.timeSteps,
                                        denseMACs: g.denseMACs, paperACs: 0, paperMACs: g.denseMACs * T, hardwareACs: 0, hardwareMACs: g.validMACs,
                                        neuronUpdates: updates, weightBitsRead: g.validMACs * wb,
                                        stateBits: g.validMACs * 2 * Double(wa) + updates * 2 * Double(wv),
                                        bufferBits: Double(g.inHeight * g.inWidth * g.inChannels) * pixelBits
                                            + Double(g.convPositions * g.inChannels * g.kernel * g.kernel) * pixelBits))
            case .conv:
                let g = l.conv!
                let cb = Double(countBits(l.input.maxCount))
                let acs = r.input * T * g.validMACs
                let updates = Double(g.outPositions) * T * Double(g.outChannels)
                out.append(SynapticWork(layer: l.name, name: l.name, inputRate: r.input, rateFromPaper: false, timeSteps: l.timeSteps,
                                        denseMACs: g.denseMACs, paperACs: r.input * T * g.denseMACs, paperMACs: 0, hardwareACs: acs, hardwareMACs: 0,
                                        neuronUpdates: updates, weightBitsRead: acs * wb,
                                        stateBits: acs * 2 * Double(wa) + updates * 2 * Double(wv),
                                        bufferBits: T * cb * Double(g.inHeight * g.inWidth * g.inChannels
                                                                    + g.convPositions * g.inChannels * g.kernel * g.kernel)))
            case .block:
                let b = l.block!, N = b.tokens, C = b.dim, H = b.mlpRatio * C
                let inBits = countBits(l.input.maxCount)
                if b.attention == .ssa {
                    let s = r.q!
                    out.append(linear("q", rate: r.input, paper: false, tokens: N, cin: C, cout: C, inBits: inBits))
                    out.append(linear("k", rate: r.input, paper: false, tokens: N, cin: C, cout: C, inBits: inBits))
                    out.append(linear("v", rate: r.input, paper: false, tokens: N, cin: C, cout: C, inBits: inBits))
                    // Q K^T and (Q K^T) V: N x N x C each, at Q's and V's rates.
                    var qk = linear("qk", rate: s, paper: false, tokens: N, cin: N, cout: C, inBits: 1)
                    qk.neuronUpdates = 0
                    var av = linear("attn_v", rate: s, paper: false, tokens: N, cin: N, cout: C, inBits: 1)
                    av.neuronUpdates = Double(N) * T * Double(C)
                    out += [qk, av]
                    out.append(linear("proj", rate: r.attention!, paper: false, tokens: N, cin: C, cout: C, inBits: 1))
                } else {
                    out.append(linear("q", rate: r.input, paper: false, tokens: N, cin: C, cout: C, inBits: inBits))
                    out.append(linear("k", rate: r.input, paper: false, tokens: N, cin: C, cout: C, inBits: inBits))
                    out.append(linear("proj", rate: r.xPrime!, paper: b.stage <= 2 && b.attention == .token, tokens: N, cin: C, cout: C, inBits: 1))
                }
                out.append(linear("fc1", rate: r.x1!, paper: false, tokens: N, cin: C, cout: H, inBits: inBits + 1))
                out.append(linear("fc2", rate: r.fc1!, paper: b.stage <= 2, tokens: N, cin: H, cout: C, inBits: 1))
            case .head:
                let C = l.input.channels, K = l.classes, N = l.input.tokens
                let sumBits = Double(countBits(l.input.maxCount * N * l.timeSteps))
                let events = r.input * Double(N) * T * Double(C)
                out.append(SynapticWork(layer: l.name, name: "head", inputRate: r.input, rateFromPaper: false, timeSteps: l.timeSteps,
                                        denseMACs: Double(C * K), paperACs: r.input * T * Double(C * K), paperMACs: 0,
                                        hardwareACs: events, hardwareMACs: Double(C * K), neuronUpdates: 0,
                                        weightBitsRead: Double(C * K) * wb, stateBits: 0,
                                        bufferBits: events * 2 * sumBits + Double(C) * sumBits))
            }
        }
        return out
    }
}
