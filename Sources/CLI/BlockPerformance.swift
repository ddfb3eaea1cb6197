import Foundation
import Blocks
import Estimator

/// The cycle and time estimate of a composite block (`--block mlp`, `--block qkformer-block`)
/// for its `report.json`, README and summary: the composite-block cycle model
/// (`MLPCycleModel`, `BlockCycleModel`, checked against Verilator in docs/estimate-cycles.md) at
/// assumed firing rates, and times at an assumed clock.
enum BlockPerformance {
    static func g(_ v: Double) -> String { EstimateCommand.g(v) }

    /// What the cycle model needs of the built block.
    enum Shape {
        case mlp(MLPShape)
        case block(BlockShape)
        case ssa(SSAShape)
        /// The QKFormer block around SSA.
        case ssaBlock(SSAShape, MLPShape)
    }

    struct Rates: Encodable {
        let input: Double
        /// SSA only: its Q and K spikes.
        let q: Double?
        let k: Double?
        /// QKFormer block only: the attention mask (SSA: the attention neuron), `X'` and the attention's output.
        let attention: Double?
        let xPrime: Double?
        let attentionOut: Double?
        /// fc1 spikes.
        let hidden: Double?
        let source: String
    }

    struct Report: Encodable {
        /// Steady-state cycles per sample (a long stream of samples).
        let cyclesPerSample: Double
        /// Cycles from reset to the last output beat of one sample, pipeline empty.
        let latencyCycles: Int
        let rates: Rates
        let clockMHz: Double
        let clockIsAssumed: Bool
        let clockSource: String
        let latencyMicroseconds: Double
        let samplesPerSecond: Double
        let source: String
    }

    /// The estimate of a composite block's hardware serving `tokens` tokens per sample, at an
    /// assumed clock of `clockMHz`.
    static func estimate(_ hw: BlockHardware, tokens: Int, stage: Int, clock: ClockChoice) throws -> Report {
        switch hw.structure {
        case .mlp(let m): return estimate(.mlp(MLPShape(mlp: m, tokens: tokens)), stage: stage, clock: clock)
        case .qkformerBlock(let b):
            if case .selfAttention(let s) = b.attention {
                return estimate(.ssaBlock(SSAShape(ssa: s), MLPShape(mlp: b.mlp, tokens: tokens)), stage: stage, clock: clock)
            }
            return estimate(.block(try BlockShape(block: b, tokens: tokens)), stage: stage, clock: clock)
        case .attention(.selfAttention(let s)): return estimate(.ssa(SSAShape(ssa: s)), stage: stage, clock: clock)
        case .attention: preconditionFailure("QKTA and QKCA have their own performance report (GenerateReport)")
        }
    }

