import Foundation
import Description
import Blocks
import HDL

/// Resources of one pipeline layer at a folding. LUTs and FFs are a per-lane **model** (the
/// conv hardware is not built yet, and elaborating every block at every candidate folding is
/// too slow for a chooser); memory bits are counted from the structure.
public struct LayerResources: Sendable, Hashable, Codable {
    public var luts: Int
    public var flipFlops: Int
    public var dsps: Int
    /// Weights at `weightBits`.
    public var weightBits: Int
    /// Conv line buffers (and the pool's current rows), QKCA/SSA sample buffers.
    public var bufferBits: Int
    /// LIF membranes, accumulators kept in memory, head count sums.
    public var stateBits: Int
    /// FIFOs: residual joins of blocks, the shortcut of a patch embedding.
    public var fifoBits: Int
    public var memoryBits: Int { weightBits + bufferBits + stateBits + fifoBits }
    /// 36 Kbit block RAMs if every memory kind of the layer were packed alone (a lower bound).
    public var bram36: Int { [weightBits, bufferBits, stateBits, fifoBits].reduce(0) { $0 + ($1 + 36_863) / 36_864 } }
    public var source: String

    public static func + (a: LayerResources, b: LayerResources) -> LayerResources {
        LayerResources(luts: a.luts + b.luts, flipFlops: a.flipFlops + b.flipFlops, dsps: a.dsps + b.dsps, weightBits: a.weightBits + b.weightBits,
                       bufferBits: a.bufferBits + b.bufferBits, stateBits: a.stateBits + b.stateBits, fifoBits: a.fifoBits + b.fifoBits,
                       source: a.source)
    }
    public static let zero = LayerResources(luts: 0, flipFlops: 0, dsps: 0, weightBits: 0, bufferBits: 0, stateBits: 0, fifoBits: 0, source: "")
}

/// The per-lane LUT and FF model of one accumulating layer (accumulators, weight-memory read
/// port, LIF bank, control) of `C` output channels at `P` lanes:
/// `LUT = lutBase + lutPerChannel * C + lutPerLane * P`, the same form for FFs. Least squares
/// of the relative error over `ResourceModel` (the IR resource estimate, docs/estimate-accuracy.md) of seven generated
/// hst-4-384 QKFormer blocks (stage 1 at P = 4, 12, 24, 48; stage 2 at P = 12, 48; stage 3 SSA
/// at P = 24), each block counted as its five (SSA: six) accumulating layers at the generator's
/// lanes (`q`, `k`, (`v`,) `proj` at P, `fc2` at `defaultMLPLanes`, `fc1` at `defaultHiddenLanes`).
/// The fit is within 11% of those seven LUT figures and 6% of the FF ones (refitted 2026-12-08,
/// session 10, after two-bit counts multiply in logic and the MLP's one-group banks were
/// pipelined; docs/estimate-network.md).
/// A conv, the stem and the head use the same per-layer line (their hardware is not built yet).
public struct LaneCostModel: Sendable, Hashable, Codable {
    public var lutBase = -443.7, lutPerChannel = 13.48, lutPerLane = 127.0
    public var ffBase = -822.3, ffPerChannel = 22.77, ffPerLane = 162.6
    public var source = "per-lane model fitted on ResourceModel of 7 generated hst-4-384 blocks (LUT within 11%, FF within 6% of them): per accumulating layer of C output channels LUT = -444 + 13.5 C + 127 P, FF = -822 + 22.8 C + 163 P"
    public init() {}

    func layer(_ p: Int, channels c: Int) -> (luts: Double, ffs: Double) {
        (max(0, lutBase + lutPerChannel * Double(c) + lutPerLane * Double(p)), max(0, ffBase + ffPerChannel * Double(c) + ffPerLane * Double(p)))
    }
}

extension NetworkCycleModel {
    /// The lanes of a block's layers the generator uses at attention lanes `p`.
    func blockLanes(_ b: BlockConfig, _ p: Int) -> [Int] {
        let P = min(p, b.dim)
        let fc2 = defaultMLPLanes(lanes: P, channels: b.dim, mlpRatio: b.mlpRatio)
        let fc1 = defaultHiddenLanes(lanes: P, channels: b.dim, mlpRatio: b.mlpRatio)
        return (b.attention == .ssa ? [P, P, P, P] : [P, P, P]) + [fc2, fc1]
    }

