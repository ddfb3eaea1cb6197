import Foundation
import XCTest
import Description
@testable import Estimator

/// The network estimate (docs/estimate-network.md): layer list, work and energy, cycles,
/// the folding chooser and report.html. Expected values are worked out by hand here from the
/// network's shapes, not read from the code's output.
final class NetworkEstimateTests: XCTestCase {
    /// A small cifar network: 8x8 image, stage 1 (C = 16, QKTA, 64 tokens) and stage 2 (C = 32,
    /// SSA, 16 tokens), T = 2.
    static func tiny() throws -> NetworkDescription {
        let json = #"{"embedding": "cifar", "dims": [16, 32], "heads": [2, 2], "depths": [1, 1], "image": [8, 8], "classes": 10, "timeSteps": 2}"#
        return try NetworkDescription.random(try NetworkConfig.parse(json: Data(json.utf8)), seed: 3)
    }

    func testLayersInStreamOrder() throws {
        let n = try Self.tiny()
        let names = n.pipelineLayers.map(\.name)
        XCTAssertEqual(names, ["stem", "patch_embed1.conv2", "patch_embed1.shortcut", "stage1.block0",
                               "patch_embed2.conv1", "patch_embed2.conv2", "patch_embed2.shortcut", "stage2.block0", "head"])
        let l = n.pipelineLayers
        XCTAssertTrue(l[2].shortcut)
        XCTAssertFalse(l[5].readsSectionInput)  // conv2 reads conv1's spikes
        XCTAssertTrue(l[6].readsSectionInput)  // the shortcut reads the section input
        // Stage 2's conv1: 16 -> 32 channels, 3x3 at 8x8, no pool; conv2 pools to 4x4.
        XCTAssertEqual(l[4].conv!.convPositions, 64)
        XCTAssertEqual(l[5].conv!.outPositions, 16)
        XCTAssertEqual(l[7].block!.tokens, 16)
    }

    func testValidTapsOfAPaddedConv() {
        // 3x3, padding 1, stride 1 on 4 pixels: taps per output 2, 3, 3, 2 -> 10 per axis.
        XCTAssertEqual(ConvGeometry.validTaps(n: 4, out: 4, k: 3, s: 1, p: 1), 10)
        // 1x1 stride 2 on 8: 4 outputs, one tap each.
        XCTAssertEqual(ConvGeometry.validTaps(n: 8, out: 4, k: 1, s: 2, p: 0), 4)
    }

    func testWorkTheTwoWays() throws {
        let n = try Self.tiny()
        let rates = n.layerRates()
        let work = n.synapticWork(rates: rates)
        // Stem: 3 -> 8 channels (dims[0] / 2), 3x3 on 8x8, T = 2.
        let stem = work.first { $0.name == "stem.conv1" }!
        let stemDense: Double = 8 * 8 * 8 * 3 * 9 * 2
        XCTAssertEqual(stem.paperMACs, stemDense)  // dense FLOPs x T
        // Valid taps on 8 pixels, padding 1: 2 + 3 * 6 + 2 = 22 per axis -> 484 pairs, once (not per step).
        let stemValid: Double = 484 * 3 * 8
        XCTAssertEqual(stem.hardwareMACs, stemValid)
        XCTAssertEqual(stem.paperACs, 0)
        // Block q layer: every input event adds a row of C = 16 weights, N = 64 tokens, T = 2.
        let q = work.first { $0.name == "stage1.block0.q" }!
        let r = rates[3].input
        let qDense: Double = 2 * 64 * 16 * 16
        XCTAssertEqual(q.hardwareACs, r * qDense, accuracy: 1e-6)
        XCTAssertEqual(q.paperACs, q.hardwareACs, accuracy: 1e-6)
        // fc2 reads fc1's spikes at Table 7's stage-1 rate 0.0518: 64 x 64 x 16 dense MACs.
        let fc2 = work.first { $0.name == "stage1.block0.fc2" }!
        let fc2Dense: Double = 2 * 64 * 64 * 16
        XCTAssertEqual(fc2.paperACs, 0.0518 * fc2Dense, accuracy: 1e-6)
        XCTAssertTrue(fc2.rateFromPaper)
        // The paper's energy: 0.9 pJ per AC, 4.6 pJ per MAC, nothing else.
        let e = NetworkEnergy(work: work)
        let acs = work.reduce(0) { $0 + $1.paperACs }, macs = work.reduce(0) { $0 + $1.paperMACs }
        XCTAssertEqual(e.paperMillijoules, (acs * 0.9 + macs * 4.6) * 1e-9, accuracy: 1e-12)
        // With memory traffic it costs more than the bare operations.
        XCTAssertGreaterThan(e.hardwareMillijoules, e.paperMillijoules - stem.paperMACs * 4.6e-9)
    }

