import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// SSA (spiking self-attention) and the QKFormer block around it: clean in Verilator `-Wall`,
/// Yosys and Icarus, and equal to the golden model on every output of every time step.
@Suite struct SSACosimTests {
    /// A small SSA shape: d = 3 (not a power of two), N = 5, T = 3.
    static func small(_ block: String = "ssa", dim: Int = 6, heads: Int = 2, tokens: Int = 5, timeSteps: Int = 3) throws -> BlockConfig {
        try BlockConfig.parse(json: Data(#"{"block": "\#(block)", "dim": \#(dim), "heads": \#(heads), "tokens": \#(tokens), "timeSteps": \#(timeSteps), "attention": "ssa"}"#.utf8))
    }

    static func hardware(_ c: BlockConfig, lanes: Int, banks: Int, seed: UInt64, maxInputCount: Int? = nil) throws -> BlockHardware {
        let d = try BlockDescription.random(c, seed: seed, maxInputCount: maxInputCount)
        return try BlockHardware(d, folding: Folding(lanes: lanes, sampleBuffers: banks))
    }

    @Test(arguments: [(lanes: 4, banks: 2), (lanes: 6, banks: 1)])
    func ssaLintsClean(lanes: Int, banks: Int) throws {
        let h = try Self.hardware(try Self.small(), lanes: lanes, banks: banks, seed: 5)
        let findings = try LintTests.emitAndLint(try h.makeModule())
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test func ssaBlockLintsClean() throws {
        let h = try Self.hardware(try Self.small("qkformer-block"), lanes: 3, banks: 2, seed: 6, maxInputCount: 2)
        let findings = try LintTests.emitAndLint(try h.makeModule())
        #expect(findings.isEmpty, "\(findings)")
    }

    static func rate(_ t: SpikeTensor) -> Double { Double(t.scalars.filter { $0 != 0 }.count) / Double(max(1, t.scalars.count)) }

    /// SSA alone, against the golden model, with random stalls on both sides: one and two `S`
    /// banks, spikes and counts up to 3 on the input, register and RAM LIF state.
    /// With T = 1 consecutive vectors update the same rows of `S`, so the forwarded write is used.
    @Test(arguments: [(lanes: 4, banks: 2, count: 1, storage: LIFStateStorage.registers, timeSteps: 3),
                      (lanes: 6, banks: 1, count: 1, storage: .registers, timeSteps: 3),
                      (lanes: 5, banks: 2, count: 3, storage: .ram, timeSteps: 3),
                      (lanes: 2, banks: 2, count: 2, storage: .registers, timeSteps: 1)])
    func ssaMatchesGolden(lanes: Int, banks: Int, count: Int, storage: LIFStateStorage, timeSteps: Int) throws {
        let seed = TestSeed.value(default: 501)
        print("SSACosimTests lanes \(lanes) banks \(banks) count \(count) \(storage) seed \(seed)")
        // Q, K and V dense enough that c = Q S often reaches the attention neuron's 8.
        let d = try BlockDescription.random(try Self.small(tokens: 8, timeSteps: timeSteps), seed: seed, maxInputCount: count)
        let model = try BlockModel(d, folding: Folding(lanes: lanes, storage: storage, sampleBuffers: banks))
            .calibrated(to: [0.7, 0.7, 0.7, 0.3], inputRate: 0.4, seed: seed).model
        var o = BlockCosim.Options()
        (o.samples, o.seed, o.inputRate, o.inputStall, o.outputStall) = (3, seed, 0.4, 0.3, 0.3)
        let r = try BlockCosim.run(model, options: o)
        #expect(r.stream.mismatchCount == 0, "\(r.stream.mismatches.prefix(3)); replay \(r.stream.replayDirectory?.path ?? "-")")
        #expect(r.stream.protocolErrors.isEmpty, "\(r.stream.protocolErrors)")
        #expect(r.stream.vectors == 3 * 8 * timeSteps)
        // Every layer must fire sometimes and not always, or the test checks little.
        for t in r.traces {
            guard case .selfAttention(let a) = t else { Issue.record("not an SSA trace"); return }
            print("  rates Q \(Self.rate(a.q.spikes)) K \(Self.rate(a.k.spikes)) V \(Self.rate(a.v.spikes)) A \(Self.rate(a.attention.spikes)) out \(Self.rate(a.output))")
        }
        let traces = r.traces.compactMap { t -> SSATrace? in if case .selfAttention(let a) = t { return a } else { return nil } }
        for (name, pick) in [("Q", { (a: SSATrace) in a.q.spikes }), ("A", { $0.attention.spikes }), ("out", { $0.output })] {
            let mean = traces.map { Self.rate(pick($0)) }.reduce(0, +) / Double(max(1, traces.count))
            #expect(mean > 0.02 && mean < 0.98, "\(name) fires at \(mean)")
        }
    }

    /// One channel and T = 1: every K event updates row 0 of S, token after token, each
    /// read-modify-write reading the row its predecessor wrote. (The K event encoder leaves at
    /// least one cycle between the events of consecutive vectors, so the forwarded write is not
    /// exercised here: disabling it changed no output on seeds 1-8. It stays for a read during
    /// the write of the same row, which the RAM's read-before-write would get wrong.)
    @Test func backToBackUpdatesOfOneRow() throws {
        let seed = TestSeed.value(default: 503)
        print("SSACosimTests one row seed \(seed)")
        let d = try BlockDescription.random(try Self.small(dim: 1, heads: 1, tokens: 12, timeSteps: 1), seed: seed)
        let model = try BlockModel(d, folding: Folding(lanes: 1)).calibrated(to: [0.9, 0.9, 0.9, 0.3], inputRate: 0.9, seed: seed).model
        var o = BlockCosim.Options()
        (o.samples, o.seed, o.inputRate, o.inputStall, o.outputStall) = (3, seed, 0.9, 0, 0)
        let r = try BlockCosim.run(model, options: o)
        #expect(r.stream.mismatchCount == 0, "\(r.stream.mismatches.prefix(3)); replay \(r.stream.replayDirectory?.path ?? "-")")
        #expect(r.stream.protocolErrors.isEmpty, "\(r.stream.protocolErrors)")
    }

    /// The QKFormer block around SSA: both residuals, the block input waiting in the attention
    /// residual's FIFO for the whole second pass.
    @Test func ssaBlockMatchesGolden() throws {
        let seed = TestSeed.value(default: 502)
        print("SSACosimTests block seed \(seed)")
        let d = try BlockDescription.random(try Self.small("qkformer-block", tokens: 8, timeSteps: 2), seed: seed, maxInputCount: 2)
        let model = try BlockModel(d, folding: Folding(lanes: 3)).calibrated(to: [0.7, 0.7, 0.7, 0.3, 0.2], inputRate: 0.4, seed: seed).model
        var o = BlockCosim.Options()
        (o.samples, o.seed, o.inputRate, o.inputStall, o.outputStall) = (3, seed, 0.4, 0.3, 0.3)
        let r = try BlockCosim.run(model, options: o)
        #expect(r.stream.mismatchCount == 0, "\(r.stream.mismatches.prefix(3)); replay \(r.stream.replayDirectory?.path ?? "-")")
        #expect(r.stream.protocolErrors.isEmpty, "\(r.stream.protocolErrors)")
        let att = r.traces.map { Self.rate($0.streams[0].tensor) }.reduce(0, +) / Double(r.traces.count)
        #expect(att > 0.02, "the SSA branch fires at \(att): the residual add is not tested")
    }
}