    /// Resources of layer `i` at `lanes` under `cost`.
    public func resources(_ i: Int, lanes p: Int, cost: LaneCostModel = LaneCostModel()) -> LayerResources {
        let l = layers[i], T = l.timeSteps
        let wb = network.config.quantization.weightBits
        let membrane = 16, accumulator = 16
        let (lut, ff) = cost.layer(l.kind == .head ? 1 : p, channels: l.kind == .head ? l.input.channels : (l.conv?.outChannels ?? l.block?.dim ?? 1))
        switch l.kind {
        case .stem:
            let g = l.conv!
            let pixelBits: Int
            if case .pixels(let b, _) = network.image.kind { pixelBits = b } else { pixelBits = 8 }
            return LayerResources(luts: Int(lut), flipFlops: Int(ff), dsps: p, weightBits: l.weights * wb,
                                  bufferBits: g.kernel * g.inWidth * g.inChannels * pixelBits + (g.pool ? 2 * g.convWidth * g.outChannels * (accumulator + pixelBits) : 0),
                                  stateBits: g.outChannels * membrane, fifoBits: 0, source: cost.source + "; DSPs: one per multiplier")
        case .conv:
            let g = l.conv!
            let cb = countBits(l.input.maxCount)
            let line = g.kernel > 1 ? g.kernel * g.inWidth * T * g.inChannels * cb : 0
            let pool = g.pool ? 2 * g.convWidth * T * g.outChannels * accumulator : 0
            // A shortcut's spikes wait in a FIFO for the main chain: about two output rows.
            let fifo = l.shortcut ? 2 * g.outWidth * T * g.outChannels : 0
            return LayerResources(luts: Int(lut), flipFlops: Int(ff), dsps: 0, weightBits: l.weights * wb, bufferBits: line + pool,
                                  stateBits: g.outChannels * membrane, fifoBits: fifo, source: cost.source)
        case .head:
            let C = l.input.channels
            let sumBits = countBits(l.input.maxCount * l.input.tokens * T)
            // One accumulating layer's line at one lane, plus the count-sum adders of the `p` counts per beat.
            return LayerResources(luts: Int(lut) + min(p, C) * sumBits, flipFlops: Int(ff), dsps: 1, weightBits: l.weights * wb, bufferBits: 0,
                                  stateBits: C * sumBits + l.classes * 32, fifoBits: 0,
                                  source: cost.source + "; the head at one lane plus \(sumBits)-bit adders per count of a beat; DSPs: its one multiplier")
        case .block:
            let b = l.block!, C = b.dim, N = b.tokens
            let lanes = blockLanes(b, p)
            // Each layer at its own output channels, as the line was fitted: fc1 (the last) has
            // mlpRatio x C, the others C.
            let channels = lanes.indices.map { $0 == lanes.count - 1 ? b.mlpRatio * C : C }
            let luts = zip(lanes, channels).reduce(0.0) { $0 + cost.layer($1.0, channels: $1.1).luts }
            let ffs = zip(lanes, channels).reduce(0.0) { $0 + cost.layer($1.0, channels: $1.1).ffs }
            let cb = countBits(l.input.maxCount)
            let neurons = (b.attention == .ssa ? 4 : 3) * C + b.mlpRatio * C + C
            var buffer = 0, fifo = 2 * 4 * C * (cb + 1)
            switch b.attention {
            case .token: break
            case .channel: buffer = N * T * C; fifo = (N * T + 3) * C * cb + 4 * C * (cb + 1)
            case .ssa: buffer = 2 * N * T * C * 2; fifo = N * T * C * cb + 4 * C * (cb + 1)
            }
            // Counts of three bits or more are multiplied (two-bit ones are a shift-and-add,
            // `SpikeAccumulatorPipeline.shiftAddProduct`): on the block input the q, k (and v)
            // lanes, on x1 (the input plus the attention's spikes, up to maxCount + 1) fc1's.
            func multiplies(_ maxCount: Int) -> Bool { SpikeAccumulatorPipeline(groups: 1, countWidth: countBits(maxCount)).multiplies }
            let m = l.input.maxCount, inputLayers = b.attention == .ssa ? 3 : 2
            let dsps = (multiplies(m) ? lanes[0..<inputLayers].reduce(0, +) : 0) + (multiplies(m + 1) ? lanes.last! : 0)
            return LayerResources(luts: Int(luts), flipFlops: Int(ffs), dsps: dsps, weightBits: l.weights * wb, bufferBits: buffer,
                                  stateBits: neurons * membrane, fifoBits: fifo,
                                  source: cost.source)
        }
    }
}

