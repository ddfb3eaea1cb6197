import Foundation
import HDL
import Blocks
import Golden
import Cosim
import Estimator

/// `generate` and `cosim` of the composite blocks, `--block mlp` and `--block qkformer-block`,
/// with random but seeded weights (exact mode). The attention inside a QKFormer block is the
/// config's `attention` field (QKTA unless it says "channel"). The input count range follows
/// docs/arithmetic.md §5: block `b` of a stage reads counts `0...2+2b`, its MLP `0...3+2b`.
enum BlockCommands {
    static func isComposite(_ c: BlockConfig) -> Bool { c.block == .mlp || c.block == .qkformerBlock }

    /// The largest count on the block's input (docs/arithmetic.md §5).
    static func maxInputCount(_ c: BlockConfig) -> Int {
        let blockInput = 2 + 2 * c.index
        return c.block == .mlp ? blockInput + 1 : blockInput
    }

    /// The block's module, its stream formats and its golden function.
    struct Built {
        let top: Module
        let input: CountStreamFormat
        let output: CountStreamFormat
        let golden: (SpikeTensor) throws -> SpikeTensor
        let origin: String
        let lanes: Int
        let cycles: BlockPerformance.Shape
    }

    static func build(_ c: BlockConfig, _ args: Arguments) throws -> Built {
        if args.given("bundle") {
            throw Arguments.UsageError(description: "--bundle is not supported with --block \(c.block.rawValue) yet; drop --bundle (random seeded weights are used)")
        }
        let seed = try args.uint64("seed", default: 1)
        let lanes = try ModelCommands.lanes(args, c)
        let maxCount = maxInputCount(c)
        let origin = "random on the grid 2^-\(c.quantization.weightBits - 1), \(c.quantization.weightBits)-bit; seed \(seed) (exact mode)"
        do {
            if c.block == .mlp {
                let m = try MLPModel.random(channels: c.dim, hidden: c.mlpRatio * c.dim, timeSteps: c.timeSteps, lanes: lanes,
                                            inputChunk: min(lanes, c.dim), seed: seed, maxInputCount: maxCount,
                                            weightBits: c.quantization.weightBits, decayFractionBits: c.quantization.decayFractionBits,
                                            name: "mlp_\((c.model ?? "custom").replacingOccurrences(of: "-", with: "_"))_s\(c.stage)")
                return Built(top: try makeMLP(m.hardware), input: m.hardware.inputFormat, output: m.hardware.outputFormat,
                             golden: { try MLP.run(m.golden, input: $0, maxCount: maxCount).output }, origin: origin, lanes: lanes,
                             cycles: .mlp(MLPShape(mlp: m.hardware, tokens: c.tokens)))
            }
            let kind: AttentionKind = c.attention == .qkca ? .channel : .token
            let m = try QKFormerBlockModel.random(c, attention: kind, lanes: lanes, seed: seed, maxInputCount: maxCount)
            return Built(top: try makeQKFormerBlock(m.hardware), input: m.hardware.inputFormat, output: m.hardware.outputFormat,
                         golden: { try QKFormerBlock.run(m.golden, input: $0).output }, origin: origin, lanes: lanes,
                         cycles: .block(try BlockShape(block: m.hardware, tokens: c.tokens)))
        } catch let e as ConfigError {
            throw Arguments.UsageError(description: e.description)
        }
    }

    /// `report.json` of a composite block: what was built, the resource estimate
    /// (`ResourceModel`, as the attention blocks' report) and the cycle estimate (`BlockPerformance`).
    struct Report: Encodable {
        struct Memory: Encodable { let path: String; let depth: Int; let width: Int }
        struct Files: Encodable { let paths: String; let memoryDirectoryMacro: String; let memoryDirectory: String }
        let generator: String, top: String, model: String, stage: Int, index: Int, block: String, attention: String?
        let dim: Int, heads: Int, tokens: Int, timeSteps: Int, mlpRatio: Int, lanes: Int, maxInputCount: Int
        let inputCountWidth: Int, outputCountWidth: Int, countsPerBeat: Int
        let weights: String, flipFlops: Int, memoryBits: Int, memories: [Memory], files: Files
        let resources: GenerateReport.Resources
        let performance: BlockPerformance.Report
    }

