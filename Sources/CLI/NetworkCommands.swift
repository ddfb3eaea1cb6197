import Blocks
import Cosim
import Description
import Estimator
import Foundation
import Golden
import HDL

/// The whole-network forms of `generate`, `cosim`, `simulate` and `estimate` (docs/cli.md): `--block
/// network`, a config.json / bundle whose `block` is `network`, or (`generate`, `estimate`) a
/// named model without `--stage` or `--block`.
enum NetworkCommands {
    /// Whether the flags name a whole network.
    static func applies(_ args: Arguments) -> Bool {
        if args.string("block") == "network" { return true }
        guard args.string("block") == nil else { return false }
        // `generate` and `estimate --model NAME` take the whole network; --stage (or --block) picks one block.
        if ["generate", "estimate"].contains(args.command), args.string("stage") == nil, args.string("bundle") == nil,
           let m = args.string("model"), !m.hasSuffix(".json") { return true }
        let path = args.string("model").flatMap { $0.hasSuffix(".json") ? $0 : nil }
            ?? args.string("bundle").map { URL(fileURLWithPath: $0).appendingPathComponent("config.json").path }
        guard let p = path, let data = FileManager.default.contents(atPath: p),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return obj["block"] as? String == "network"
    }

    /// The network config the flags name.
    static func config(_ args: Arguments) throws -> NetworkConfig {
        if args.string("stage") != nil {
            throw Arguments.UsageError(description: "--stage picks one block's stage; a whole network (--block network) has every stage: drop --stage")
        }
        guard let model = args.string("model") ?? args.string("bundle").map({ URL(fileURLWithPath: $0).appendingPathComponent("config.json").path }) else {
            throw Arguments.UsageError(description: "--model is required: a name (\(ModelConfig.named.map(\.name).joined(separator: ", "))) or a config.json path")
        }
        do {
            if model.hasSuffix(".json") {
                guard let data = FileManager.default.contents(atPath: model) else {
                    throw Arguments.UsageError(description: "cannot read config '\(model)'; check the path")
                }
                return try NetworkConfig.parse(json: data)
            }
            return try NetworkConfig.named(model)
        } catch let e as ConfigError {
            throw Arguments.UsageError(description: "\(model): \(e.description)")
        }
    }

    /// `--lanes P` (every section alike), or `--budget LUTS` / `--target-fps F` (each layer's
    /// lanes from the estimator's pipeline folding, as `estimate --block network` prints it).
    static func folding(_ args: Arguments, _ n: NetworkDescription) throws -> NetworkFolding {
        guard args.given("budget") || args.given("target-fps") else {
            if args.given("clock-mhz") { throw Arguments.UsageError(description: "--clock-mhz sets the clock --target-fps is met at; give --target-fps or drop it") }
            return NetworkFolding(lanes: try args.string("lanes").map { _ in try args.int("lanes", default: 8, in: 1...256) })
        }
        let p = try EstimateNetwork.pipeline(args, n)
        if !p.folding.feasible { print("note: \(p.folding.note)") }
        return hardwareFolding(p.folding.lanes, layers: p.model.layers)
    }

