import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The QKCA accelerator against the golden model (`Golden.QKCA`), under random input and output
/// stalls, plus lint of the emitted design.
@Suite(.serialized) struct QKCACosimTests {
    static func block(tokens: Int, dim: Int = 16, heads: Int = 2, timeSteps: Int) throws -> BlockConfig {
        try BlockConfig.parse(json: Data(#"{"block": "qkca", "dim": \#(dim), "heads": \#(heads), "tokens": \#(tokens), "timeSteps": \#(timeSteps)}"#.utf8))
    }

    struct Shape: CustomStringConvertible, Sendable {
        var tokens: Int, timeSteps: Int, lanes: Int, count: Int, storage: LIFStateStorage, form: AttentionForm
        var description: String { "N \(tokens) T \(timeSteps) P \(lanes) count \(count) \(storage) \(form)" }
    }

    static let shapes: [Shape] = [
        Shape(tokens: 5, timeSteps: 3, lanes: 4, count: 1, storage: .registers, form: .automatic),
        Shape(tokens: 5, timeSteps: 3, lanes: 5, count: 3, storage: .ram, form: .automatic),
        Shape(tokens: 1, timeSteps: 3, lanes: 4, count: 3, storage: .ram, form: .automatic),
        Shape(tokens: 5, timeSteps: 1, lanes: 32, count: 3, storage: .ram, form: .automatic),
        // The general form (column counters + the real attention LIF) on the same neuron.
        Shape(tokens: 5, timeSteps: 3, lanes: 4, count: 3, storage: .registers, form: .general),
        Shape(tokens: 5, timeSteps: 3, lanes: 32, count: 1, storage: .ram, form: .general),
        Shape(tokens: 1, timeSteps: 1, lanes: 4, count: 1, storage: .ram, form: .general),
        // The four-stage LIF update, in both forms (hazards: 1 group at P = 16, C = 16).
        Shape(tokens: 5, timeSteps: 3, lanes: 4, count: 2, storage: .pipelined, form: .automatic),
        Shape(tokens: 5, timeSteps: 3, lanes: 16, count: 1, storage: .pipelined, form: .general),
    ]

    @Test(arguments: shapes)
    func smallBlockMatchesGolden(shape: Shape) throws {
        let seed = TestSeed.value(default: 91)
        print("QKCACosimTests \(shape) seed \(seed)")
        let block = try Self.block(tokens: shape.tokens, timeSteps: shape.timeSteps)
        let model = try BlockModel.random(block, lanes: shape.lanes, seed: seed, maxInputCount: shape.count,
                                              storage: shape.storage, biasRange: -0.25...1.25)
        var o = BlockCosim.Options()
        o.samples = 3
        o.seed = seed
        o.inputRate = 0.3
        o.maxInputCount = shape.count
        o.inputStall = 0.3
        o.outputStall = 0.3
        o.attentionForm = shape.form
        let r = try BlockCosim.run(model, options: o)
        #expect(r.mismatches.isEmpty, "\(r.mismatches.prefix(3))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        #expect(r.orForm == (shape.form == .automatic))
        print("  \(r.samples) samples, \(r.vectors) vectors, \(r.cycles) cycles, event bound \(r.boundCycles), two-pass bound \(r.twoPassBoundCycles), \(r.buffers.map { "\($0)" } ?? "-"), rates \(r.rates)")
        if shape.tokens * shape.timeSteps > 1 {   // one vector per sample is too few to insist on spikes
            #expect((r.rates["out"] ?? 0) > 0, "the output must not be trivially silent")
        }
    }

    /// An attention neuron that keeps charge (threshold 1.0 on the grid 2^-2: a sum of 1 charges
    /// H = 2 < 4), so the OR form is refused and the general form's membranes carry over the
    /// time steps; the golden model gets the same neuron.
    @Test(arguments: [(lanes: 4, storage: LIFStateStorage.registers)])
    func chargeKeepingAttentionMatchesGolden(lanes: Int, storage: LIFStateStorage) throws {
        let seed = TestSeed.value(default: 92)
        print("QKCACosimTests charge-keeping attention P \(lanes) \(storage) seed \(seed)")
        let block = try Self.block(tokens: 5, timeSteps: 4)
        let model = try BlockModel.random(block, lanes: lanes, seed: seed, storage: storage, biasRange: -0.25...1.25)
        var hw = model.qkcaConfig
        hw.attention = LIFNeuronConfig(k: 1, threshold: 4, reset: .hard(0), decayInput: true, inputShift: 2)
        #expect(try !hw.usesOrForm())
        var orOnly = hw
        orOnly.attentionForm = .or
        #expect(throws: BlockError.self) { _ = try makeQKCA(orOnly) }
        // The golden side: the described layers with the same attention neuron (the description
        // holds QKFormer's attn_lif, so this block is run below the description on both sides).
        guard case .attention(_, let heads, let q, let k, let p) = model.block.body else { Issue.record("not an attention"); return }
        func layer(_ l: SpikingLayer) throws -> SpikingLinearLayer {
            try SpikingLinearLayer(linear: LinearLayer(weights: l.weights, bias: l.bias),
                                   neurons: l.fractionBits.map { LIFParameters.qkformer(weightFractionBits: $0, extraFractionBits: l.decayFractionBits) })
        }
        let golden = try AttentionBlockParameters(dim: block.dim, heads: heads, timeSteps: block.timeSteps, q: layer(q), k: layer(k), proj: layer(p),
                                                  attention: LIFParameters(k: 1, threshold: 4, reset: .hard(0), decayInput: true,
                                                                           fractionBits: 2, inputShift: 2))
        let samples = model.block.input.randomSamples(rate: 0.3, count: 3, seed: seed)
        let traces = try samples.map { try QKCA.run(golden, input: $0) }
        var o = BlockStreamCosim.Options()
        (o.seed, o.inputStall, o.outputStall) = (seed, 0.3, 0.3)
        let r = try BlockStreamCosim.run(try Elaborate.run(try makeQKCA(hw)), input: BlockAttention.channel(hw).inputFormat,
                                         output: BlockAttention.channel(hw).outputFormat, tokens: block.tokens, samples: samples,
                                         expected: traces.map(\.output), options: o)
        #expect(r.mismatches.isEmpty, "\(r.mismatches.prefix(3))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        let mask = traces.flatMap(\.attentionMask.scalars)
        let a = Double(mask.reduce(0) { $0 + Int($1) }) / Double(max(mask.count, 1))
        print("  \(r.cycles) cycles, \(try hw.buffers()), A_c rate \(a)")
        #expect(a > 0 && a < 1, "the mask should be neither empty nor full")
    }

    /// Many samples back to back, so pass 1 of a sample overlaps pass 2 of the one before: with
    /// a slow consumer the K writes of the next sample wait on the replay's read pointer; with
    /// none, the two passes race.
    @Test(arguments: [(inputStall: 0.0, outputStall: 0.0), (inputStall: 0.0, outputStall: 0.6), (inputStall: 0.5, outputStall: 0.0)])
    func backToBackSamplesMatchGolden(inputStall: Double, outputStall: Double) throws {
        let seed = TestSeed.value(default: 95)
        print("QKCACosimTests back-to-back input stall \(inputStall) output stall \(outputStall) seed \(seed)")
        let block = try Self.block(tokens: 5, timeSteps: 3)
        let model = try BlockModel.random(block, lanes: 4, seed: seed, maxInputCount: 2, biasRange: -0.25...1.25)
        var o = BlockCosim.Options()
        o.samples = 6
        o.seed = seed &+ 1
        o.inputRate = 0.3
        o.maxInputCount = 2
        o.inputStall = inputStall
        o.outputStall = outputStall
        let r = try BlockCosim.run(model, options: o)
        #expect(r.mismatches.isEmpty, "\(r.mismatches.prefix(3))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        print("  \(r.samples) samples, \(r.cycles) cycles, event bound \(r.boundCycles), two-pass bound \(r.twoPassBoundCycles)")
    }

    @Test(arguments: [(tokens: 5, timeSteps: 3, lanes: 5, storage: LIFStateStorage.ram, form: AttentionForm.automatic),
                      (tokens: 5, timeSteps: 3, lanes: 32, storage: .registers, form: .general),
                      (tokens: 1, timeSteps: 1, lanes: 4, storage: .ram, form: .general)])
    func emittedDesignLintClean(tokens: Int, timeSteps: Int, lanes: Int, storage: LIFStateStorage, form: AttentionForm) throws {
        let seed = TestSeed.value(default: 93)
        print("QKCACosimTests lint N \(tokens) T \(timeSteps) P \(lanes) \(storage) \(form) seed \(seed)")
        let model = try BlockModel.random(try Self.block(tokens: tokens, timeSteps: timeSteps), lanes: lanes, seed: seed,
                                              maxInputCount: 3, storage: storage)
        var cfg = model.qkcaConfig
        cfg.attentionForm = form
        let emitted = VerilogEmitter.emit(try Elaborate.run(try makeQKCA(cfg)))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-qkca-lint-\(UUID().uuidString)")
        try emitted.write(to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let findings = try Lint.check(directory: dir, top: emitted.top)
        #expect(findings.isEmpty, "\(findings)")
    }

    /// A K buffer deeper than one block RAM is banked (`BlockRAMBanks`): 18-spike words, 1100
    /// tokens x T 3 = 3300 words, four banks of 1024 (the last holds 228), each bank's word
    /// registered before the multiplexer. Three samples back to back under stalls, so the
    /// writer of the next sample follows the reader across the bank boundaries and wraps.
    @Test func bankedKBufferMatchesGolden() throws {
        let seed = TestSeed.value(default: 96)
        print("QKCACosimTests banked K buffer seed \(seed)")
        let block = try Self.block(tokens: 1100, dim: 18, heads: 2, timeSteps: 3)
        let model = try BlockModel.random(block, lanes: 18, seed: seed, maxInputCount: 2, biasRange: -0.25...1.25)
        let cfg = model.qkcaConfig
        #expect(BlockRAMBanks(depth: cfg.kBufferDepth, width: cfg.kWordBits).banks == 4)
        let design = try Elaborate.run(try makeQKCA(cfg))
        let text = VerilogEmitter.emit(design).verilog.map(\.contents).joined()
        for i in 0..<4 { #expect(text.contains("k_buffer_b\(i)"), "bank \(i) missing") }
        // Three samples back to back (the writer of one follows the reader of the one before).
        let r = try BlockCosim.run(model, options: .init(samples: 3, seed: seed, inputRate: 0.3, maxInputCount: 2,
                                                         inputStall: 0.2, outputStall: 0.4))
        #expect(r.passed, "\(r.mismatches.prefix(3)) \(r.protocolErrors)")
        #expect((r.rates["out"] ?? 0) > 0, "the output must not be trivially silent")
        print("  \(r.samples) samples, \(r.vectors) vectors, \(r.cycles) cycles, rates \(r.rates)")
    }

    /// A stage-sized shape: dim 96, 8 heads, 16 tokens, T 4, 16 lanes.
    @Test func mediumBlockMatchesGolden() throws {
        let seed = TestSeed.value(default: 94)
        print("QKCACosimTests medium seed \(seed)")
        let block = try Self.block(tokens: 16, dim: 96, heads: 8, timeSteps: 4)
        let model = try BlockModel.random(block, lanes: 16, seed: seed, biasRange: -0.25...1.25)
        var o = BlockCosim.Options()
        o.samples = 2
        o.seed = seed
        o.inputRate = 0.2
        o.inputStall = 0.3
        o.outputStall = 0.3
        let r = try BlockCosim.run(model, options: o)
        #expect(r.mismatches.isEmpty, "\(r.mismatches.prefix(3))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        print("  \(r.samples) samples, \(r.vectors) vectors, \(r.cycles) cycles, event bound \(r.boundCycles), two-pass bound \(r.twoPassBoundCycles), \(String(format: "%.1f", r.seconds)) s, \(r.buffers.map { "\($0)" } ?? "-"), rates \(r.rates)")
        // The same design without stalls: cycles against the event-driven bound.
        o.inputStall = 0
        o.outputStall = 0
        let u = try BlockCosim.run(model, options: o)
        #expect(u.mismatches.isEmpty, "\(u.mismatches.prefix(3))")
        #expect(u.protocolErrors.isEmpty, "\(u.protocolErrors)")
        print("  unstalled: \(u.cycles) cycles, event bound \(u.boundCycles) (\(u.inputEvents) input, \(u.projectionEvents) X' events x \(u.groups)), utilization \(String(format: "%.2f", u.utilization)); two-pass bound \(u.twoPassBoundCycles), utilization \(String(format: "%.2f", u.twoPassUtilization))")
    }
}