/// How every layer of the pipeline is folded, and how the lanes were chosen.
public struct PipelineFolding: Sendable, Hashable, Codable {
    public enum Method: Sendable, Hashable, Codable {
        /// No folding flag: what `generate` builds by default (`hardwareDefault`).
        case hardwareDefault
        /// `--lanes P`: every layer alike (capped at the layer's width).
        case uniform(Int)
        /// `--target-fps F` at the clock: each layer's fewest lanes that meet the rate.
        case targetFPS(Double)
        /// `--budget LUTS`: the highest throughput whose LUT total fits.
        case lutBudget(Int)
    }
    public var method: Method
    public var lanes: [Int]
    /// Whether every layer meets the method's target (false: some layer cannot, even at its widest).
    public var feasible: Bool
    public var note: String

    /// Candidate lanes of a layer: 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256 up
    /// to its widest useful lanes, and that widest.
    public static func candidates(max m: Int) -> [Int] {
        let grid = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256].filter { $0 < m }
        return grid + [m]
    }

    /// What `generate` builds without folding flags (`NetworkFolding()`): each section at
    /// `C / 8` lanes of the channels it writes (at least 1), each conv at most its own width, the
    /// stem at `Cout / 8` multipliers, the head at the lanes of the section before it.
    public static func hardwareDefault(model: NetworkCycleModel) -> PipelineFolding {
        let n = model.network
        var lanes: [Int] = []
        for (i, l) in model.layers.enumerated() {
            switch l.kind {
            case .stem, .conv, .block:
                let written = l.sectionIndex.map { n.sections[$0].output.channels } ?? l.output.channels
                lanes.append(min(max(1, written / 8), model.maxLanes(i)))
            case .head:
                lanes.append(min(lanes.last ?? 1, model.maxLanes(i)))
            }
        }
        return PipelineFolding(method: .hardwareDefault, lanes: lanes, feasible: true,
                               note: "as generate builds without folding flags: each section at C/8 lanes of the channels it writes")
    }

    /// Every layer alike.
    public static func uniform(_ p: Int, model: NetworkCycleModel) -> PipelineFolding {
        PipelineFolding(method: .uniform(p), lanes: model.layers.indices.map { min(p, model.maxLanes($0)) }, feasible: true,
                        note: "every layer at min(P, its width)")
    }

    /// Layers that must share lanes, as the hardware builds them: the blocks of a stage read one
    /// another's beats, and the convs that write a patch embedding's output (the main chain's last
    /// and the shortcut) are added beat to beat, and the head reads the beats of the section before
    /// it; every other layer on its own (a conv reads beats
    /// of any lanes, and a lane converter regroups the beats in front of a block). Each member of
    /// a group runs at `min(P, its widest)`.
    public static func laneGroups(_ m: NetworkCycleModel) -> [[Int]] {
        var groups: [[Int]] = [], open: [Int] = []
        var key = ""
        for (i, l) in m.layers.enumerated() {
            // The head reads the last section's beats as they are: it joins that section's group.
            let k = l.kind == .block ? "blocks:" + (l.block.map { "\($0.stage)" } ?? l.section)
                : l.kind == .conv && l.writesSectionOutput ? "writers:" + l.section : l.kind == .head ? key : ""
            if k.isEmpty || k != key {
                if !open.isEmpty { groups.append(open) }
                open = []
            }
            key = k
            if k.isEmpty { groups.append([i]) } else { open.append(i) }
        }
        if !open.isEmpty { groups.append(open) }
        return groups.sorted { $0[0] < $1[0] }
    }

    /// Each layer's fewest candidate lanes whose cycles per image are at most `cycles`, a lane
    /// group at once (`laneGroups`); nil entries for layers that cannot reach it.
    static func fewestLanes(meeting cycles: Double, cache: LaneCycleCache) throws -> [Int?] {
        let m = cache.model
        var pick = [Int?](repeating: nil, count: m.layers.count)
        // Groups in stream order: a layer's input lanes come from layers already picked (a layer
        // that cannot meet the rate counts at its widest).
        var lanes = m.layers.indices.map { m.maxLanes($0) }
        for g in laneGroups(m) {
            let widest = g.map { m.maxLanes($0) }.max()!
            for p in candidates(max: widest) {
                var trial = lanes
                for i in g { trial[i] = min(p, m.maxLanes(i)) }
                guard try g.allSatisfy({ try cache.cycles($0, trial[$0], inputLanes: m.inputLanes($0, lanes: trial)) <= cycles }) else { continue }
                for i in g { pick[i] = trial[i] }
                lanes = trial
                break
            }
        }
        return pick
    }

    /// FINN's `target_fps`: every layer gets the fewest lanes that meet `fps` at `clockMHz`; none
    /// is wider than it needs. A layer that cannot meet it runs at its widest (then `feasible` is false).
    public static func targetFPS(_ fps: Double, clockMHz: Double, cache: LaneCycleCache) throws -> PipelineFolding {
        let budget = clockMHz * 1e6 / fps
        let pick = try fewestLanes(meeting: budget, cache: cache)
        let m = cache.model
        let lanes = pick.enumerated().map { $0.element ?? m.maxLanes($0.offset) }
        let short = pick.indices.filter { pick[$0] == nil }.map { m.layers[$0].name }
        return PipelineFolding(method: .targetFPS(fps), lanes: lanes, feasible: short.isEmpty,
                               note: short.isEmpty ? "each layer at the fewest lanes meeting \(fmt(budget)) cycles per image"
                                   : "cannot meet \(fmt(fps)) images/s: \(short.joined(separator: ", ")) at their widest")
    }

    /// The highest throughput whose LUT total fits `luts`: over every cycles-per-image value the
    /// candidate table offers, the smallest whose fewest-lanes folding fits. Balanced: every layer
    /// has the fewest lanes that meet the slowest layer's rate.
    public static func budget(_ luts: Int, cache: LaneCycleCache, cost: LaneCostModel = LaneCostModel()) throws -> PipelineFolding {
        let m = cache.model
        var targets: Set<Double> = []
        for i in m.layers.indices { for p in candidates(max: m.maxLanes(i)) { targets.insert(try cache.cycles(i, p)) } }
        func total(_ lanes: [Int]) throws -> Int { try lanes.indices.reduce(0) { $0 + (try m.resources($1, folding: lanes, cost: cost)).luts } }
        var best: [Int]? = nil
        for t in targets.sorted() {
            let pick = try fewestLanes(meeting: t, cache: cache)
            guard pick.allSatisfy({ $0 != nil }) else { continue }
            let lanes = pick.map { $0! }
            if try total(lanes) <= luts { best = lanes; break }
        }
        guard let lanes = best else {
            let ones = m.layers.map { _ in 1 }
            return PipelineFolding(method: .lutBudget(luts), lanes: ones, feasible: false,
                                   note: "even one lane per layer needs \(try total(ones)) LUTs (model), above the budget of \(luts)")
        }
        return PipelineFolding(method: .lutBudget(luts), lanes: lanes, feasible: true,
                               note: "the fastest balanced folding whose LUT estimate (model) fits \(luts)")
    }
}

