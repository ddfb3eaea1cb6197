import Description
import Foundation
import HDL
import Blocks
import Golden
import Cosim
import Estimator

/// The model-level commands: `generate`, `cosim`, `golden`, `simulate` and `quantize` on a named
/// model or a `config.json`, with random but seeded weights on the quantization grid, or with
/// a trained model's weights from a bundle (`--bundle DIR`).
enum ModelCommands {
    static let modelFlags: Set<String> = ["model", "stage", "block", "lanes", "seed", "bundle"]

    /// The paths this run reads (a config.json, the bundle, the input spikes): no output may
    /// replace them or a directory holding them (docs/cli.md, "Outputs").
    static func inputPaths(_ args: Arguments) -> [String] {
        var paths = ["bundle", "input"].compactMap(args.string)
        if let m = args.string("model"), m.hasSuffix(".json") { paths.append(m) }
        return paths
    }

    /// The block the flags name. With `--bundle DIR` and no `--model`, the bundle's config.json.
    static func block(_ args: Arguments) throws -> BlockConfig {
        let bundleConfig = args.string("bundle").map { URL(fileURLWithPath: $0).appendingPathComponent("config.json").path }
        // Without --model the bundle's config.json names the block: the folder must be there now
        // (with --model, the bundle is loaded, and checked, once the flags are known to apply).
        if let dir = args.string("bundle"), args.string("model") == nil {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else {
                throw Arguments.UsageError(description: "--bundle '\(dir)' does not exist; give the bundle folder (config.json and tensors/)")
            }
            guard isDir.boolValue else {
                throw Arguments.UsageError(description: "--bundle '\(dir)' is a file, not a folder; give the bundle folder (config.json and tensors/)")
            }
        }
        if let path = bundleConfig, args.string("model") == nil, !FileManager.default.fileExists(atPath: path) {
            throw Arguments.UsageError(description: "--bundle '\(args.string("bundle")!)' has no config.json; a bundle needs one (tools/export_bundle.py writes it)")
        }
        guard let model = args.string("model") ?? bundleConfig else {
            throw Arguments.UsageError(description: "--model is required: a name (\(ModelConfig.named.map(\.name).joined(separator: ", "))) or a config.json path")
        }
        var blockKind: BlockKind?
        if let b = args.string("block") {
            guard let k = BlockKind(rawValue: b) else {
                throw Arguments.UsageError(description: "--block must be one of \(BlockKind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(b)'")
            }
            blockKind = k
        }
        let stageFlag = try args.string("stage").map { _ in try args.int("stage", default: 1, in: 1...16) }
        var config: BlockConfig
        do {
            if model.hasSuffix(".json") {
                let data: Data
                if let info = Outputs.statOf(model), (info.st_mode & S_IFMT) != S_IFREG {
                    throw Arguments.UsageError(description: "config '\(model)' is \(Outputs.kind(info.st_mode)), not a file; give a config.json file")
                }
                do { data = try Data(contentsOf: URL(fileURLWithPath: model)) } catch {
                    throw Arguments.UsageError(description: "cannot read config '\(model)' (\(Outputs.reason(error))); check the path")
                }
                config = try BlockConfig.parse(json: data)
                if stageFlag != nil && config.model == nil {
                    throw Arguments.UsageError(description: "--stage picks a stage of a named model, and \(model) names none; drop --stage (its fields give the block)")
                }
                if let s = stageFlag, let name = config.model {
                    let attention = config.attention
                    config = try BlockConfig.named(name, stage: s, block: blockKind ?? config.block)
                    config.attention = attention
                }
                if let k = blockKind { config.block = k }
            } else {
                config = try BlockConfig.named(model, stage: stageFlag ?? 1, block: blockKind)
            }
        } catch let e as ConfigError {
            throw Arguments.UsageError(description: "\(model): \(e.description)")
        }
        try MemoryCheck.require(config, samples: 1, source: model)
        return config
    }

    /// `--lanes`, or the default: one lane per 8 channels, so that a vector's `C/P` accumulate
    /// cycles per event stay 8 whatever the model size.
    static func lanes(_ args: Arguments, _ c: BlockConfig) throws -> Int {
        try args.int("lanes", default: min(256, max(1, c.dim / 8)), in: 1...256)
    }