    func testRatesChainThroughSEWSums() throws {
        let n = try Self.tiny()
        let r = n.layerRates()
        // cifar stage 1: conv2 and the shortcut both write 0.2; the block reads their SEW sum.
        XCTAssertEqual(r[3].input, 1 - 0.8 * 0.8, accuracy: 1e-12)
        // x1 = x + Attn(x) with Table 7's X'' 0.1478, x2 = x1 + MLP with fc2 0.2733.
        let x1 = 1 - (1 - r[3].input) * (1 - 0.1478)
        XCTAssertEqual(r[3].output, 1 - (1 - x1) * (1 - 0.2733), accuracy: 1e-12)
    }

    func testConvCyclesFromTheWindowEvents() throws {
        let n = try Self.tiny()
        var rates = n.layerRates()
        let m0 = NetworkCycleModel(n, rates: rates)
        // patch_embed2.conv1: 16 -> 32, 3x3 on 8x8, T = 2, one 16-count beat per input vector. At rate 0
        // every output vector still gathers its 9 window beats (more than its G = 4 drain groups).
        rates[4].input = 0
        let m = NetworkCycleModel(n, rates: rates)
        // The first window (padding 1) waits for tokens 0...W+1 = 0...9, T x 1 beats each; every later
        // window's tokens arrive while the one before is gathered.
        let fill: Double = 10 * 2
        let idle: Double = fill + 2 * 64 * (9 + 1) + 16
        XCTAssertEqual(try m.cycles(4, lanes: 8), idle)
        // At rate 0.5: E = 0.5 * 22 * 22 * 16 / 64 = 60.5 events per window, G = 4.
        rates[4].input = 0.5
        let h = NetworkCycleModel(n, rates: rates)
        let perVector: Double = 60.5 * 4 + 1
        let busy: Double = fill + 2 * 64 * perVector + 16
        XCTAssertEqual(try h.cycles(4, lanes: 8), busy, accuracy: 1e-9)
        // More lanes, fewer cycles, for every layer.
        for i in m0.layers.indices {
            XCTAssertGreaterThanOrEqual(try m0.cycles(i, lanes: 1), try m0.cycles(i, lanes: m0.maxLanes(i)), m0.layers[i].name)
        }
    }

    /// The cycles of the layers of lane group `g` at `p` lanes, the rest of the pipeline at
    /// `lanes` (a layer's input beats come from the layer before it).
    static func groupCycles(_ cache: LaneCycleCache, _ lanes: [Int], _ g: [Int], _ p: Int) throws -> [Double] {
        let m = cache.model
        var trial = lanes
        for i in g { trial[i] = min(p, m.maxLanes(i)) }
        return try g.map { try cache.cycles($0, trial[$0], inputLanes: m.inputLanes($0, lanes: trial)) }
    }

    func testBudgetFoldingIsBalancedAndWithinBudget() throws {
        let n = try Self.tiny()
        let model = NetworkCycleModel(n, rates: n.layerRates())
        let cache = LaneCycleCache(model)
        let one = PipelineFolding.uniform(1, model: model)
        let widest = model.layers.indices.map { model.maxLanes($0) }
        func luts(_ lanes: [Int]) -> Int { lanes.indices.reduce(0) { $0 + model.resources($1, lanes: lanes[$1]).luts } }
        // A budget between the narrowest and the widest folding.
        let budget = (luts(one.lanes) + luts(widest)) / 2
        let f = try PipelineFolding.budget(budget, cache: cache)
        XCTAssertTrue(f.feasible)
        XCTAssertLessThanOrEqual(luts(f.lanes), budget)
        let cycles = try f.lanes.indices.map { try cache.cycles($0, f.lanes[$0]) }
        let rate = cycles.max()!
        // Balanced: no lane group (layers that share lanes) has more lanes than it needs to keep up with the slowest.
        for g in PipelineFolding.laneGroups(model) {
            let c = PipelineFolding.candidates(max: g.map { model.maxLanes($0) }.max()!)
            let k = c.firstIndex(of: g.map { f.lanes[$0] }.max()!)!
            if k > 0 {
                XCTAssertTrue(try Self.groupCycles(cache, f.lanes, g, c[k - 1]).contains { $0 > rate },
                              "\(g.map { model.layers[$0].name }) is wider than it needs")
            }
        }
        // And no faster balanced folding on the candidate grid fits the budget.
        var faster: Set<Double> = []
        for i in model.layers.indices { for p in PipelineFolding.candidates(max: model.maxLanes(i)) { faster.insert(try cache.cycles(i, p)) } }
        for t in faster where t < rate {
            let pick = try PipelineFolding.fewestLanes(meeting: t, cache: cache)
            guard pick.allSatisfy({ $0 != nil }) else { continue }
            XCTAssertGreaterThan(luts(pick.map { $0! }), budget, "a faster balanced folding (\(t) cycles) fits the budget")
        }
        // Far too small a budget: reported as not met.
        XCTAssertFalse(try PipelineFolding.budget(10, cache: cache).feasible)
    }