    /// What the block is, for its README.
    static func describe(_ r: Report) -> String {
        if r.block == BlockKind.mlp.rawValue {
            return "The MLP of block \(r.index) of \(r.model) stage \(r.stage): fc1 from C to \(r.mlpRatio) x C hidden channels, fc2 back to C, each followed by BN and LIF"
        }
        let attention = r.attention == "channel" ? "channel attention (QKCA)" : "token attention (QKTA)"
        return "QKFormer block \(r.index) of \(r.model) stage \(r.stage): x1 = x + Attn(x), x2 = x1 + MLP(x1), with \(attention) and MLP hidden = \(r.mlpRatio) x C"
    }

    /// `README.md` of a composite block's folder: the common sections of FolderReadme, the
    /// resource estimate and the cycle estimate.
    static func readme(_ r: Report, design: Design, absolute: String?, flags: String) -> String {
        let cosim = """
            QKForge co-simulates this same block (same weights) against its golden model with
            `qkforge cosim \(flags)`; it prints the cycles per sample it measured.
            """
        return """
            # \(r.top)

            \(describe(r)) (C = \(r.dim), \(r.heads) heads, \(r.tokens) tokens, T = \(r.timeSteps), \(r.lanes) lanes,
            input counts 0...\(r.maxInputCount)), weights: \(r.weights). Written by \(r.generator); do not edit, regenerate.
            \(FolderText.files(top: r.top, absolute: absolute))
            \(FolderText.ports(design))
            \(FolderText.simulate(top: r.top, absolute: absolute, cosim: cosim))
            \(FolderText.synthesize(top: r.top, absolute: absolute))
            \(FolderText.resources(r.resources, flipFlops: r.flipFlops, memoryBits: r.memoryBits))
            \(BlockPerformance.readme(r.performance))

            """
    }

    /// The printed summary: the resource and cycle estimates.
    static func summary(_ r: Report) -> [String] {
        let e = r.resources
        return [
            "  estimate (no synthesis): \(e.luts) LUTs, \(e.flipFlops) FFs, BRAM \(e.bram36) x 36K + \(e.bram18) x 18K, \(e.dsps) DSPs (xc7)",
            "  counted: \(r.flipFlops) flip-flops, \(r.memoryBits) memory bits",
        ] + BlockPerformance.summary(r.performance)
    }

    static func generate(_ c: BlockConfig, _ args: Arguments, out: String, folder: (url: URL, absolute: String?)) throws {
        let b = try build(c, args)
        let design = try Elaborate.run(b.top)
        let emitted = VerilogEmitter.emit(design, directory: folder.absolute)
        let r = IRResources(design)
        let report = Report(generator: "qkforge \(QKForgeVersion.string)", top: emitted.top, model: c.model ?? "custom",
                            stage: c.stage, index: c.index, block: c.block.rawValue,
                            attention: c.block == .qkformerBlock ? (c.attention == .qkca ? "channel" : "token") : nil,
                            dim: c.dim, heads: c.heads, tokens: c.tokens, timeSteps: c.timeSteps, mlpRatio: c.mlpRatio,
                            lanes: b.lanes, maxInputCount: maxInputCount(c), inputCountWidth: b.input.countWidth,
                            outputCountWidth: b.output.countWidth, countsPerBeat: b.input.lanes, weights: b.origin,
                            flipFlops: r.flipFlops, memoryBits: r.memoryBits,
                            memories: r.memories.map { Report.Memory(path: $0.path, depth: $0.depth, width: $0.width) },
                            files: Report.Files(paths: folder.absolute == nil ? "relative" : "absolute",
                                                memoryDirectoryMacro: VerilogEmitter.memoryDirectoryMacro,
                                                memoryDirectory: folder.absolute ?? "."),
                            resources: GenerateReport.Resources(ResourceModel.estimate(design).total), performance: BlockPerformance.estimate(b.cycles, stage: c.stage))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        // The flags that rebuild this block, made explicit.
        var flags: [String] = []
        if let m = args.string("model") { flags += ["--model", m] }
        for f in ["stage", "block"] { if let v = args.string(f) { flags += ["--\(f)", v] } }
        flags += ["--lanes", "\(b.lanes)", "--seed", "\(try args.uint64("seed", default: 1))"]
        let readme = readme(report, design: design, absolute: folder.absolute, flags: flags.joined(separator: " "))
        let files = (emitted.allFiles + [EmittedDesign.File(name: "report.json", contents: json),
                                         EmittedDesign.File(name: "README.md", contents: readme)]).map { ($0.name, Data($0.contents.utf8)) }
        try Outputs.writeDirectory(out, flag: "--out", force: args.flag("force"), inputs: ModelCommands.inputPaths(args), files: files)
        print("wrote \(emitted.allFiles.count + 2) files to \(out) (top module \(emitted.top); files.f, README.md, report.json)")
        for line in summary(report) { print(line) }
    }