    /// The estimate of `shape` at the assumed rates of `stage` (QKFormer's Table 7 where it has
    /// them) and the assumed clock.
    static func estimate(_ shape: Shape, stage: Int, clock: ClockChoice) -> Report {
        let tidy = JSONValue.tidy
        let rates: Rates, cycles: Double, latency: Int
        func blockRates(_ r: BlockFiringRates, attention: Bool) -> Rates {
            Rates(input: tidy(r.input), q: nil, k: nil, attention: attention ? tidy(r.attention) : nil, xPrime: attention ? tidy(r.xPrime) : nil,
                  attentionOut: attention ? tidy(r.attentionOut) : nil, hidden: tidy(r.hidden), source: "assumed: " + r.source)
        }
        func ssaRates(_ r: SSAFiringRates, hidden: BlockFiringRates?) -> Rates {
            Rates(input: tidy(r.input), q: tidy(r.q), k: tidy(r.k), attention: tidy(r.attention), xPrime: nil, attentionOut: nil,
                  hidden: hidden.map { tidy($0.hidden) }, source: r.source + (hidden.map { "; MLP: " + $0.source } ?? ""))
        }
        switch shape {
        case .mlp(let m):
            let r = BlockFiringRates.resolve(mlp: m)
            let model = BlockRateCycleModel(mlp: m)
            (rates, cycles, latency) = (blockRates(r, attention: false), model.cyclesPerSample(r), model.runCycles(rates: r, samples: 1))
        case .block(let b):
            let r = BlockFiringRates.resolve(shape: b, stage: stage)
            let model = BlockRateCycleModel(block: b)
            (rates, cycles, latency) = (blockRates(r, attention: true), model.cyclesPerSample(r), model.runCycles(rates: r, samples: 1))
        case .ssa(let s):
            let r = SSAFiringRates.assumed, model = SSACycleModel(s)
            (rates, cycles, latency) = (ssaRates(r, hidden: nil), model.cyclesPerSample(rates: r), model.runCycles(rates: r, samples: 1))
        case .ssaBlock(let s, let m):
            let r = SSAFiringRates.assumed, h = BlockFiringRates.resolve(mlp: m)
            let ssa = SSACycleModel(s), mlp = BlockRateCycleModel(mlp: m)
            // SSA and the MLP run side by side: the longer sets the rate (SSABlockCycleModel).
            cycles = max(ssa.cyclesPerSample(rates: r), mlp.cyclesPerSample(h))
            let one = SSABlockCycleModel(ssa: s, mlp: m)
            latency = one.runCycles(ssa: [ssa.syntheticSample(r)], mlp: [mlp.syntheticMLPSample(h)])
            rates = ssaRates(r, hidden: h)
        }
        let source: String
        switch shape {
        case .ssa, .ssaBlock: source = "estimate: the SSA cycle model from firing rates, streams that never stall (docs/estimate-cycles.md)"
        default: source = "estimate: the composite-block cycle model from firing rates, streams that never stall (docs/estimate-cycles.md)"
        }
        return Report(cyclesPerSample: tidy(cycles), latencyCycles: latency, rates: rates,
                      clockMHz: tidy(clock.mhz), clockIsAssumed: clock.isAssumed, clockSource: clock.source,
                      latencyMicroseconds: tidy(Double(latency) / clock.mhz),
                      samplesPerSecond: tidy(clock.mhz * 1e6 / max(cycles, 1)), source: source)
    }

    static func ratesText(_ r: Rates) -> String {
        var parts = ["input \(g(r.input))"]
        if let q = r.q, let k = r.k { parts += ["Q \(g(q))", "K \(g(k))"] }
        if let a = r.attention { parts.append("attention \(g(a))") }
        if let x = r.xPrime, let o = r.attentionOut { parts += ["X' \(g(x))", "attention out \(g(o))"] }
        if let h = r.hidden { parts.append("fc1 \(g(h))") }
        return parts.joined(separator: ", ")
    }

    /// The README paragraph.
    static func readme(_ p: Report) -> String {
        return """
            Cycles from the composite-block cycle model (checked against Verilator in docs/estimate-cycles.md) at
            **assumed** firing rates (\(ratesText(p.rates)); \(p.rates.source.replacingOccurrences(of: "assumed: ", with: ""))),
            streams that never stall:

            - \(g(p.cyclesPerSample)) cycles per sample (steady state), latency \(p.latencyCycles) cycles;
            - at \(g(p.clockMHz)) MHz, \(FolderText.clock(p.clockSource)): \(g(p.latencyMicroseconds)) us latency,
              \(g(p.samplesPerSecond)) samples/s. `qkforge timing` measures the real Fmax (docs/timing.md).
            """
    }

    /// The summary lines `generate` prints.
    static func summary(_ p: Report) -> [String] {
        return [
            "  cycles per sample: \(Int(p.cyclesPerSample.rounded())) at ASSUMED firing rates (\(ratesText(p.rates)))",
            "  latency \(p.latencyCycles) cycles = \(g(p.latencyMicroseconds)) us, \(g(p.samplesPerSecond)) samples/s at \(g(p.clockMHz)) MHz, \(p.clockSource)",
        ]
    }
}
