import Foundation
import Description

/// An FPGA the network's totals are checked against.
public struct FPGADevice: Sendable, Hashable, Codable {
    public var name: String
    public var luts: Int, flipFlops: Int, dsps: Int
    /// On-chip memory bits (block RAM plus UltraRAM).
    public var memoryBits: Int
    public var source: String

    /// AMD Zynq UltraScale+ XCZU7EV: 230,400 LUTs, 460,800 FFs, 1,728 DSPs, 312 BRAM36 (11.0 Mbit)
    /// plus 96 UltraRAMs (27.0 Mbit): 38 Mbit on chip (AMD DS891, Zynq UltraScale+ MPSoC overview).
    public static let xczu7ev = FPGADevice(name: "xczu7ev", luts: 230_400, flipFlops: 460_800, dsps: 1_728,
                                           memoryBits: 312 * 36_864 + 96 * 294_912,
                                           source: "AMD DS891 (Zynq UltraScale+ MPSoC data sheet overview): 312 BRAM36 + 96 URAM288")
}

/// The whole network's estimate at one folding: per layer and in total, resources, cycles,
/// latency, throughput and energy (both ways), and every assumption behind them.
public struct NetworkEstimate: Sendable {
    public let model: NetworkCycleModel
    public let folding: PipelineFolding
    public let timing: PipelineTiming
    public let resources: [LayerResources]
    public let energy: NetworkEnergy
    public let clockMHz: Double
    /// "assumed" or "given (--clock-mhz)" and why.
    public let clockSource: String
    public let cost: LaneCostModel
    public let rateAssumptions: NetworkRateAssumptions
    public let device: FPGADevice

    public var layers: [NetworkLayer] { model.layers }
    public var rates: [LayerRates] { model.rates }

    public init(model: NetworkCycleModel, folding: PipelineFolding, cache: LaneCycleCache? = nil, clockMHz: Double, clockSource: String,
                energy parameters: EnergyParameters = EnergyParameters(), cost: LaneCostModel = LaneCostModel(),
                rateAssumptions: NetworkRateAssumptions = NetworkRateAssumptions(), device: FPGADevice = .xczu7ev) throws {
        self.model = model
        self.folding = folding
        timing = try PipelineTiming(model: model, lanes: folding.lanes, cache: cache)
        resources = try folding.lanes.indices.map { try model.resources($0, folding: folding.lanes, cost: cost) }
        energy = NetworkEnergy(work: model.network.synapticWork(rates: model.rates), parameters: parameters)
        (self.clockMHz, self.clockSource, self.cost, self.rateAssumptions, self.device) = (clockMHz, clockSource, cost, rateAssumptions, device)
    }

    public var total: LayerResources { resources.reduce(LayerResources.zero, +) }
    public var latencyMicroseconds: Double { timing.latencyCycles / clockMHz }
    public var imagesPerSecond: Double { clockMHz * 1e6 / max(timing.cyclesPerImage, 1) }

    /// Every assumption the figures rest on, one line each.
    public var assumptions: [String] {
        let a = rateAssumptions, e = energy.parameters
        var out = [
            "firing rates: QKFormer Table 7 (trained HST-10-768 on ImageNet, stages 1-2) for Q, K, A_t, X', X'' and the MLP's two layers (read as fc1 and fc2 output spikes); stage 3+ blocks use stage 2's",
            "firing rates: every conv LIF (stem, patch embeddings) writes \(fmt(a.convOutput)) (assumed; the paper gives no embedding rates)",
            "firing rates: a SEW sum of two streams is non-zero where either is, the two independent (block x1 and x2, embedding fork outputs)",
            "firing rates: SSA's Q, K, V and attention neuron \(fmt(a.ssa)) (assumed; the paper reports none)",
            "energy (paper's method): SOPs = input rate x T x dense FLOPs (MACs of one time step, padding taps included) at \(fmt(e.accumulate)) pJ/AC; the first layer (stem) FLOPs x T as MACs at \(fmt(e.multiplyAccumulate)) pJ/MAC",
            "energy (hardware): input events x fan-out ACs (padding taps excluded), the stem's MACs once per position (its pixels are the same at every time step), the head's count sums and classes x C MACs once per image, LIF updates at \(fmt(e.accumulate)) pJ each",
            "energy (hardware): memory traffic at \(fmt(e.memoryBit)) pJ/bit (\(e.source)): one weight read (weightBits) per AC or MAC, a \(energy.accumulatorBits)-bit accumulator read+write per AC, a \(energy.membraneBits)-bit membrane read+write per LIF update, conv line buffers written once and read once per window tap",
            "cycles: convs, stem and head: \(NetworkCycleModel.modelStatus); blocks: the block cycle models (docs/estimate-cycles.md) at each block's chained input rate",
            "latency: the slowest layer's cycles plus each layer's fill (one output row of a conv, one token of a QKTA block, the whole image of QKCA, SSA and the head); a model",
            "resources: LUTs and FFs: \(cost.source) (model, not synthesis), plus each block's lane converter where the stream before it has other lanes (ResourceModel of the elaborated converter); memory bits counted from the structure: weights at \(model.network.config.quantization.weightBits) bits, conv line buffers (k rows x W x T x Cin x count bits), pool rows of 16-bit currents, 16-bit LIF membranes, residual and shortcut FIFOs; BRAM36 as if each kind were packed alone",
            "clock: \(fmt(clockMHz)) MHz, \(clockSource)",
        ]
        if folding.lanes.count != layers.count { out.append("folding: lane count mismatch") }
        return out
    }

