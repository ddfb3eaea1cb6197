import Foundation
import Description
import Blocks

/// Cycles per image of each pipeline layer at a given number of lanes, and of the whole pipeline.
///
/// **Convolutions (a model checked against Verilator: `NetworkCyclesVsSimulationTests`, each
/// conv, stem and head of a cifar, an imagenet and a DVS network built alone and run on the golden
/// model's own input stream; docs/estimate-network.md has the table).** The conv hardware
/// (`ConvConfig`/`makeConv`) reads input vectors as `B = ceil(Cin / K)` beats, `K` the lanes of
/// the stream it reads (`inputLanes`); for each output position and time step the gather loads the
/// `k x k` window's `k*k*B` beats from the line buffer, the event encoder turns each beat's
/// non-zero counts into events (one cycle per beat, one more per event beyond a beat's first), and
/// each event adds its weight row into the `Cout` accumulators over `G = ceil(Cout / P)` cycles.
/// One output vector costs `max(E*G, encoder, G) + convVectorOverhead` cycles, `E` the mean window
/// events (rate x valid taps x Cin); the line buffer (`convImageCycles`) decides how input and
/// compute overlap: a 3x3 conv's holds two rows, a strided 1x1 conv's two tokens, so its off-grid
/// tokens are read between outputs (there the model is an upper bound, up to about +20%).
/// The pool works on currents before the LIF, so the conv computes every pre-pool position.
///
/// **Stem.** It multiplies pixels by weights once per position (the image is the same at every
/// time step) with `P` multipliers computing `P` outputs at a time: `Cin * 9 * ceil(Cout / P)`
/// cycles per position, then the LIF
/// runs the `T` steps of each pooled position over `G` groups.
///
/// **Head.** Count sums of the `N x T` input vectors (one beat of `P` counts per cycle, `P` the
/// lanes of the stream it reads: its lane group is the last stage's), then `classes x (C + 4) + 2`
/// cycles of multiply-accumulates, one per cycle (`HeadAccelerator`; it has one multiplier).
///
/// **Blocks.** The existing block models (`BlockRateCycleModel` for QKTA and QKCA blocks,
/// `SSACycleModel` beside the MLP's for SSA blocks; docs/estimate-cycles.md) on the block
/// hardware the generator folds with `Folding(lanes: P)`, at the section's tokens and the
/// layer's rates.
public struct NetworkCycleModel: Sendable {
    public static let convVectorOverhead = 1
    public static let imageOverhead = 16
    public static let modelStatus = "model checked against Verilator per layer (NetworkCyclesVsSimulationTests: within 10%, strided 1x1 convs an upper bound within 25%)"
    /// Counts per input beat of the conv hardware (`ConvConfig.inputChunk` default) and, as assumed, of the head.
    static func inputChunk(_ channels: Int) -> Int { min(channels, 64) }

    public let network: NetworkDescription
    public let layers: [NetworkLayer]
    public let rates: [LayerRates]

    public init(_ network: NetworkDescription, rates: [LayerRates]) {
        self.network = network
        layers = network.pipelineLayers
        self.rates = rates
    }

    /// The lanes a layer can use: 1...the widest useful (`Cout` for convs, `C` for blocks, the
    /// stem's `Cin * 9 * Cout` multiplies, 256 at most).
    public func maxLanes(_ i: Int) -> Int {
        let l = layers[i]
        switch l.kind {
        case .stem: return min(256, l.conv!.outChannels)
        case .conv: return min(256, l.conv!.outChannels)
        case .block: return min(256, l.block!.dim)
        case .head: return min(256, l.input.channels)
        }
    }

    /// The counts per beat of the stream layer `i` reads when the pipeline is folded at `lanes`
    /// (every layer's): the lanes of the layer that writes it (`NetworkLayer.inputFrom`), at most
    /// its channels; a DVS network's first convs read whole frame vectors. The hardware
    /// (`NetworkHardware`) feeds every conv and the head the beats as they come; only a block
    /// has a lane converter in front (its cycle model takes its own lanes).
    public func inputLanes(_ i: Int, lanes: [Int]) -> Int {
        let l = layers[i]
        guard l.kind == .conv || l.kind == .head, let j = l.inputFrom else { return l.input.channels }
        return min(lanes[j], layers[j].output.channels)
    }

