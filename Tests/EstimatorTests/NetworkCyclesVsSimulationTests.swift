import Blocks
@testable import Cosim
import Description
import Estimator
import Foundation
import Golden
import HDL
import Testing

/// The network cycle model's convs, stem and head (`NetworkCycleModel.cycles`) against Verilator:
/// every conv of small cifar, imagenet and dvs networks, their stems and heads, each generated
/// alone and driven with the golden model's stream before it (no stalls), its steady-state cycles
/// per image measured over three copies of the image. The model gets each conv's measured input rate (non-zero counts of the
/// stream it reads), as `estimate` gets its assumed ones. The blocks' models are checked in
/// docs/estimate-cycles.md; this is the rest of the pipeline (docs/estimate-network.md).
@Suite(.serialized) struct NetworkCyclesVsSimulationTests {
    /// The inputs of the convs of `part` in `pipelineLayers` order (a chain's in order, a fork's
    /// main branch before its shortcut), read from the golden trace; returns the part's output.
    static func convInputs(_ part: Part, _ trace: PartTrace, input: SpikeTensor, into out: inout [SpikeTensor]) -> SpikeTensor {
        switch (part, trace) {
        case (.conv, .conv(let t)):
            out.append(input)
            return t.output
        case (.chain(let ps), .chain(let ts)):
            var x = input
            for (p, t) in zip(ps, ts) { x = convInputs(p, t, input: x, into: &out) }
            return x
        case (.fork(let m, let s), .fork(let mt, let st, let o)):
            _ = convInputs(m, mt, input: input, into: &out)
            _ = convInputs(s, st, input: input, into: &out)
            return o
        default:
            Issue.record("a patch embedding part with no conv model: \(part)")
            return trace.output
        }
    }

