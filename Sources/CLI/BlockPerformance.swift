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
    }

    /// The clock the times assume (no timing analysis is run), as `qkforge estimate` assumes.
    static let assumedClockMHz = 200.0

    struct Rates: Encodable {
        let input: Double
        /// QKFormer block only: the attention mask, `X'` and the attention's output.
        let attention: Double?
        let xPrime: Double?
        let attentionOut: Double?
        /// fc1 spikes.
        let hidden: Double
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
        let latencyMicroseconds: Double
        let samplesPerSecond: Double
        let source: String
    }

    /// The estimate of a composite block's hardware serving `tokens` tokens per sample, at an
    /// assumed clock of `clockMHz`.
    static func estimate(_ hw: BlockHardware, tokens: Int, stage: Int, clockMHz: Double = assumedClockMHz) throws -> Report {
        switch hw.structure {
        case .mlp(let m): return estimate(.mlp(MLPShape(mlp: m, tokens: tokens)), stage: stage, clockMHz: clockMHz)
        case .qkformerBlock(let b): return estimate(.block(try BlockShape(block: b, tokens: tokens)), stage: stage, clockMHz: clockMHz)
        case .attention: preconditionFailure("attention blocks have their own performance report (GenerateReport)")
        }
    }

    /// The estimate of `shape` at the assumed rates of `stage` (QKFormer's Table 7 where it has
    /// them) and the assumed clock.
    static func estimate(_ shape: Shape, stage: Int, clockMHz: Double = assumedClockMHz) -> Report {
        let rates: BlockFiringRates, cycles: Double, latency: Int
        switch shape {
        case .mlp(let m):
            rates = BlockFiringRates.resolve(mlp: m)
            let model = BlockRateCycleModel(mlp: m)
            (cycles, latency) = (model.cyclesPerSample(rates), model.runCycles(rates: rates, samples: 1))
        case .block(let b):
            rates = BlockFiringRates.resolve(shape: b, stage: stage)
            let model = BlockRateCycleModel(block: b)
            (cycles, latency) = (model.cyclesPerSample(rates), model.runCycles(rates: rates, samples: 1))
        }
        let isBlock: Bool = { if case .block = shape { return true }; return false }()
        let tidy = JSONValue.tidy
        let clock = clockMHz
        return Report(cyclesPerSample: tidy(cycles), latencyCycles: latency,
                      rates: Rates(input: tidy(rates.input), attention: isBlock ? tidy(rates.attention) : nil,
                                   xPrime: isBlock ? tidy(rates.xPrime) : nil, attentionOut: isBlock ? tidy(rates.attentionOut) : nil,
                                   hidden: tidy(rates.hidden), source: "assumed: " + rates.source),
                      clockMHz: clock, clockIsAssumed: true, latencyMicroseconds: tidy(Double(latency) / clock),
                      samplesPerSecond: tidy(clock * 1e6 / max(cycles, 1)),
                      source: "estimate: the composite-block cycle model from firing rates, streams that never stall (docs/estimate-cycles.md)")
    }

    static func ratesText(_ r: Rates) -> String {
        var parts = ["input \(g(r.input))"]
        if let a = r.attention, let x = r.xPrime, let o = r.attentionOut {
            parts += ["attention \(g(a))", "X' \(g(x))", "attention out \(g(o))"]
        }
        parts.append("fc1 \(g(r.hidden))")
        return parts.joined(separator: ", ")
    }

    /// The README paragraph.
    static func readme(_ p: Report) -> String {
        return """
            Cycles from the composite-block cycle model (checked against Verilator in docs/estimate-cycles.md) at
            **assumed** firing rates (\(ratesText(p.rates)); \(p.rates.source.replacingOccurrences(of: "assumed: ", with: ""))),
            streams that never stall:

            - \(g(p.cyclesPerSample)) cycles per sample (steady state), latency \(p.latencyCycles) cycles;
            - at an **assumed** \(g(p.clockMHz)) MHz clock (no timing analysis has been run): \(g(p.latencyMicroseconds)) us latency,
              \(g(p.samplesPerSecond)) samples/s.
            """
    }

    /// The summary lines `generate` prints.
    static func summary(_ p: Report) -> [String] {
        return [
            "  cycles per sample: \(Int(p.cyclesPerSample.rounded())) at ASSUMED firing rates (\(ratesText(p.rates)))",
            "  latency \(p.latencyCycles) cycles = \(g(p.latencyMicroseconds)) us, \(g(p.samplesPerSecond)) samples/s at an ASSUMED \(g(p.clockMHz)) MHz clock (not a timing result)",
        ]
    }
}