    /// What does not fit the device, one line each (empty: it fits).
    public var deviceProblems: [String] {
        let t = total
        var out: [String] = []
        if t.memoryBits > device.memoryBits {
            let mib = Double(1 << 20)
            out.append(String(format: "on-chip memory: %.1f Mbit (%.1f Mib) needed, of which weights %.1f Mbit at %d bits, exceeds the %@'s %.1f Mbit (%.1f Mib, the data sheet's 38 Mb of BRAM + URAM): the weights must stream from off-chip memory, or be narrower",
                              Double(t.memoryBits) / 1e6, Double(t.memoryBits) / mib, Double(t.weightBits) / 1e6, model.network.config.quantization.weightBits,
                              device.name, Double(device.memoryBits) / 1e6, Double(device.memoryBits) / mib))
        }
        if t.luts > device.luts { out.append("LUTs: \(t.luts) (model) exceed the \(device.name)'s \(device.luts)") }
        if t.dsps > device.dsps { out.append("DSPs: \(t.dsps) exceed the \(device.name)'s \(device.dsps)") }
        if t.flipFlops > device.flipFlops { out.append("FFs: \(t.flipFlops) (model) exceed the \(device.name)'s \(device.flipFlops)") }
        return out
    }

    // MARK: Report

    public struct LayerReport: Codable, Sendable {
        public let name: String, kind: String, section: String
        public let lanes: Int
        public let cyclesPerImage: Double, utilisation: Double
        public let cyclesSource: String
        public let inputRate: Double
        public let resources: LayerResources
        public let energyPaperMillijoules: Double, energyHardwareMillijoules: Double
        /// The layer's LUTs (model) as a share of the `--budget` (else of the total).
        public let lutShare: Double
    }

    /// What LUT shares are of: the `--budget`, or the network's total when there is none.
    public var lutShareBase: (luts: Int, label: String) {
        if case .lutBudget(let b) = folding.method { return (b, "budget") }
        return (max(1, total.luts), "total")
    }

    public struct Report: Codable, Sendable {
        public let schemaVersion: Int
        public let model: String
        public let network: String
        public let folding: PipelineFolding
        public let layers: [LayerReport]
        public let total: LayerResources
        public let cyclesPerImage: Double
        public let slowestLayer: String
        public let latencyCycles: Double
        public let latencyMicroseconds: Double
        public let imagesPerSecond: Double
        public let clockMHz: Double
        public let clockSource: String
        public let energyPaperMillijoules: Double
        public let energyHardwareMillijoules: Double
        public let paperPublishedMillijoules: Double?
        public let work: [SynapticWork]
        public let energyParameters: EnergyParameters
        public let device: FPGADevice
        public let deviceProblems: [String]
        public let assumptions: [String]
        public let sources: [String: String]
    }

    public func report(schemaVersion: Int = 1) -> Report {
        let ls = layers.indices.map { i -> LayerReport in
            let l = layers[i], e = energy.byLayer(l.name)
            return LayerReport(name: l.name, kind: l.kind.rawValue, section: l.section, lanes: folding.lanes[i],
                               cyclesPerImage: timing.cycles[i], utilisation: timing.utilisation[i],
                               cyclesSource: l.kind == .block ? "model: block cycle model (checked against Verilator, docs/estimate-cycles.md)" : "model: \(NetworkCycleModel.modelStatus)",
                               inputRate: rates[i].input, resources: resources[i],
                               energyPaperMillijoules: e.paper, energyHardwareMillijoules: e.hardware,
                               lutShare: Double(resources[i].luts) / Double(lutShareBase.luts))
        }
        let name = model.network.config.model ?? "custom"
        return Report(schemaVersion: schemaVersion, model: name, network: model.network.name, folding: folding, layers: ls, total: total,
                      cyclesPerImage: timing.cyclesPerImage, slowestLayer: layers[timing.slowest].name, latencyCycles: timing.latencyCycles,
                      latencyMicroseconds: latencyMicroseconds, imagesPerSecond: imagesPerSecond, clockMHz: clockMHz, clockSource: clockSource,
                      energyPaperMillijoules: energy.paperMillijoules, energyHardwareMillijoules: energy.hardwareMillijoules,
                      paperPublishedMillijoules: name == "hst-10-384" ? NetworkEnergy.paperHST10_384 : nil,
                      work: energy.work, energyParameters: energy.parameters, device: device, deviceProblems: deviceProblems,
                      assumptions: assumptions,
                      sources: ["resources.luts": "model", "resources.flipFlops": "model", "resources.memoryBits": "counted from the structure",
                                "cycles": "model", "energy": "model (operation counts x per-operation energies)", "clock": clockSource])
    }