    /// The whole-network watchdog of `simulate` and `cosim` (cycles without a beat on either port
    /// before the run is called stuck): twice the cycles the cycle model gives one image with no
    /// overlap between layers, every spike rate at 1 (its worst case) and each layer at its lanes
    /// in the folding, plus a million. A real deadlock is reported that late, but a
    /// long computation between the last pixel and the first class score is never taken for one.
    static func watchdogCycles(_ n: NetworkDescription, _ args: Arguments) throws -> Int {
        let worst = n.layerRates().map { r -> LayerRates in
            var w = r
            (w.input, w.output) = (1, 1)
            for k in [\LayerRates.q, \.k, \.attention, \.xPrime, \.attentionOut, \.x1, \.fc1, \.fc2] where w[keyPath: k] != nil {
                w[keyPath: k] = 1
            }
            return w
        }
        let model = NetworkCycleModel(n, rates: worst)
        let lanes: [Int]
        if args.given("budget") || args.given("target-fps") {
            lanes = try EstimateNetwork.pipeline(args, n).folding.lanes
        } else if args.given("lanes") {
            lanes = PipelineFolding.uniform(try args.int("lanes", default: 8, in: 1...256), model: model).lanes
        } else {
            lanes = PipelineFolding.hardwareDefault(model: model).lanes
        }
        var cycles = 0.0
        let folded = lanes.indices.map { min(lanes[$0], model.maxLanes($0)) }
        for (i, p) in folded.enumerated() { cycles += try model.cycles(i, lanes: p, inputLanes: model.inputLanes(i, lanes: folded)) }
        return Int(min(2 * cycles + 1e6, 1e12))
    }

    /// The estimator's per-layer lanes as hardware folding: the stem's multipliers, each conv's
    /// lanes, and each block's; the blocks of a stage read one another's beats, so they all take
    /// the widest of them (the head reads whatever the last stage writes).
    static func hardwareFolding(_ lanes: [Int], layers: [NetworkLayer]) -> NetworkFolding {
        var f = NetworkFolding()
        var run: [String] = [], widest = 0
        func close() { for name in run { f.sectionLanes[name] = widest }; (run, widest) = ([], 0) }
        for (l, p) in zip(layers, lanes) {
            switch l.kind {
            case .stem: f.stemMultipliers = p
            case .conv:
                close()
                f.sectionLanes[l.name] = p
                f.sectionLanes[l.section] = max(f.sectionLanes[l.section] ?? 0, p)
            case .block: run.append(l.section); widest = max(widest, p)
            case .head: close()
            }
        }
        close()
        return f
    }

    /// The network: a bundle's trained weights (`--bundle`, docs/formats.md), or seeded random
    /// weights for a named model or config.json (`--model`, `--seed`).
    static func network(_ args: Arguments) throws -> NetworkDescription {
        if let b = args.string("bundle") {
            try args.forbid(args.command == "cosim" ? ["model", "stage"] : ["model", "seed", "stage"], "with a network bundle (its config.json describes the whole network and its tensors the weights); drop it")
            let bundle: NetworkBundle
            do { bundle = try NetworkBundle.load(directory: URL(fileURLWithPath: b)) } catch let e as ConfigError {
                throw Arguments.UsageError(description: "\(b): \(e.description)")
            }
            for line in bundle.reportLines { print(line) }
            return bundle.network
        }
        let c = try config(args)
        do { return try NetworkDescription.random(c, seed: try args.uint64("seed", default: 1)) } catch let e as ConfigError {
            throw Arguments.UsageError(description: e.description)
        }
    }

    static func hardware(_ n: NetworkDescription, _ args: Arguments) throws -> NetworkHardware {
        do { return try NetworkHardware(n, folding: try folding(args, n)) } catch let e as BlockError {
            throw Arguments.UsageError(description: "\(n.config.model ?? "network"): \(e)")
        }
    }

    /// What `generate` writes into report.json for a network.
    struct Report: Encodable {
        struct Section: Encodable {
            let name: String, module: String, input: String, output: String, flipFlops: Int, memoryBits: Int
            /// Counts per output beat, and each conv's lanes.
            let lanes: Int, convLanes: [String: Int]
            /// A block's lane converter, where the stream before it has other lanes: its input and output lanes.
            var converter: [String: Int]? = nil
        }
        let generator: String, top: String, model: String, embedding: String, image: [Int], inChannels: Int, classes: Int
        let timeSteps: Int, weights: String, input: String, sections: [Section], head: String, flipFlops: Int, memoryBits: Int
        let resources: GenerateReport.Resources
        let files: GenerateReport.Files
    }