    static func cosim(_ c: BlockConfig, _ args: Arguments) throws {
        if args.flag("calibrate") {
            throw Arguments.UsageError(description: "--calibrate is not supported with --block \(c.block.rawValue) yet; drop --calibrate")
        }
        let b = try build(c, args)
        let samples = try args.int("samples", default: 2, in: 1...1000)
        let seed = try args.uint64("seed", default: 1)
        let stim = try StimulusFlags(args)
        let rate = stim.rate ?? 0.2
        var o = BlockStreamCosim.Options()
        o.seed = seed
        if let st = stim.stall { (o.inputStall, o.outputStall) = (st, st) }
        let trace = stim.trace
        o.tracePath = trace?.temporary
        defer { trace?.discard() }
        let xs = BlockStreamCosim.randomSamples(timeSteps: c.timeSteps, tokens: c.tokens, channels: c.dim, rate: rate,
                                                maxCount: maxInputCount(c), count: samples, seed: seed)
        let expected: [SpikeTensor]
        do { expected = try xs.map(b.golden) } catch let e as GoldenError {
            throw Arguments.UsageError(description: "golden model: \(e)")
        }
        print("co-simulating \(c.block.rawValue) of \(c.model ?? "custom") stage \(c.stage) block \(c.index): C=\(c.dim) N=\(c.tokens) T=\(c.timeSteps) lanes=\(b.lanes), input counts 0...\(maxInputCount(c)), \(samples) samples, input rate \(rate), stalls \(o.inputStall), seed \(seed)")
        let r = try BlockStreamCosim.run(try Elaborate.run(b.top), input: b.input, output: b.output, tokens: c.tokens,
                                         samples: xs, expected: expected, options: o)
        try trace?.commit()
        print("  \(r.vectors) vectors, \(r.cycles) cycles (\(r.cycles / max(r.samples, 1)) per sample); \(String(format: "%.1f", r.seconds)) s wall")
        for m in r.mismatches.prefix(5) { print("  mismatch: \(m)") }
        if r.mismatchCount > 5 { print("  ... \(r.mismatchCount) mismatching counts in all") }
        for p in r.protocolErrors.prefix(5) { print("  protocol: \(p)") }
        if let dir = r.replayDirectory { print("  replay: cd \(dir.path) && bash replay.sh") }
        if let t = args.string("trace") { print("waveform: \(t)") }
        print("\(r.samples - r.failedSamples) passed, \(r.failedSamples) failed")
        if !r.passed {
            let first = r.mismatches.first.map { "first mismatch: \($0)" } ?? r.protocolErrors.first ?? ""
            throw Failure(message: "RTL and golden model disagree; \(first)", code: 1)
        }
    }
}
