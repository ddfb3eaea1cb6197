import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// How close the two-pass attentions (QKCA and SSA) run to their event-driven bound, with one
/// sample buffer and with two (SSA's S banks), at QKFormer-like rates, four samples back to back
/// (`QKFORGE_TWO_PASS_SAMPLES`) with no stalls, C = 96, 8 heads, T = 4, P = 12, N = 64. The bound is the busiest unit's own
/// work: for QKCA the Q/K accumulators (input events x G) or the projection (X' events x G), one
/// K buffer word per cycle; for SSA the Q/K/V accumulators (input events x G), the S updater (one
/// K event per cycle), the sums (one Q event per cycle plus G drain beats per vector) or the
/// projection (A events x G). Minutes, so behind `QKFORGE_BLOCK_SOAK=1`; the figures go to
/// docs/estimate-cycles.md.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["QKFORGE_BLOCK_SOAK"] == "1"))
struct TwoPassUtilisationTests {
    static func config(_ block: String) throws -> BlockConfig {
        try BlockConfig.parse(json: Data(#"{"block": "\#(block)", "dim": 96, "heads": 8, "tokens": 64, "timeSteps": 4}"#.utf8))
    }

    /// Samples per run (`QKFORGE_TWO_PASS_SAMPLES`, default 4): the last sample's second pass is
    /// a tail no two-pass design can overlap, so longer runs come closer to the steady state.
    static var samples: Int { Int(ProcessInfo.processInfo.environment["QKFORGE_TWO_PASS_SAMPLES"] ?? "") ?? 4 }

    static func run(_ m: BlockModel, seed: UInt64) throws -> BlockCosim.Result {
        var o = BlockCosim.Options()
        (o.seed, o.samples, o.inputRate, o.inputStall, o.outputStall) = (seed, samples, 0.2, 0, 0)
        let r = try BlockCosim.run(m, options: o)
        #expect(r.passed, "\(r.mismatches.prefix(3)) \(r.protocolErrors.prefix(3))")
        return r
    }

    @Test func qkca() throws {
        let seed = TestSeed.value(default: 601)
        let t7 = BlockDescription.qkformerRates(stage: 1)
        let m = try BlockModel.random(try Self.config("qkca"), lanes: 12, seed: seed).calibrated(to: [t7.q, t7.k, t7.out], inputRate: 0.2, seed: seed).model
        let r = try Self.run(m, seed: seed)
        print(String(format: "TwoPassUtilisationTests QKCA seed %llu, %d samples: %d cycles, event bound %d (%.3f), stream bound %d, two-pass bound %d (%.3f), lane utilisation %.3f; rates %@",
                     seed, r.samples, r.cycles, r.boundCycles, r.utilization, r.streamBoundCycles, r.twoPassBoundCycles, r.twoPassUtilization,
                     r.laneUtilization, r.rates.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ")))
    }

    @Test(arguments: [1, 2])
    func ssa(banks: Int) throws {
        let seed = TestSeed.value(default: 602)
        let base = try BlockModel(try BlockDescription.random(try Self.config("ssa"), seed: seed), folding: Folding(lanes: 12, sampleBuffers: banks))
        let m = try base.calibrated(to: [0.1, 0.1, 0.1, 0.15], inputRate: 0.2, seed: seed).model
        let r = try Self.run(m, seed: seed)
        let G = 8, f = m.block.input
        var input = 0, k = 0, q = 0, a = 0
        for t in r.traces {
            guard case .selfAttention(let s) = t else { continue }
            (input, k, q, a) = (input + s.q.ops.events, k + s.k.spikes.scalars.filter { $0 != 0 }.count,
                                q + s.q.spikes.scalars.filter { $0 != 0 }.count, a + s.proj.ops.events)
        }
        let vectors = r.samples * f.tokens * f.timeSteps
        let bound = max(input * G, k, q + vectors * G, a * G)
        print(String(format: "TwoPassUtilisationTests SSA %d bank(s) seed %llu, %d samples: %d cycles; bound %d = max(input %d x G, K %d, Q %d + %d x G, A %d x G): %.3f; lane utilisation %.3f; rates %@",
                     banks, seed, r.samples, r.cycles, bound, input, k, q, vectors, a, Double(bound) / Double(r.cycles), r.laneUtilization,
                     r.layerRates.map { "\($0.name) \($0.rate)" }.joined(separator: ", ")))
    }
}