    /// Steady-state cycles per image of layer `i` at `lanes`, reading beats of `inputLanes` counts
    /// (`inputLanes(_:lanes:)`; nil: `min(C, 64)`, a whole vector in one beat up to 64 channels).
    public func cycles(_ i: Int, lanes p: Int, inputLanes q: Int? = nil) throws -> Double {
        let l = layers[i], r = rates[i], T = Double(l.timeSteps)
        let K = min(q ?? Self.inputChunk(l.input.channels), l.input.channels)
        switch l.kind {
        case .stem:
            let g = l.conv!
            let G = Double((g.outChannels + p - 1) / p)
            // P multipliers compute P outputs at a time, each over its Cin*k*k taps.
            let multiplies = Double(g.inChannels * g.kernel * g.kernel) * G
            return Double(g.convPositions) * multiplies + Double(g.outPositions) * T * G + Double(Self.imageOverhead)
        case .conv:
            let g = l.conv!
            let G = Double((g.outChannels + p - 1) / p)
            let events = r.input * Double(g.validWindowTaps) * Double(g.inChannels) / Double(g.convPositions)
            // The gather reads the window's k*k taps, B beats each, from the line buffer; the event
            // encoder takes max(1, events) cycles per beat: k*k*B plus the events beyond the first
            // of each beat that has any (a beat of K' = Cin/B counts at rate r has one with
            // probability 1 - (1 - r)^K'). The accumulator takes G cycles per event; the two overlap.
            let B = (g.inChannels + K - 1) / K
            let validBeats = Double(g.validWindowTaps) / Double(g.convPositions) * Double(B)
            let eventful = validBeats * (1 - pow(1 - min(max(r.input, 0), 1), Double(g.inChannels) / Double(B)))
            let encoder = Double(g.kernel * g.kernel * B) + max(0, events - eventful)
            let perVector = max(events * G, encoder, G) + Double(Self.convVectorOverhead)
            return Self.convImageCycles(g, timeSteps: l.timeSteps, beatsPerVector: B, cyclesPerVector: perVector) + Double(Self.imageOverhead)
        case .head:
            // Count sums one input beat of `K` counts per cycle (the last stage's lanes), then
            // `HeadConfig.computeCycles`: one multiply-accumulate per cycle, four more per class.
            let C = l.input.channels, B = Double((C + K - 1) / K)
            return Double(l.input.tokens) * T * B + Double(l.classes * (C + 4) + 2)
        case .block:
            return try blockCycles(i, lanes: p)
        }
    }

    /// One image through a conv's line buffer (`WindowGeometry`, as `makeConv` builds it): the
    /// writer takes one input beat per cycle (`T x B` per token) but may write token `n` only
    /// while `n < start(j) + slots`, `j` the output being gathered; output `j` is gathered once
    /// its last token `end(j)` is in, for `T x cyclesPerVector` cycles. A 3x3 conv's buffer holds
    /// two rows, so input and compute overlap; a strided 1x1 conv's holds two tokens, so the
    /// off-grid tokens are read between outputs, not under them.
    static func convImageCycles(_ g: ConvGeometry, timeSteps T: Int, beatsPerVector B: Int, cyclesPerVector v: Double) -> Double {
        let w = WindowGeometry(height: g.inHeight, width: g.inWidth, kernel: g.kernel, stride: g.stride, padding: g.padding)
        let tokens = w.tokens, outputs = w.outTokens, D = w.slots, beats = Double(T * B), gather = Double(T) * v
        var gathered = [Double](repeating: 0, count: outputs)   // when output j's gather ends
        var written = [Double](repeating: 0, count: tokens)     // when token n's last beat is in
        var next = 0, writer = 0.0, at = 0
        func write(through m: Int) {
            while next <= min(m, tokens - 1) {
                while at < outputs && w.start(at) + D <= next { at += 1 }
                writer = max(writer, at == 0 ? 0 : gathered[at - 1]) + beats
                written[next] = writer
                next += 1
            }
        }
        // The gatherer lets go of output j (and the writer of the tokens it held) once it has
        // loaded j's last window beat: the event encoder holds one beat and the gather register
        // one more, so that happens two beats' work before the accumulator finishes j.
        let held = min(2, Double(T * g.kernel * g.kernel * B)) * gather / Double(T * g.kernel * g.kernel * B)
        var free = 0.0
        for j in 0..<outputs {
            let e = w.end(j)
            write(through: e)
            free = max(free, written[e], j == 0 ? 0 : gathered[j - 1]) + gather
            gathered[j] = free - held
        }
        write(through: tokens - 1)
        return max(free, writer)
    }

    /// The block hardware of layer `i` folded at `lanes` (random weights of the description; the
    /// cycle models read only its shape).
    func blockHardware(_ i: Int, lanes p: Int) throws -> BlockHardware {
        let l = layers[i]
        guard let d = network.sections[l.sectionIndex!].blockDescription(origin: network.origin) else {
            throw BlockError("\(l.name): not a QKFormer block")
        }
        return try BlockHardware(d, folding: Folding(lanes: min(p, l.block!.dim)))
    }