    /// The block's model: the bundle's weights with `--bundle`, random seeded ones otherwise;
    /// inputs up to `maxInputCount` (nil: the block's own, docs/arithmetic.md §5). With a
    /// bundle, its importer report too.
    static func build(_ c: BlockConfig, _ args: Arguments, maxInputCount: Int? = nil) throws -> (model: BlockModel, bundle: BundleReport?) {
        let seed = try args.uint64("seed", default: 1)
        let folding = Folding(lanes: try lanes(args, c))
        do {
            guard let dir = args.string("bundle") else {
                return (try BlockModel(try BlockDescription.random(c, seed: seed, maxInputCount: maxInputCount), folding: folding), nil)
            }
            if args.string("seed") != nil {
                throw Arguments.UsageError(description: "--seed picks random weights and --bundle gives trained ones; drop one of them")
            }
            let b = try BundleReport(dir, c, maxInputCount: maxInputCount)
            return (try BlockModel(b.block, folding: folding), b)
        } catch let e as ConfigError {
            throw Arguments.UsageError(description: e.description)
        } catch let e as GoldenError {
            throw Arguments.UsageError(description: e.description)
        }
    }

    /// A bundle read into a description, with the importer's report.
    struct BundleReport {
        let block: BlockDescription
        let lines: [String]
        let json: [String: Any]

        init(_ dir: String, _ c: BlockConfig, maxInputCount: Int? = nil) throws {
            let r = try BlockDescription.bundle(c, directory: URL(fileURLWithPath: dir), maxInputCount: maxInputCount)
            (block, lines, json) = (r.0, r.report, r.json)
        }
    }