    static func generate(_ args: Arguments) throws {
        guard let out = args.string("out") else { throw Arguments.UsageError(description: "--out DIR is required") }
        try Outputs.checkDirectory(out, flag: "--out", force: args.flag("force"), inputs: ModelCommands.inputPaths(args))
        let folder = try ModelCommands.outputFolder(out, portable: args.flag("portable"))
        let n = try network(args)
        let hw = try hardware(n, args)
        let design = try Elaborate.run(try hw.makeModule())
        let emitted = VerilogEmitter.emit(design, directory: folder.absolute)
        let r = IRResources(design)
        var sections: [Report.Section] = []
        if let sc = hw.stem {
            let m = try makeStem(sc), ir = IRResources(try Elaborate.run(m))
            sections.append(Report.Section(name: "stem", module: m.name, input: "\(n.image)", output: "\(try n.stemOutput())",
                                           flipFlops: ir.flipFlops, memoryBits: ir.memoryBits, lanes: sc.outputFormat.lanes, convLanes: [:]))
        }
        for (h, s) in zip(hw.sections, n.sections) {
            let ir = IRResources(try Elaborate.run(h.module))
            sections.append(Report.Section(name: s.name, module: h.module.name, input: "\(s.input)", output: "\(s.output)",
                                           flipFlops: ir.flipFlops, memoryBits: ir.memoryBits, lanes: h.output.lanes,
                                           convLanes: Dictionary(h.convs.map { (layerName(s.name, $0.name, n), $0.lanes) }, uniquingKeysWith: max),
                                           converter: h.converter.map { ["from": $0.input.lanes, "to": $0.outputLanes] }))
        }
        let c = n.config
        let report = Report(generator: "qkforge \(QKForgeVersion.string)", top: emitted.top, model: c.model ?? "custom",
                            embedding: c.embedding.rawValue, image: c.image, inChannels: c.inChannels, classes: c.classes,
                            timeSteps: c.timeSteps, weights: n.origin, input: "\(n.image)", sections: sections, head: hw.head.name,
                            flipFlops: r.flipFlops, memoryBits: r.memoryBits,
                            resources: GenerateReport.Resources(ResourceModel.estimate(design).total),
                            files: GenerateReport.Files(paths: folder.absolute == nil ? "relative" : "absolute",
                                                        memoryDirectoryMacro: VerilogEmitter.memoryDirectoryMacro,
                                                        memoryDirectory: folder.absolute ?? "."))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        let readme = """
            # \(emitted.top): the whole network \(c.model ?? "custom")

            Generated by qkforge \(QKForgeVersion.string) (`qkforge generate \(rebuildFlags(args))`).
            \(n.stem == nil ? "DVS frames" : "Image") in on `s_axis`, class scores `z[k]` out on `m_axis`: the ports, beat layout, order, reset and what is
            undefined are in the header of `\(emitted.top).v`. Every section is its own module with its weights in on-chip ROM
            (`$readmemh` images in this folder; define `\(VerilogEmitter.memoryDirectoryMacro)` to read them from elsewhere).

            Input: \(n.image). Weights: \(n.origin).

            | section | module | reads | writes | lanes |
            |---|---|---|---|---|
            \(sections.map { "| \($0.name) | `\($0.module)` | \($0.input) | \($0.output) | \($0.lanes) |" }.joined(separator: "\n"))
            | head | `\(try makeHead(hw.head).name)` | \(n.output) | \(c.classes) class scores | \(hw.head.lanes) |

            Counted in the IR: \(r.flipFlops) flip-flops, \(r.memoryBits) memory bits. `report.json` has the figures;
            `qkforge estimate` gives cycles, latency and energy.

            Build with Verilator: `verilator --lint-only -Wall -F files.f --top-module \(emitted.top)`.
            """
        let files = (emitted.allFiles + [EmittedDesign.File(name: "report.json", contents: json),
                                         EmittedDesign.File(name: "README.md", contents: readme + "\n")]).map { ($0.name, Data($0.contents.utf8)) }
        try Outputs.writeDirectory(out, flag: "--out", force: args.flag("force"), inputs: ModelCommands.inputPaths(args), files: files)
        print("wrote \(emitted.allFiles.count + 2) files to \(out) (top module \(emitted.top); files.f, README.md, report.json)")
        print("  \(n.sections.count) sections and the head; \(r.flipFlops) flip-flops, \(r.memoryBits) memory bits (counted in the IR)")
    }