    func testTargetFPSMeetsTheRateWithFewestLanes() throws {
        let n = try Self.tiny()
        let model = NetworkCycleModel(n, rates: n.layerRates())
        let cache = LaneCycleCache(model)
        let clock = 100.0
        // A rate the uniform 4-lane folding just reaches.
        let u = try PipelineTiming(model: model, lanes: PipelineFolding.uniform(4, model: model).lanes, cache: cache)
        let fps = clock * 1e6 / u.cyclesPerImage
        let f = try PipelineFolding.targetFPS(fps, clockMHz: clock, cache: cache)
        XCTAssertTrue(f.feasible)
        let t = try PipelineTiming(model: model, lanes: f.lanes, cache: cache)
        XCTAssertLessThanOrEqual(t.cyclesPerImage, clock * 1e6 / fps * (1 + 1e-12))
        // Fewest: one candidate fewer for a lane group (layers that share lanes) misses the rate in one of its layers.
        let groups = PipelineFolding.laneGroups(model)
        XCTAssertEqual(groups.flatMap { $0 }.sorted(), Array(model.layers.indices), "every layer in exactly one group")
        for g in groups {
            let c = PipelineFolding.candidates(max: g.map { model.maxLanes($0) }.max()!)
            let p = g.map { f.lanes[$0] }.max()!
            for i in g { XCTAssertEqual(f.lanes[i], min(p, model.maxLanes(i)), "a group shares its lanes") }
            let k = c.firstIndex(of: p)!
            if k > 0 {
                XCTAssertTrue(try Self.groupCycles(cache, f.lanes, g, c[k - 1]).contains { $0 > clock * 1e6 / fps },
                              "\(g.map { model.layers[$0].name }) could take \(c[k - 1]) lanes")
            }
        }
        // The hardware's constraints: an embedding's output convs (main and shortcut, added beat to beat)
        // share lanes, and so do the blocks of a stage; a lane converter frees a block from the conv before it.
        // The head reads the last stage's beats as they come.
        let names = groups.filter { $0.count > 1 }.map { $0.map { model.layers[$0].name } }
        XCTAssertEqual(names, [["patch_embed1.conv2", "patch_embed1.shortcut"], ["patch_embed2.conv2", "patch_embed2.shortcut"],
                               ["stage2.block0", "head"]])
        // FINN's rule: no layer wider than the uniform folding that sets the rate needs.
        XCTAssertLessThanOrEqual(f.lanes.indices.reduce(0) { $0 + model.resources($1, lanes: f.lanes[$1]).luts },
                                 u.lanes.indices.reduce(0) { $0 + model.resources($1, lanes: u.lanes[$1]).luts })
    }

    func testMemoryOfHST4384ExceedsTheXCZU7EV() throws {
        let n = try NetworkDescription.random(try NetworkConfig.named("hst-4-384"), seed: 1)
        let model = NetworkCycleModel(n, rates: n.layerRates())
        let res = model.layers.indices.map { model.resources($0, lanes: 1) }
        let weights = res.reduce(0) { $0 + $1.weightBits }
        // Weights at 8 bits: every layer's parameters, counted from the description.
        let params = n.pipelineLayers.reduce(0) { $0 + $1.weights }
        XCTAssertEqual(weights, params * 8)
        XCTAssertGreaterThan(weights, FPGADevice.xczu7ev.memoryBits)
        // The paper lists HST-4-384 at 6.74 M parameters (biases and BatchNorm included).
        XCTAssertEqual(Double(params) / 1e6, 6.74, accuracy: 0.1)
        // Stem MACs, paper's way: 32 x 32 positions x 48 outputs x 27 taps x T = 4.
        let stem = n.synapticWork(rates: n.layerRates()).first { $0.name == "stem.conv1" }!
        let hstStem: Double = 32 * 32 * 48 * 27 * 4
        XCTAssertEqual(stem.paperMACs, hstStem)
    }
}