    static func nonZeroRate(_ x: SpikeTensor) -> Double {
        Double(x.scalars.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }) / Double(max(x.scalars.count, 1))
    }

    /// The steady-state cycles per image of a module fed the same image's `beats` three times
    /// back to back (offered every cycle, `m_axis` always ready): the cycles between the last
    /// output beat of the first image and that of the third, halved. What the model predicts.
    static func measure(_ module: Module, beats: [NetworkCosim.Beat], outputs: Int, name: String) throws -> Int {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-netcycles-\(getpid())-\(name)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let driver = try PortDriver.verilator(try Elaborate.run(module), directory: dir)
        // Three copies back to back, no stalls, through the cosim's own driving loop.
        var o = NetworkCosim.Options()
        (o.inputStall, o.outputStall) = (0, 0)
        var ends: [Int] = []
        let run = NetworkCosim.drive(driver, beats: beats + beats + beats, outputs: 3 * outputs, seed: 1, options: o, idleLimit: 1_000_000) { k in
            if (k + 1) % outputs == 0 { ends.append(driver.cycle) }
        }
        let received = run.received
        try #require(ends.count == 3, "\(name) stuck after \(received) of \(3 * outputs) output beats")
        return (ends[2] - ends[0]) / 2
    }

    @Test func cifarConvStemAndHeadWithinTenPercentOfVerilator() throws {
        // Lanes that leave several groups per conv (G = Cout / P from 2 to 6), and a stem of 3 multipliers.
        try Self.check("""
            {"block": "network", "embedding": "cifar", "dims": [16, 24], "heads": [2, 3], "depths": [1, 1],
             "image": [16, 12], "classes": 10, "timeSteps": 2}
            """, folding: NetworkFolding(lanes: 4, stemMultipliers: 3), seed: TestSeed.value(default: 7))
    }

    /// The imagenet embedding: strided convs and pools in every patch embedding, odd lanes.
    @Test func imagenetConvStemAndHeadWithinTenPercentOfVerilator() throws {
        try Self.check("""
            {"block": "network", "embedding": "imagenet", "dims": [12, 20], "heads": [2, 2], "depths": [1, 1],
             "image": [32, 24], "classes": 7, "timeSteps": 3}
            """, folding: NetworkFolding(sectionLanes: ["patch_embed1": 5, "patch_embed2": 3], stemMultipliers: 2),
            seed: TestSeed.value(default: 9))
    }

    /// The dvs embedding: DVS frames (no stem), its first conv reading whole frame vectors.
    @Test func dvsConvsAndHeadWithinTenPercentOfVerilator() throws {
        try Self.check("""
            {"block": "network", "embedding": "dvs", "dims": [16, 24], "heads": [2, 3], "depths": [1, 1],
             "image": [16, 16], "inChannels": 2, "classes": 11, "timeSteps": 2}
            """, folding: NetworkFolding(lanes: 6), seed: TestSeed.value(default: 11))
    }

    static func check(_ json: String, folding: NetworkFolding, seed: UInt64) throws {
        print("NetworkCyclesVsSimulationTests seed \(seed)")
        let n = try NetworkDescription.random(try NetworkConfig.parse(json: Data(json.utf8)), seed: seed)
        let hw = try NetworkHardware(n, folding: folding)
        let image = NetworkCosim.randomImages(n.image, count: 1, seed: seed).first
        let frames = NetworkCosim.randomFrames(n.image, count: 1, seed: seed).first
        let trace = try image.map { try GoldenNetwork(n).run(image: $0) } ?? GoldenNetwork(n).run(frames: try #require(frames))

        var rates = n.layerRates()
        let layers = n.pipelineLayers
        var rows: [(name: String, lanes: Int, rate: Double, measured: Int, model: Double, stridedPointwise: Bool)] = []
        var pending: [(index: Int, lanes: Int, inputLanes: Int, module: Module, beats: [NetworkCosim.Beat], outputs: Int)] = []
        // The folding as the estimator sees it (each layer's lanes), read off the hardware built.
        var folded = [Int](repeating: 0, count: layers.count)

        var stream: SpikeTensor
        var layerIndex = 0
        if let sc = hw.stem, let image {
            folded[0] = sc.lanes
            pending.append((0, sc.lanes, n.image.channels, try makeStem(sc), NetworkCosim.pixelBeats(sc, image),
                            sc.outputFormat.beats * sc.outputFormat.timeSteps * sc.outputTokens))
            stream = try #require(trace.stem).output
            layerIndex = 1
        } else {
            stream = try #require(frames)
        }
        for (k, (sec, sh)) in zip(n.sections, hw.sections).enumerated() {
            let st = trace.sections[k].trace
            defer { stream = st.output; if sec.block != nil { layerIndex += 1 } }
            guard sec.block == nil else { folded[layerIndex] = sh.output.lanes; continue }
            var inputs: [SpikeTensor] = []
            _ = Self.convInputs(sec.body, st, input: stream, into: &inputs)
            try #require(inputs.count == sh.convs.count, "\(sec.name): \(inputs.count) conv inputs in the trace, \(sh.convs.count) convs built")
            for (x, cc) in zip(inputs, sh.convs) {
                #expect(layers[layerIndex].kind == .conv && layers[layerIndex].section == sec.name, "\(layers[layerIndex].name) is not \(cc.name)")
                rates[layerIndex].input = Self.nonZeroRate(x)
                let out = cc.outputFormat
                folded[layerIndex] = cc.lanes
                pending.append((layerIndex, cc.lanes, cc.inputChunk, try makeConv(cc), NetworkCosim.countBeats(cc.inputFormat, x),
                                out.beats * out.timeSteps * cc.outputTokens))
                layerIndex += 1
            }
        }
        #expect(layers[layerIndex].kind == .head)
        folded[layerIndex] = hw.head.lanes
        pending.append((layerIndex, hw.head.lanes, hw.head.lanes, try makeHead(hw.head), NetworkCosim.countBeats(hw.head.inputFormat, stream), hw.head.classes))

        let model = NetworkCycleModel(n, rates: rates)
        for p in pending {
            // The estimator knows which beats each layer reads, as the hardware was built.
            if layers[p.index].kind != .stem {
                #expect(model.inputLanes(p.index, lanes: folded) == p.inputLanes, "\(layers[p.index].name) reads beats of \(p.inputLanes) counts, not \(model.inputLanes(p.index, lanes: folded))")
            }
            let measured = try Self.measure(p.module, beats: p.beats, outputs: p.outputs, name: layers[p.index].name)
            let predicted = try model.cycles(p.index, lanes: p.lanes, inputLanes: model.inputLanes(p.index, lanes: folded))
            let g = layers[p.index].conv
            rows.append((layers[p.index].name, p.lanes, rates[p.index].input, measured, predicted,
                         layers[p.index].kind == .conv && g!.kernel == 1 && g!.stride > 1))
        }
        print("| layer | lanes | input rate | measured cycles | model | error |")
        print("|---|---:|---:|---:|---:|---:|")
        var worst = 0.0, worstOther = 0.0
        for r in rows {
            let e = (r.model - Double(r.measured)) / Double(r.measured)
            worst = max(worst, abs(e))
            if !r.stridedPointwise { worstOther = max(worstOther, abs(e)) }
            print(String(format: "| %@ | %d | %.3f | %d | %.0f | %+.2f%% |", r.name, r.lanes, r.rate, r.measured, r.model, 100 * e))
            if r.stridedPointwise {
                // A strided 1x1 conv (a shortcut): its two-token line buffer makes the model read the
                // off-grid tokens between outputs, not under them; the RTL hides part of that behind
                // the accumulator. The model is an upper bound there, within 25% (docs/estimate-network.md).
                #expect(e >= 0 && e <= 0.25, "\(r.name): model \(r.model) cycles, Verilator \(r.measured) (seed \(seed))")
            } else {
                #expect(abs(e) <= 0.10, "\(r.name): model \(r.model) cycles, Verilator \(r.measured) (seed \(seed))")
            }
        }
        print(String(format: "worst error %.2f%% over %d layers; %.2f%% outside strided 1x1 convs", 100 * worst, rows.count, 100 * worstOther))
        #expect(rows.count == layers.count - n.sections.filter { $0.block != nil }.count)
    }
}