    func blockCycles(_ i: Int, lanes p: Int) throws -> Double {
        let l = layers[i], r = rates[i]
        let hw = try blockHardware(i, lanes: p)
        guard case .qkformerBlock(let b) = hw.structure else { throw BlockError("\(l.name): the block hardware is not a QKFormer block") }
        let tokens = l.input.tokens
        if case .selfAttention(let s) = b.attention {
            let shape = SSAShape(ssa: s), m = MLPShape(mlp: b.mlp, tokens: tokens)
            let sr = SSAFiringRates(input: r.input, q: r.q!, k: r.k!, attention: r.attention!, source: r.source)
            let h = BlockFiringRates(input: r.x1!, hidden: r.fc1!, source: r.source)
            return max(SSACycleModel(shape).cyclesPerSample(rates: sr), BlockRateCycleModel(mlp: m).cyclesPerSample(h))
        }
        let shape = try BlockShape(block: b, tokens: tokens)
        let br = BlockFiringRates(input: r.input, attention: r.attention!, xPrime: r.xPrime!, attentionOut: r.attentionOut!,
                                  hidden: r.fc1!, source: r.source)
        return BlockRateCycleModel(block: shape).cyclesPerSample(br)
    }

    /// The fraction of a layer's per-image work done before the next layer can start: one output
    /// row of a conv (line buffers), one token of a QKTA block (its vectors stream), the whole
    /// image for two-pass attentions (QKCA, SSA) and the head.
    public func fillFraction(_ i: Int) -> Double {
        let l = layers[i]
        switch l.kind {
        case .stem, .conv: return 1 / Double(max(l.conv!.convHeight, 1))
        case .block: return l.block!.attention == .token ? 1 / Double(max(l.block!.tokens, 1)) : 1
        case .head: return 1
        }
    }
}

/// The pipeline at one folding: every layer's cycles per image; throughput from the slowest.
public struct PipelineTiming: Sendable, Hashable, Codable {
    public var lanes: [Int]
    public var cycles: [Double]
    public var fill: [Double]
    /// Steady-state cycles per image: the slowest layer's.
    public var cyclesPerImage: Double { cycles.max() ?? 0 }
    public var slowest: Int { cycles.indices.max { cycles[$0] < cycles[$1] } ?? 0 }
    /// One image through an empty pipeline: the slowest layer's cycles plus every layer's fill
    /// (the work it does before its successor can start). A model; the bound of no overlap at
    /// all is `sum(cycles)`.
    public var latencyCycles: Double { cyclesPerImage + zip(cycles, fill).reduce(0) { $0 + $1.0 * $1.1 } }
    /// Each layer's busy fraction at the pipeline's rate.
    public var utilisation: [Double] { cycles.map { $0 / max(cyclesPerImage, 1) } }

    public init(model: NetworkCycleModel, lanes: [Int], cache: LaneCycleCache? = nil) throws {
        self.lanes = lanes
        cycles = try lanes.indices.map { i in
            let q = model.inputLanes(i, lanes: lanes)
            return try cache?.cycles(i, lanes[i], inputLanes: q) ?? model.cycles(i, lanes: lanes[i], inputLanes: q)
        }
        fill = lanes.indices.map(model.fillFraction)
    }
}

/// Memoised `NetworkCycleModel.cycles` (the block models simulate synthetic samples; blocks of
/// one stage share a shape, so they share entries).
public final class LaneCycleCache: @unchecked Sendable {
    public let model: NetworkCycleModel
    var table: [String: Double] = [:]
    let lock = NSLock()
    public init(_ model: NetworkCycleModel) { self.model = model }

    func key(_ i: Int, _ p: Int, _ q: Int?) -> String {
        let l = model.layers[i]
        if let b = l.block {
            let r = model.rates[i]
            return "block s\(b.stage) \(b.attention.rawValue) C\(b.dim) N\(b.tokens) in\(r.input) P\(p)"
        }
        return "\(l.name) P\(p) K\(q.map(String.init) ?? "-")"
    }

    /// `model.cycles(i, lanes: p, inputLanes: q)`, memoised.
    public func cycles(_ i: Int, _ p: Int, inputLanes q: Int? = nil) throws -> Double {
        let k = key(i, p, q)
        lock.lock(); let hit = table[k]; lock.unlock()
        if let v = hit { return v }
        let v = try model.cycles(i, lanes: p, inputLanes: q)
        lock.lock(); table[k] = v; lock.unlock()
        return v
    }
}