    /// `qkforge quantize --bundle DIR [--json]`: the per-layer quantization report.
    static func quantize(_ args: Arguments) throws {
        guard let dir = args.string("bundle") else {
            throw Arguments.UsageError(description: "--bundle DIR is required: the folder with config.json and tensors/")
        }
        let c = try block(args)
        let b: BundleReport
        do { b = try BundleReport(dir, c) } catch let e as ConfigError { throw Arguments.UsageError(description: e.description) }
        if args.flag("json") {
            let data = try JSONSerialization.data(withJSONObject: b.json, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for line in b.lines { print(line) }
        }
    }

    /// The model refolded with the LIF storage `--lif` names, if given (`estimate`, `timing`).
    static func withLIFStorage(_ model: BlockModel, _ args: Arguments) throws -> BlockModel {
        guard let s = args.string("lif") else { return model }
        guard let storage = LIFStateStorage(rawValue: s) else {
            throw Arguments.UsageError(description: "--lif must be auto, registers, pipelined or ram, got '\(s)'")
        }
        var f = model.folding
        f.storage = storage
        return try model.refolded(f)
    }

    static func generate(_ args: Arguments) throws {
        if NetworkCommands.applies(args) { return try NetworkCommands.generate(args) }
        guard let out = args.string("out") else { throw Arguments.UsageError(description: "--out DIR is required") }
        try Outputs.checkDirectory(out, flag: "--out", force: args.flag("force"), inputs: inputPaths(args))
        let folder = try outputFolder(out, portable: args.flag("portable"))
        let c = try block(args)
        let (model, bundle) = try build(c, args)
        if let b = bundle { for line in b.lines { print(line) } }
        guard let shape = EstimateCommand.shape(model) else {
            return try BlockCommands.generate(model, args, out: out, folder: folder)
        }
        let design = try Elaborate.run(try model.hardware.makeModule())
        let emitted = VerilogEmitter.emit(design, directory: folder.absolute)
        let r = IRResources(design)
        let resources = ResourceModel.estimate(design).total
        let clock = try ClockChoice.choose(design, given: nil)
        let perf = PerformanceEstimate(shape: shape, rates: FiringRates.resolve(shape: shape, stage: c.stage), clockMHz: clock.mhz)
        _ = try args.uint64("seed", default: 1)  // a malformed --seed is still refused
        let report = GenerateReport(
            generator: "qkforge \(QKForgeVersion.string)", top: emitted.top, model: c.model ?? "custom", stage: c.stage,
            block: c.block.rawValue, dim: c.dim, heads: c.heads, tokens: c.tokens, timeSteps: c.timeSteps, lanes: model.folding.lanes,
            weights: model.block.origin,
            flipFlops: r.flipFlops, memoryBits: r.memoryBits,
            memories: r.memories.map { GenerateReport.Memory(path: $0.path, depth: $0.depth, width: $0.width) },
            files: GenerateReport.Files(paths: folder.absolute == nil ? "relative" : "absolute",
                                        memoryDirectoryMacro: VerilogEmitter.memoryDirectoryMacro, memoryDirectory: folder.absolute ?? "."),
            resources: GenerateReport.Resources(resources), performance: GenerateReport.Performance(perf, clock: clock),
            quantization: bundle.map { JSONValue($0.json) })
        let readme = FolderReadme(report: report, design: design, emitted: emitted, flags: rebuildFlags(args, model)).text
        let files = (emitted.allFiles + [EmittedDesign.File(name: "report.json", contents: try report.encoded()),
                                         EmittedDesign.File(name: "README.md", contents: readme)]).map { ($0.name, Data($0.contents.utf8)) }
        try Outputs.writeDirectory(out, flag: "--out", force: args.flag("force"), inputs: inputPaths(args), files: files)
        print("wrote \(emitted.allFiles.count + 2) files to \(out) (top module \(emitted.top); files.f, README.md, report.json)")
        for line in summary(report) { print(line) }
    }

    /// The flags that rebuild this block (a bundle's config.json decides its stage and block),
    /// made explicit.
    static func rebuildFlags(_ args: Arguments, _ model: BlockModel) -> String {
        var flags = args.string("bundle").map { ["--bundle", $0] } ?? []
        if let m = args.string("model") { flags += ["--model", m] }
        for f in ["stage", "block"] { if let v = args.string(f) { flags += ["--\(f)", v] } }
        flags += ["--lanes", "\(model.folding.lanes)"]
        if args.string("bundle") == nil { flags += ["--seed", "\((try? args.uint64("seed", default: 1)) ?? 1)"] }
        return flags.joined(separator: " ")
    }

    /// The folder `--out` names: its URL, and its absolute path unless `--portable`. Paths that
    /// a file list or a Verilog string cannot carry are refused.
    static func outputFolder(_ out: String, portable: Bool) throws -> (url: URL, absolute: String?) {
        let url = URL(fileURLWithPath: out).standardizedFileURL
        if portable { return (url, nil) }
        guard VerilogEmitter.isPlainPath(url.path) else {
            throw Arguments.UsageError(description: "--out \(out): its path '\(url.path)' has a space, quote, backslash or non-ASCII character, which files.f and $readmemh cannot carry; choose a plain path, or add --portable (paths relative to the folder)")
        }
        return (url, url.path)
    }

    /// Short lines: the estimate and the assumptions behind its times.
    static func summary(_ r: GenerateReport) -> [String] {
        let e = r.resources, p = r.performance
        return [
            "  estimate (no synthesis): \(e.luts) LUTs, \(e.flipFlops) FFs, BRAM \(e.bram36) x 36K + \(e.bram18) x 18K, \(e.dsps) DSPs (xc7)",
            "  cycles per sample: \(Int(p.cyclesPerSample.rounded())) at assumed firing rates (input \(EstimateCommand.g(p.rates.input)), QKFormer Table 7)",
            "  latency \(p.latencyCycles) cycles = \(EstimateCommand.g(p.latencyMicroseconds)) us, \(EstimateCommand.g(p.samplesPerSecond)) samples/s at \(EstimateCommand.g(p.clockMHz)) MHz, \(p.clockSource)",
        ]
    }

    static func cosim(_ args: Arguments) throws {
        if NetworkCommands.applies(args) { return try NetworkCommands.cosim(args) }
        let c = try block(args)
        let seed = try args.uint64("seed", default: 1)
        var (model, bundle) = try build(c, args)
        if let b = bundle { for line in b.lines { print(line) } }
        var o = BlockCosim.Options()
        o.samples = try args.int("samples", default: 2, in: 1...1000)
        try MemoryCheck.require(c, samples: o.samples, source: "--samples \(o.samples)")
        o.seed = seed
        let stim = try StimulusFlags(args)
        if let r = stim.rate { o.inputRate = r }
        if let st = stim.stall { (o.inputStall, o.outputStall) = (st, st) }
        let trace = stim.trace
        o.tracePath = trace?.temporary
        defer { trace?.discard() }
        if args.flag("calibrate") {
            let t = BlockDescription.qkformerRates(stage: c.stage)
            guard case .attention = model.block.body else {
                throw Arguments.UsageError(description: "--calibrate sets Q, K and the output to QKFormer's Table 7 rates, which an attention block alone has; drop --calibrate for --block \(c.block.rawValue)")
            }
            let (m, got) = try model.calibrated(to: [t.q, t.k, t.out], inputRate: o.inputRate, seed: seed)
            model = m
            print(String(format: "calibrated biases to QKFormer's Table 7 rates: Q %.4f (target %.4f), K %.4f (%.4f), out %.4f (%.4f)",
                         got[0], t.q, got[1], t.k, got[2], t.out))
        }
        let f = model.block.input
        print("co-simulating \(c.block.rawValue) of \(c.model ?? "custom") stage \(c.stage) block \(c.index): C=\(f.channels) h=\(c.heads) N=\(f.tokens) T=\(f.timeSteps) lanes=\(model.folding.lanes), input counts 0...\(f.maxCount), \(o.samples) samples, input rate \(o.inputRate), stalls \(o.inputStall), seed \(seed)")
        let r = try BlockCosim.run(model, options: o)
        try trace?.commit()
        report(r)
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

    static func report(_ r: BlockCosim.Result) {
        let util = String(format: "%.3f", r.laneUtilization)
        if case .attention(.channel(let q)) = r.model.hardware.structure, let b = try? q.buffers() { print("  QKCA buffers: \(b)") }
        var line = "  \(r.vectors) vectors, \(r.cycles) cycles (\(r.cycles / max(r.samples, 1)) per sample); "
        if case .attention = r.model.block.body {
            line += "event-driven bound \(r.boundCycles), lane utilisation \(String(format: "%.3f", r.utilization)); "
        } else {
            line += "lane utilisation \(util) (useful accumulates / (lanes x cycles), all accumulators); "
        }
        print(line + "\(String(format: "%.1f", r.seconds)) s wall, \(String(format: "%.3g", Double(r.cycles) / max(r.seconds, 1e-9))) cycles/s")
        let rates = r.layerRates.map { "\($0.name) \(String(format: "%.3f", $0.rate))" }
        print("  firing rates: \(rates.joined(separator: ", "))")
    }

    /// Reads a `[T, N, C]` or `[B, T, N, C]` uint8 spike file for `c`: its samples, and whether
    /// it was batched (the output keeps the same form).
    static func input(_ path: String, _ c: BlockConfig) throws -> (samples: [SpikeTensor], batched: Bool, shape: [Int]) {
        let a: NPYArray
        do { a = try NPYArray(contentsOfFile: path) } catch let e as NPYError { throw Arguments.UsageError(description: e.description) }
        guard a.dtype == .uint8 else {
            throw Arguments.UsageError(description: "\(path): spikes must be uint8, got \(a.dtype); save with x.astype(np.uint8)")
        }
        let shape = a.shape
        guard shape.count == 3 || shape.count == 4 else {
            throw Arguments.UsageError(description: "\(path): expected shape [T, N, C] or [B, T, N, C], got \(shape)")
        }
        let s3 = Array(shape.suffix(3))
        guard s3[0] == c.timeSteps, s3[2] == c.dim, s3[1] >= 1 else {
            throw Arguments.UsageError(description: "\(path): shape \(shape) does not fit T = \(c.timeSteps), C = \(c.dim) (expected [T, N, C] with N >= 1)")
        }
        let all = try a.asUInt8()
        let per = s3.reduce(1, *)
        let batch = shape.count == 4 ? shape[0] : 1
        return (try (0..<batch).map { b in try Tensor(shape: s3, scalars: Array(all[(b * per)..<((b + 1) * per)])) },
                shape.count == 4, s3)
    }

    static func writeOutput(_ outs: [SpikeTensor], shape3: [Int], batched: Bool, to path: String, inputs: [String]) throws {
        let shape = batched ? [outs.count] + shape3 : shape3
        let a = try NPYArray(shape: shape, scalars: outs.flatMap(\.scalars))
        try Outputs.writeFile(path, flag: "--output", inputs: inputs, data: a.npyData())
    }

    static func goldenOrSimulate(_ args: Arguments, rtl: Bool) throws {
        guard let inPath = args.string("input"), let outPath = args.string("output") else {
            throw Arguments.UsageError(description: "--input X.npy and --output Y.npy are required")
        }
        let inputs = inputPaths(args)
        try Outputs.checkFile(outPath, flag: "--output", inputs: inputs)
        var c = try block(args)
        let (xs, batched, shape3) = try input(inPath, c)
        guard let first = xs.first else {
            // An empty batch [0, T, N, C]: the output is the empty batch of the same shape.
            try writeOutput([], shape3: shape3, batched: true, to: outPath, inputs: inputs)
            print("wrote \(outPath): the input holds no samples, so neither does the output")
            return
        }
        // The design follows the data: its token count (QKCA buffers a whole time step) and
        // its largest count (the input count width).
        c.tokens = first.shape[1]
        try MemoryCheck.require(c, samples: xs.count, source: inPath)
        let maxCount = max(1, Int(xs.map { $0.scalars.max() ?? 0 }.max() ?? 0))
        let (model, bundle) = try build(c, args, maxInputCount: maxCount)
        if let b = bundle { for line in b.lines { print(line) } }
        if rtl {
            var o = BlockCosim.Options()
            o.inputStall = 0
            o.outputStall = 0
            let r = try BlockCosim.run(model, options: o, inputs: xs)
            try writeOutput(r.outputs, shape3: first.shape, batched: batched, to: outPath, inputs: inputs)
            report(r)
            print("wrote \(outPath); the RTL \(r.passed ? "agrees with" : "DISAGREES with") the golden model on every spike")
            if !r.passed { throw Failure(message: "RTL and golden model disagree; first: \(r.mismatches.first.map(String.init(describing:)) ?? "")", code: 1) }
        } else {
            let outs: [SpikeTensor]
            do { outs = try xs.map { try model.golden.run($0).output } } catch let e as GoldenError {
                throw Arguments.UsageError(description: "\(inPath): \(e)")
            }
            try writeOutput(outs, shape3: first.shape, batched: batched, to: outPath, inputs: inputs)
            print("wrote \(outPath)")
        }
    }
}

/// The stimulus flags both co-simulations take (`--rate`, `--stall`, `--trace`), checked once:
/// the trace is staged through a temporary file that `commit` renames into place.
struct StimulusFlags {
    let rate: Double?
    let stall: Double?
    let trace: (temporary: String, commit: () throws -> Void, discard: () -> Void)?

    init(_ args: Arguments) throws {
        if let r = args.string("rate") {
            guard let v = Double(r), v >= 0, v <= 1 else { throw Arguments.UsageError(description: "--rate must be a number from 0 to 1, got '\(r)'") }
            rate = v
        } else { rate = nil }
        if let s = args.string("stall") {
            guard let v = Double(s), v >= 0, v < 1 else { throw Arguments.UsageError(description: "--stall must be a number from 0 to 0.99, got '\(s)'") }
            stall = v
        } else { stall = nil }
        if let t = args.string("trace") {
            guard t.hasSuffix(".vcd") || t.hasSuffix(".fst") else { throw Arguments.UsageError(description: "--trace file must end in .vcd or .fst, got '\(t)'") }
            trace = try Outputs.stagedFile(t, flag: "--trace", inputs: ModelCommands.inputPaths(args))
        } else { trace = nil }
    }
}