/// A number for a report line: `%.4g`.
func fmt(_ v: Double) -> String { String(format: "%.4g", v) }

extension NetworkCycleModel {
    /// The lane converter `NetworkHardware` puts in front of block layer `i` at the folding
    /// `lanes` when the stream before it (its writer's beats) has other lanes than the block
    /// reads; nil where there is none (convs and the head read beats as they come).
    public func laneConverter(_ i: Int, lanes: [Int]) throws -> LaneConverterConfig? {
        let l = layers[i]
        guard l.kind == .block, let j = l.inputFrom else { return nil }
        let from = min(lanes[j], layers[j].output.channels)
        let reads = try blockHardware(i, lanes: lanes[i]).inputFormat
        guard reads.lanes != from else { return nil }
        var input = reads
        input.lanes = from
        return LaneConverterConfig(input: input, outputLanes: reads.lanes, name: "lanes_\(l.section.replacingOccurrences(of: ".", with: "_"))")
    }

    /// Layer `i`'s resources at the whole folding: `resources(_:lanes:cost:)` plus, for a block
    /// whose input stream has other lanes, its lane converter's LUTs and FFs from `ResourceModel`
    /// of the converter itself (elaborated once per shape).
    public func resources(_ i: Int, folding lanes: [Int], cost: LaneCostModel = LaneCostModel()) throws -> LayerResources {
        var r = resources(i, lanes: lanes[i], cost: cost)
        guard let c = try laneConverter(i, lanes: lanes) else { return r }
        let x = try ConverterCost.shared.count(c)
        r.luts += x.luts
        r.flipFlops += x.flipFlops
        r.source += "; plus its lane converter (\(c.input.lanes) to \(c.outputLanes) lanes): \(x.luts) LUT, \(x.flipFlops) FF from ResourceModel of the converter"
        return r
    }
}

/// `ResourceModel` of elaborated lane converters, memoised by shape (the folding search asks for
/// the same few many times).
final class ConverterCost: @unchecked Sendable {
    static let shared = ConverterCost()
    private var table: [LaneConverterConfig: ResourceCount] = [:]
    private let lock = NSLock()

    func count(_ c: LaneConverterConfig) throws -> ResourceCount {
        var key = c
        key.name = "lane_converter"
        lock.lock(); let hit = table[key]; lock.unlock()
        if let v = hit { return v }
        let v = ResourceModel.estimate(try Elaborate.run(try makeLaneConverter(key))).total
        lock.lock(); table[key] = v; lock.unlock()
        return v
    }
}
