import Foundation
import Description
import Blocks

/// Cycles per image of each pipeline layer at a given number of lanes, and of the whole pipeline.
///
/// **Convolutions (a model, not yet checked against Verilator; aligned with the conv hardware
/// merged on main, `ConvConfig`/`makeConv`: `B = ceil(Cin / min(Cin, 64))` beats per input vector,
/// the gather reads `k*k*B` window beats per output vector).** The conv hardware as specified there is event-driven: for each output
/// position and time step, the non-zero input counts of the `k x k` window (over `Cin * k * k`
/// channels) become events, and each event adds its weight row into the `Cout` accumulators over
/// `G = ceil(Cout / P)` cycles; a 1x1 strided conv skips off-grid positions (it computes only
/// the `Hc x Wc` on-grid ones); the pool works on currents before the LIF, so the conv computes
/// every pre-pool position. So one output vector (position, time step) costs
/// `max(E * G, k*k*B, G) + convVectorOverhead` cycles, `E = rate x (valid taps x Cin)` the mean window
/// events (a vector with no events still drains its `G` groups through the LIF), and the layer
/// accepts one input beat per cycle (`T x H x W x B` per image). Per image: `T x Hc x Wc` vectors plus
/// `imageOverhead`.
///
/// **Stem.** It multiplies pixels by weights once per position (the image is the same at every
/// time step) with `P` multipliers computing `P` outputs at a time: `Cin * 9 * ceil(Cout / P)`
/// cycles per position, then the LIF
/// runs the `T` steps of each pooled position over `G` groups.
///
/// **Head.** Count sums of the `N x T` input vectors (one beat per cycle), then `classes x C`
/// multiply-accumulates, one per cycle (`HeadAccelerator`; it has no lanes).
///
/// **Blocks.** The existing block models (`BlockRateCycleModel` for QKTA and QKCA blocks,
/// `SSACycleModel` beside the MLP's for SSA blocks; docs/estimate-cycles.md) on the block
/// hardware the generator folds with `Folding(lanes: P)`, at the section's tokens and the
/// layer's rates.
public struct NetworkCycleModel: Sendable {
    public static let convVectorOverhead = 1
    public static let imageOverhead = 16
    public static let modelStatus = "model aligned with the conv, stem and head hardware merged on main (da01568) from their structure, not yet checked against Verilator"
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
        case .head: return 1
        }
    }

    /// Steady-state cycles per image of layer `i` at `lanes` (and how: "model" or the block model's source).
    public func cycles(_ i: Int, lanes p: Int) throws -> Double {
        let l = layers[i], r = rates[i], T = Double(l.timeSteps)
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
            // The gather reads the window's k*k taps, B beats each, from the line buffer.
            let B = Double((g.inChannels + Self.inputChunk(g.inChannels) - 1) / Self.inputChunk(g.inChannels))
            let perVector = max(events * G, Double(g.kernel * g.kernel) * B, G) + Double(Self.convVectorOverhead)
            let vectors = T * Double(g.convPositions)
            return max(vectors * perVector, T * Double(g.inHeight * g.inWidth) * B) + Double(Self.imageOverhead)
        case .head:
            // Count sums one input beat per cycle, then one multiply-accumulate per cycle (the head has no lanes).
            let C = l.input.channels, B = Double((C + Self.inputChunk(C) - 1) / Self.inputChunk(C))
            return Double(l.input.tokens) * T * B + Double(l.classes * C) + Double(Self.imageOverhead)
        case .block:
            return try blockCycles(i, lanes: p)
        }
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
        cycles = try lanes.indices.map { i in try cache?.cycles(i, lanes[i]) ?? model.cycles(i, lanes: lanes[i]) }
        fill = lanes.indices.map(model.fillFraction)
    }
}

/// Memoised `NetworkCycleModel.cycles` (the block models simulate synthetic samples; blocks of
/// one stage share a shape, so they share entries).
public final class LaneCycleCache: @unchecked Sendable {
    let model: NetworkCycleModel
    var table: [String: Double] = [:]
    let lock = NSLock()
    public init(_ model: NetworkCycleModel) { self.model = model }

    func key(_ i: Int, _ p: Int) -> String {
        let l = model.layers[i]
        if let b = l.block {
            let r = model.rates[i]
            return "block s\(b.stage) \(b.attention.rawValue) C\(b.dim) N\(b.tokens) in\(r.input) P\(p)"
        }
        return "\(l.name) P\(p)"
    }

    public func cycles(_ i: Int, _ p: Int) throws -> Double {
        let k = key(i, p)
        lock.lock(); let hit = table[k]; lock.unlock()
        if let v = hit { return v }
        let v = try model.cycles(i, lanes: p)
        lock.lock(); table[k] = v; lock.unlock()
        return v
    }
}
