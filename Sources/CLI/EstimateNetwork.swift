import Description
import Blocks
import HDL
import Foundation
import Estimator

/// `qkforge estimate --model NAME|CONFIG.json [--block network] [--lanes P | --target-fps F |
/// --budget LUTS] [--clock-mhz F] [--seed S] [--e-ac PJ] [--e-mac PJ] [--e-mem-bit PJ] [--json]
/// [--html FILE.html]`: the whole network (stem, patch embeddings, QKFormer blocks, head) as one
/// layer pipeline: per layer and in total resources, memory, cycles per image, latency,
/// images per second and energy per image two ways (docs/estimate-network.md).
enum EstimateNetwork {
    static let flags: Set<String> = ["model", "block", "lanes", "target-fps", "budget", "clock-mhz", "seed", "e-ac", "e-mac", "e-mem-bit",
                                     "json", "html"]
    /// The clock `--target-fps` folds at when `--clock-mhz` is not given (an assumption, printed
    /// as one); every figure of the estimate then uses the estimated Fmax (`fmax`).
    static let assumedClockMHz = 200.0

    static func isNetwork(_ args: Arguments) -> Bool { NetworkCommands.applies(args) }

    static func run(_ args: Arguments) throws {
        if let f = args.givenFlags.first(where: { !flags.contains($0) }) {
            throw Arguments.UsageError(description: "--\(f) does not apply to a whole network (--block network, the default of a named model); pick one block with --stage S or --block qkta|qkca|ssa|mlp|qkformer-block, or drop --\(f) (the network's flags: \(flags.sorted().map { "--" + $0 }.joined(separator: ", ")))")
        }
        if let h = args.string("html") {
            guard h.hasSuffix(".html") else { throw Arguments.UsageError(description: "--html must name an .html file, got '\(h)'") }
            try Outputs.checkFile(h, flag: "--html", inputs: ModelCommands.inputPaths(args))
        }
        let config = try networkConfig(args)
        let seed = try args.uint64("seed", default: 1)
        let energy = try EstimateCommand.energy(args)
        let network: NetworkDescription
        do { network = try NetworkDescription.random(config, seed: seed) } catch let e as ConfigError {
            throw Arguments.UsageError(description: e.description)
        }
        let p = try pipeline(args, network)
        var (model, folding, cache, clock, clockSource) = (p.model, p.folding, p.cache, p.clockMHz, p.clockSource)
        if !args.given("clock-mhz") {
            // The estimated Fmax is the clock of every figure; --target-fps was folded at the
            // assumed clock (pipeline), so say whether the estimated clock still meets it.
            let f = try fmax(network, lanes: folding.lanes, layers: model.layers)
            clock = f.mhz
            clockSource = f.source
            if case .targetFPS(let fps) = folding.method {
                let cycles = try PipelineTiming(model: model, lanes: folding.lanes, cache: cache).cyclesPerImage
                let got = clock * 1e6 / max(cycles, 1)
                folding.note += String(format: " at an ASSUMED %.0f MHz; at the estimated Fmax of %.1f MHz that is %.4g images/s: %@", assumedClockMHz, clock, got,
                                       got >= fps ? "the target is met" : "the target is NOT met (give --clock-mhz to fold for a clock you trust)")
                if got < fps { folding.feasible = false }
            }
        }
        let est = try NetworkEstimate(model: model, folding: folding, cache: cache, clockMHz: clock, clockSource: clockSource, energy: energy)
        if args.flag("json") {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try e.encode(est.report(schemaVersion: EstimateCommand.schemaVersion)), as: UTF8.self))
        } else {
            print("weights: \(network.origin)")
            print(est.text(), terminator: "")
        }
        if let h = args.string("html") {
            try Outputs.writeFile(h, flag: "--html", inputs: ModelCommands.inputPaths(args), data: Data(NetworkReportHTML.render(est).utf8))
            if !args.flag("json") { print("wrote \(h)") }
        }
    }

    /// The network's Fmax estimate: `LogicDepth` (ECP5 speed 8, the delays calibrated against
    /// nextpnr in docs/estimate-accuracy.md) of each section's module as `generate` builds it at
    /// this folding (the stem, every embedding and block, the head); the slowest sets the clock.
    static func fmax(_ n: NetworkDescription, lanes: [Int], layers: [NetworkLayer]) throws -> (mhz: Double, source: String) {
        let hw: NetworkHardware
        do { hw = try NetworkHardware(n, folding: NetworkCommands.hardwareFolding(lanes, layers: layers)) } catch let e as BlockError {
            throw Arguments.UsageError(description: "\(n.config.model ?? "network"): \(e)")
        }
        var parts: [(String, Module)] = []
        if let sc = hw.stem { parts.append(("stem", try makeStem(sc))) }
        for (h, s) in zip(hw.sections, n.sections) { parts.append((s.name, h.module)) }
        parts.append(("head", try makeHead(hw.head)))
        var worst: (name: String, path: LogicDepth.Path)? = nil
        for (name, module) in parts {
            let path = LogicDepth.analyze(try Elaborate.run(module), lutInputs: 4, delays: .ecp5)
            if ProcessInfo.processInfo.environment["QKFORGE_DEPTH_SECTIONS"] != nil {
                print(String(format: "  section %@: %.2f ns (%.1f MHz) into %@, %d LUT4 levels, %d carry chains", name, path.ns, path.fmaxMHz,
                             path.endModule, path.lutLevels, path.chains))
            }
            if worst == nil || path.ns > worst!.path.ns { worst = (name, path) }
        }
        let w = worst!
        return (w.path.fmaxMHz, String(format: "estimated Fmax (ECP5 speed 8, LogicDepth of each section's netlist, a model checked against nextpnr on blocks: docs/estimate-accuracy.md): slowest %@ (path into %@), %.2f ns, %d LUT4 levels, %d carry chains, %d carry bits; --clock-mhz overrides",
                                        w.name, w.path.endModule.isEmpty ? "its top" : w.path.endModule, w.path.ns, w.path.lutLevels, w.path.chains, w.path.carryBits))
    }

    /// The pipeline folding the flags ask for (`--lanes`, `--target-fps` at the clock, `--budget`),
    /// from the cycle model at the network's firing rates; `generate` builds the same folding.
    struct Pipeline {
        let model: NetworkCycleModel, cache: LaneCycleCache, folding: PipelineFolding
        let clockMHz: Double, clockSource: String
    }

    static func pipeline(_ args: Arguments, _ network: NetworkDescription) throws -> Pipeline {
        let methods = ["lanes", "target-fps", "budget"].filter(args.given)
        if methods.count > 1 {
            throw Arguments.UsageError(description: "--\(methods[0]) and --\(methods[1]) are two ways to fold the pipeline; give one of them")
        }
        let clockGiven = args.string("clock-mhz") != nil
        let clock = try EstimateCommand.positive(args, "clock-mhz", default: assumedClockMHz)
        let clockSource = clockGiven ? "given (--clock-mhz)" : "ASSUMED (folding only: the estimate then uses the estimated Fmax)"
        let fps = try args.string("target-fps").map { _ in try EstimateCommand.positive(args, "target-fps", default: 1) }
        let budget = try args.string("budget").map { s -> Int in
            guard let v = Int(s), v >= 1 else { throw Arguments.UsageError(description: "--budget must be a whole number of LUTs of at least 1, got '\(s)'") }
            return v
        }
        let lanes = try args.string("lanes").map { _ in try args.int("lanes", default: 1, in: 1...256) }
        let model = NetworkCycleModel(network, rates: network.layerRates())
        let cache = LaneCycleCache(model)
        let folding: PipelineFolding
        if let f = fps {
            folding = try PipelineFolding.targetFPS(f, clockMHz: clock, cache: cache)
        } else if let b = budget {
            folding = try PipelineFolding.budget(b, cache: cache)
        } else {
            folding = lanes.map { PipelineFolding.uniform($0, model: model) } ?? PipelineFolding.hardwareDefault(model: model)
        }
        return Pipeline(model: model, cache: cache, folding: folding, clockMHz: clock, clockSource: clockSource)
    }

    static func networkConfig(_ args: Arguments) throws -> NetworkConfig {
        guard let m = args.string("model") else {
            throw Arguments.UsageError(description: "--model is required: a name (\(ModelConfig.named.map(\.name).joined(separator: ", "))) or a network config.json")
        }
        do {
            if m.hasSuffix(".json") {
                let data: Data
                do { data = try Data(contentsOf: URL(fileURLWithPath: m)) } catch {
                    throw Arguments.UsageError(description: "cannot read config '\(m)' (\(Outputs.reason(error))); check the path")
                }
                return try NetworkConfig.parse(json: data)
            }
            return try NetworkConfig.named(m)
        } catch let e as ConfigError {
            throw Arguments.UsageError(description: "\(m): \(e.description)")
        }
    }
}