    /// `patch_embed2.conv1` (as `estimate` names the layer) for the conv module `patch_embed2_hst_4_384_conv1`.
    static func layerName(_ section: String, _ conv: String, _ n: NetworkDescription) -> String {
        let prefix = "\(section.replacingOccurrences(of: ".", with: "_"))_\((n.config.model ?? "custom").replacingOccurrences(of: "-", with: "_"))_"
        return conv.hasPrefix(prefix) ? "\(section).\(conv.dropFirst(prefix.count))" : conv
    }

    static func rebuildFlags(_ args: Arguments) -> String {
        var flags: [String] = []
        if let m = args.string("model") { flags += ["--model", m] }
        if let b = args.string("bundle") { flags += ["--bundle", b] } else { flags += ["--block", "network"] }
        for k in ["lanes", "budget", "target-fps", "clock-mhz"] { if let v = args.string(k) { flags += ["--\(k)", v] } }
        if args.string("bundle") == nil { flags += ["--seed", "\((try? args.uint64("seed", default: 1)) ?? 1)"] }
        return flags.joined(separator: " ")
    }

    static func cosim(_ args: Arguments) throws {
        try args.forbid(["calibrate", "rate", "trace"], "with a whole network (random images drive it; --stall and --samples apply)")
        let n = try network(args)
        let hw = try hardware(n, args)
        var o = NetworkCosim.Options()
        o.seed = try args.uint64("seed", default: 1)
        let stim = try StimulusFlags(args)
        if let st = stim.stall { (o.inputStall, o.outputStall) = (st, st) }
        let count = try args.int("samples", default: 1, in: 1...1000)
        o.workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-netcosim-\(getpid())")
        o.idleLimit = try watchdogCycles(n, args)
        let r: NetworkCosim.Result
        if case .frames = n.image.kind {
            print("co-simulating the whole network \(n.config.model ?? "custom"): \(n.image), \(n.sections.count) sections, \(count) random DVS sample(s), stalls \(o.inputStall), seed \(o.seed)")
            r = try NetworkCosim.run(hw, frames: NetworkCosim.randomFrames(n.image, count: count, seed: o.seed), options: o)
        } else {
            print("co-simulating the whole network \(n.config.model ?? "custom"): \(n.image), \(n.sections.count) sections, \(count) random image(s), stalls \(o.inputStall), seed \(o.seed)")
            r = try NetworkCosim.run(hw, images: NetworkCosim.randomImages(n.image, count: count, seed: o.seed), options: o)
        }
        for l in r.layers {
            print("  \(l.name): \(l.vectors) vectors, \(l.cycles) cycles, \(l.passed ? "equal" : "\(l.mismatchCount) mismatching counts")"
                  + (l.firstMismatch.map { "; first: \($0)" } ?? "") + (l.replayDirectory.map { "; replay: \($0.path)" } ?? ""))
        }
        if let c = r.wholeCycles {
            print("  whole network: \(r.zCompared) class scores compared, \(r.zMismatches.count) wrong, \(c) cycles for \(count) sample(s); classes \(r.predicted)")
        }
        for e in (r.zMismatches + r.wholeErrors).prefix(5) { print("  \(e)") }
        print("\(r.passed ? count : 0) passed, \(r.passed ? 0 : count) failed")
        if !r.passed { throw Failure(message: "RTL and golden model disagree; \(r.firstFailure ?? "")", code: 1) }
    }
}