    /// The paper comparison, for hst-10-384 (nil for other models).
    public var paperComparison: [String]? {
        guard model.network.config.model == "hst-10-384" else { return nil }
        let ours = energy.paperMillijoules, paper = NetworkEnergy.paperHST10_384
        let assumed = energy.paperAssumedMillijoules, fixed = ours - assumed
        let scale = assumed > 0 ? (paper - fixed) / assumed : .nan
        return [
            String(format: "paper's method here: %.2f mJ per image; QKFormer reports 15.13 mJ for HST-10-384 (%+.0f%%)", ours, 100 * (ours - paper) / paper),
            String(format: "  of ours, %.2f mJ rest on Table 7 rates or the stem's MACs, %.2f mJ on assumed rates; the assumed rates would have to be %.2fx higher on average to give 15.13 mJ", fixed, assumed, scale),
            "  the paper publishes neither its per-layer rates beyond Table 7 (stages 1-2 of the 64.9M model, not HST-10-384) nor its FLOP accounting, so the gap is not resolved here",
        ]
    }

    public func text() -> String {
        let net = model.network, c = net.config
        var out = "estimate: network \(c.model ?? "custom") (\(c.embedding.rawValue) embedding, dims \(c.dims), depths \(c.depths), T = \(c.timeSteps), \(net.image.height)x\(net.image.width)), \(layers.count) pipeline layers\n"
        out += "folding: \(folding.note)\(folding.feasible ? "" : " (NOT MET)")\n\n"
        let share = lutShareBase
        let header = ["layer", "lanes", "cycles/img", "util", "LUT*", "% of \(share.label)", "FF*", "DSP", "mem bits", "BRAM36", "E paper uJ", "E hw+mem uJ"]
        var rows: [[String]] = []
        for (i, l) in layers.enumerated() {
            let r = resources[i], e = energy.byLayer(l.name)
            rows.append([l.name, "\(folding.lanes[i])", fmt(timing.cycles[i]), String(format: "%.2f", timing.utilisation[i]), "\(r.luts)",
                         String(format: "%.1f", 100 * Double(r.luts) / Double(share.luts)), "\(r.flipFlops)",
                         "\(r.dsps)", "\(r.memoryBits)", "\(r.bram36)", String(format: "%.1f", e.paper * 1e3), String(format: "%.1f", e.hardware * 1e3)])
        }
        let t = total
        rows.append(["total", "", fmt(timing.cyclesPerImage) + " (max)", "", "\(t.luts)", String(format: "%.1f", 100 * Double(t.luts) / Double(share.luts)), "\(t.flipFlops)", "\(t.dsps)", "\(t.memoryBits)", "\(t.bram36)",
                     String(format: "%.1f", energy.paperMillijoules * 1e3), String(format: "%.1f", energy.hardwareMillijoules * 1e3)])
        let widths = header.indices.map { i in max(header[i].count, rows.map { $0[i].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            "  " + cells.enumerated().map { i, v in i == 0 ? v.padding(toLength: widths[0], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - v.count) + v }.joined(separator: "  ") + "\n"
        }
        out += line(header)
        for r in rows { out += line(r) }
        out += "  (* model. cycles: model (blocks: the block cycle models; convs, stem, head: \(NetworkCycleModel.modelStatus)). mem bits: counted from the structure.)\n\n"
        out += String(format: "memory: %.2f Mbit on chip: weights %.2f, buffers %.2f, state %.2f, FIFOs %.2f\n", Double(t.memoryBits) / 1e6,
                      Double(t.weightBits) / 1e6, Double(t.bufferBits) / 1e6, Double(t.stateBits) / 1e6, Double(t.fifoBits) / 1e6)
        out += "throughput: \(fmt(imagesPerSecond)) images/s at \(fmt(clockMHz)) MHz (\(clockSource)); slowest layer \(layers[timing.slowest].name) (\(fmt(timing.cyclesPerImage)) cycles per image)\n"
        out += "latency: \(fmt(timing.latencyCycles)) cycles = \(fmt(latencyMicroseconds)) us per image (model; no overlap at all would be \(fmt(timing.cycles.reduce(0, +))) cycles)\n"
        out += String(format: "energy per image: %.3f mJ (QKFormer's method: ACs and the first layer's MACs), %.3f mJ (the hardware's operations, LIF updates and on-chip memory traffic)\n",
                      energy.paperMillijoules, energy.hardwareMillijoules)
        if let p = paperComparison { out += p.joined(separator: "\n") + "\n" }
        let problems = deviceProblems
        out += problems.isEmpty ? "device: fits the \(device.name) (\(device.source))\n"
            : "device: does NOT fit the \(device.name) (\(device.source)):\n" + problems.map { "  - \($0)\n" }.joined()
        out += "assumptions:\n" + assumptions.map { "  - \($0)\n" }.joined()
        return out
    }
}
