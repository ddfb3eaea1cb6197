import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim
@testable import Estimator

/// The SSA cycle model (`SSACycleModel`) against Verilator: the same stimuli, no stalls, cycles
/// from reset to the last output beat, from the stimuli's events per vector (golden traces).
/// Its constants were fitted on `calibration` (seed 5); `heldOut` (other sizes, lanes, banks and
/// rates, seed 11) checks them. `QKFORGE_SSA_CYCLES_FIT=1` prints the calibration table.
@Suite(.serialized) struct SSACyclesVsSimulationTests {
    struct Case: CustomStringConvertible, Sendable {
        let dim: Int, heads: Int, tokens: Int, timeSteps: Int, lanes: Int, banks: Int
        /// Firing rate the Q, K and V layers are calibrated to.
        let rate: Double
        /// The QKFormer block around SSA instead of SSA alone.
        var block = false
        var description: String { "\(block ? "block-ssa" : "ssa") C\(dim) h\(heads) N\(tokens) T\(timeSteps) P\(lanes) banks \(banks) rate \(rate)" }
    }

    static let calibration: [Case] = [
        Case(dim: 12, heads: 2, tokens: 8, timeSteps: 2, lanes: 4, banks: 2, rate: 0.3),
        Case(dim: 16, heads: 2, tokens: 12, timeSteps: 2, lanes: 4, banks: 1, rate: 0.2),
        Case(dim: 24, heads: 4, tokens: 8, timeSteps: 3, lanes: 8, banks: 2, rate: 0.5),
        Case(dim: 12, heads: 2, tokens: 8, timeSteps: 2, lanes: 4, banks: 2, rate: 0.4, block: true),
    ]

    static let heldOut: [Case] = [
        Case(dim: 18, heads: 3, tokens: 10, timeSteps: 2, lanes: 3, banks: 2, rate: 0.4),
        Case(dim: 16, heads: 4, tokens: 9, timeSteps: 4, lanes: 16, banks: 1, rate: 0.15),
        Case(dim: 32, heads: 2, tokens: 6, timeSteps: 2, lanes: 5, banks: 2, rate: 0.25),
        Case(dim: 16, heads: 2, tokens: 10, timeSteps: 2, lanes: 8, banks: 2, rate: 0.3, block: true),
    ]

    struct Row { let c: Case; let measured: Int; let model: Int
        var err: Double { Double(model - measured) / Double(measured) } }

    static func run(_ c: Case, seed: UInt64, samples count: Int = 3) throws -> Row {
        let cfg = try BlockConfig.parse(json: Data(#"{"block": "\#(c.block ? "qkformer-block" : "ssa")", "attention": "ssa", "dim": \#(c.dim), "heads": \#(c.heads), "tokens": \#(c.tokens), "timeSteps": \#(c.timeSteps)}"#.utf8))
        let d = try BlockDescription.random(cfg, seed: seed)
        let model = try BlockModel(d, folding: Folding(lanes: c.lanes, sampleBuffers: c.banks))
            .calibrated(to: [c.rate, c.rate, c.rate, 0.2] + (c.block ? [0.15, 0.2] : []), inputRate: 0.3, seed: seed).model
        let xs = model.block.input.randomSamples(rate: 0.3, count: count, seed: seed)
        let traces = try model.traces(xs)
        var o = BlockStreamCosim.Options()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-ssaperf-\(getpid())-\(c.dim)-\(c.lanes)")
        defer { try? FileManager.default.removeItem(at: work) }
        (o.seed, o.inputStall, o.outputStall, o.workDirectory, o.writeReplay) = (seed, 0, 0, work, false)
        let r = try BlockStreamCosim.run(try Elaborate.run(try model.hardware.makeModule()), input: model.hardware.inputFormat,
                                         output: model.hardware.outputFormat, tokens: c.tokens, samples: xs,
                                         expected: traces.map(\.output), options: o)
        #expect(r.passed, "\(c): \(r.mismatches.prefix(2)) \(r.protocolErrors.prefix(2))")
        func ssaEvents(_ shape: SSAShape, _ x: SpikeTensor, _ a: SSATrace) -> [SSAVectorEvents] {
            SSAVectorEvents.vectors(shape: shape, input: x.scalars, q: a.q.spikes.scalars, k: a.k.spikes.scalars,
                                    attention: a.attention.spikes.scalars)
        }
        switch model.hardware.structure {
        case .attention(.selfAttention(let hw)):
            let shape = SSAShape(ssa: hw)
            let events = zip(xs, traces).map { x, t -> [SSAVectorEvents] in
                guard case .selfAttention(let a) = t else { preconditionFailure("SSA traces as .selfAttention") }
                return ssaEvents(shape, x, a)
            }
            let m = SSACycleModel(shape)
            if ProcessInfo.processInfo.environment["QKFORGE_SSA_CYCLES_FIT"] == "1" {
                print("    G \(shape.groups) passes: " + events.map { "p1 \(m.pass1($0)) p2 \(m.pass2($0)) last \($0.last!)" }.joined(separator: "; "))
            }
            return Row(c: c, measured: r.cycles, model: m.runCycles(events))
        case .qkformerBlock(let b):
            guard case .selfAttention(let hw) = b.attention else { preconditionFailure("not an SSA block") }
            let shape = SSAShape(ssa: hw), mlpShape = MLPShape(mlp: b.mlp, tokens: c.tokens)
            var ssa: [[SSAVectorEvents]] = [], mlp: [[MLPVectorEvents]] = []
            for (x, t) in zip(xs, traces) {
                guard case .chain(let ts) = t, case .residual(.selfAttention(let a), let x1) = ts[0], case .residual(.mlp(let f), _) = ts[1] else {
                    preconditionFailure("an SSA block traces as two residuals")
                }
                ssa.append(ssaEvents(shape, x, a))
                mlp.append(MLPVectorEvents.vectors(shape: mlpShape, input: x1.scalars, hidden: f.fc1.spikes.scalars))
            }
            return Row(c: c, measured: r.cycles, model: SSABlockCycleModel(ssa: shape, mlp: mlpShape).runCycles(ssa: ssa, mlp: mlp))
        default:
            preconditionFailure("not SSA")
        }
    }

    static func report(_ r: Row, seed: UInt64) {
        print(String(format: "  %@ seed %llu: measured %d cycles; model %d (%+.2f%%)", r.c.description, seed, r.measured, r.model, 100 * r.err))
    }

    @Test(.timeLimit(.minutes(10)), arguments: heldOut)
    func cyclesWithinFivePercent(_ c: Case) throws {
        let seed = TestSeed.value(default: 11)
        print("SSACyclesVsSimulationTests \(c) seed \(seed)")
        let r = try Self.run(c, seed: seed)
        Self.report(r, seed: seed)
        #expect(abs(r.err) <= 0.05, "\(c): model \(r.model) vs measured \(r.measured)")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["QKFORGE_SSA_CYCLES_FIT"] == "1"), arguments: calibration)
    func calibrationTable(_ c: Case) throws {
        for n in [1, 2, 3] {
            let r = try Self.run(c, seed: 5, samples: n)
            Self.report(r, seed: 5)
        }
    }
}
