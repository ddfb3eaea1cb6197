import Foundation
import HDL
import Blocks
import Golden
import Cosim

// The `qkforge` command line. Bad input gets one line naming the problem and the fix, and
// exit code 2; a failed check (a mismatch) exits 1.

let commands: [(name: String, values: Set<String>, switches: Set<String>, summary: String)] = [
    ("generate", ModelCommands.modelFlags.union(["example", "out"]), [], "--model NAME|CONFIG.json [--bundle DIR] [--block qkta] [--stage S] [--lanes P] [--seed S] --out DIR: write the accelerator's Verilog, filelist, weight images and report.json (or --example NAME for an HDL example)"),
    ("cosim", ModelCommands.modelFlags.union(["example", "cycles", "samples", "rate", "stall", "trace"]), ["calibrate"], "--model NAME|CONFIG.json [--bundle DIR] [--stage S] [--lanes P] [--samples N] [--rate R] [--stall F] [--calibrate] [--seed S] [--trace FILE.vcd|.fst]: co-simulate the accelerator in Verilator against the golden model; --calibrate shifts the biases so Q, K and the output fire at QKFormer's Table 7 rates (or --example NAME [--cycles N] against the IR simulator)"),
    ("golden", ModelCommands.modelFlags.union(["input", "output"]), [], "--model NAME|CONFIG.json [--stage S] [--seed S] | --bundle DIR, --input X.npy --output Y.npy: run the golden model on [T,N,C] or [B,T,N,C] uint8 spikes"),
    ("simulate", ModelCommands.modelFlags.union(["input", "output"]), [], "--model NAME|CONFIG.json [--stage S] [--seed S] | --bundle DIR, [--lanes P] --input X.npy --output Y.npy: run the generated RTL in Verilator on the same inputs"),
    ("difftest", ["circuits", "cycles", "seed", "batch"], [], "[--circuits N] [--cycles N] [--seed S] [--batch N]: differential test of random circuits, IR simulator against Verilator"),
    ("bench", ["nodes", "cycles"], [], "[--nodes N] [--cycles N]: time elaboration and emission of a synthetic design, and the Verilator harness against a plain C++ loop"),
    ("estimate", EstimateCommand.values, EstimateCommand.switches, EstimateCommand.summary),
    ("calibrate", CalibrateCommand.values, CalibrateCommand.switches, CalibrateCommand.summary),
    ("quantize", ["bundle", "model", "stage", "block"], ["json"], "--bundle DIR [--json]: fold BatchNorm and quantize a trained block; per layer: grids, largest rounding error, exact or not"),
    ("help", [], [], ": this list"),
]

func usage() -> String {
    var s = "usage: qkforge COMMAND [options]\n\ncommands:\n"
    for c in commands { s += "  \(c.name) \(c.summary)\n" }
    s += "\nexamples: " + ExampleCircuits.all.map(\.name).joined(separator: ", ") + "\n"
    return s
}

struct Failure: Error { let message: String; let code: Int32 }

func example(_ args: Arguments) throws -> Module {
    guard let name = args.string("example") else {
        throw Arguments.UsageError(description: "--example is required; choose one of: \(ExampleCircuits.all.map(\.name).joined(separator: ", "))")
    }
    guard let e = ExampleCircuits.all.first(where: { $0.name == name }) else {
        throw Arguments.UsageError(description: "unknown example '\(name)' for --example; choose one of: \(ExampleCircuits.all.map(\.name).joined(separator: ", "))")
    }
    return e.build()
}

func printResult(_ r: DifferentialTest.Result, what: String) throws {
    let passed = r.mismatches.isEmpty ? 1 : 0
    print("\(what): \(r.cycles) cycles, \(r.outputs) outputs compared every cycle; IR simulator \(String(format: "%.3f", r.simulatorSeconds)) s, Verilator \(String(format: "%.3f", r.verilatorSeconds)) s\(r.verilatorCacheHit ? " (cached build)" : "")")
    for m in r.mismatches.prefix(5) { print("  mismatch: \(m)") }
    if let dir = r.replayDirectory { print("  replay: cd \(dir.path) && bash replay.sh") }
    print("\(passed) passed, \(1 - passed) failed")
    if passed == 0 { throw Failure(message: "\(what) disagrees; first: \(r.mismatches[0])", code: 1) }
}

func run(_ argv: [String]) throws {
    let args = try Arguments(argv) { name in
        commands.first { $0.name == name }.map { ($0.values, $0.switches) }
    }
    switch args.command {
    case "help":
        print(usage(), terminator: "")
    case "generate" where args.string("model") != nil || args.string("bundle") != nil:
        try ModelCommands.generate(args)
    case "cosim" where args.string("model") != nil || args.string("bundle") != nil:
        try ModelCommands.cosim(args)
    case "golden":
        try ModelCommands.goldenOrSimulate(args, rtl: false)
    case "simulate":
        try ModelCommands.goldenOrSimulate(args, rtl: true)
    case "generate":
        let m = try example(args)
        guard let out = args.string("out") else { throw Arguments.UsageError(description: "--out DIR is required") }
        let emitted = VerilogEmitter.emit(try Elaborate.run(m))
        try emitted.write(to: URL(fileURLWithPath: out))
        print("wrote \(emitted.allFiles.count) files to \(out) (top module \(emitted.top))")
    case "cosim":
        let m = try example(args)
        let cycles = try args.int("cycles", default: 10_000, in: 1...100_000_000)
        let seed = try args.uint64("seed", default: 1)
        var options = VerilatorOptions()
        if let t = args.string("trace") {
            if t.hasSuffix(".fst") { options.trace = .fst } else if t.hasSuffix(".vcd") { options.trace = .vcd } else {
                throw Arguments.UsageError(description: "--trace file must end in .vcd or .fst, got '\(t)'")
            }
            options.tracePath = URL(fileURLWithPath: t).path
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-cosim-\(getpid())")
        defer { try? FileManager.default.removeItem(at: work.appendingPathComponent("rtl")) }
        print("co-simulating example '\(m.name)', seed \(seed)")
        let r = try DifferentialTest.run(m, cycles: cycles, seed: seed, workDirectory: work, options: options)
        if let t = options.tracePath { print("waveform: \(t)") }
        try printResult(r, what: m.name)
    case "difftest":
        let circuits = try args.int("circuits", default: 200, in: 1...100_000)
        let cycles = try args.int("cycles", default: 1_000, in: 1...10_000_000)
        let perBatch = try args.int("batch", default: 50, in: 1...1_000)
        let seed = try args.uint64("seed", default: 0xD1FF_0000)
        print("differential test: \(circuits) random circuits x \(cycles) cycles, seed \(seed)")
        var rng = SplitMix64(seed: seed)
        var failed = 0, done = 0, batch = 0
        while done < circuits {
            let n = min(perBatch, circuits - done)
            let seeds = (0..<n).map { _ in rng.next() }
            let top = RandomCircuit.batch(name: "diff_batch\(batch)", seeds: seeds)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-difftest-\(getpid())-\(batch)")
            let r = try DifferentialTest.run(top, cycles: cycles, seed: seed &+ UInt64(batch), workDirectory: work)
            let bad = Set(r.mismatches.map { $0.port.split(separator: "_").first.map(String.init) ?? $0.port })
            failed += bad.count
            print("batch \(batch): \(n) circuits, \(r.outputs) outputs, \(r.mismatches.count) disagreements\(r.replayDirectory.map { "; replay in \($0.path)" } ?? "")")
            if r.mismatches.isEmpty { try? FileManager.default.removeItem(at: work) }
            done += n
            batch += 1
        }
        print("\(circuits - failed) passed, \(failed) failed")
        if failed > 0 { throw Failure(message: "\(failed) circuits disagree", code: 1) }
    case "quantize":
        try ModelCommands.quantize(args)
    case "estimate":
        try EstimateCommand.run(args)
    case "calibrate":
        try CalibrateCommand.run(args)
    case "bench":
        let nodes = try args.int("nodes", default: 100_000, in: 1...10_000_000)
        let cycles = try args.int("cycles", default: 2_000_000, in: 1...1_000_000_000)
        try Bench.run(nodes: nodes, cycles: cycles)
    default:
        throw Arguments.UsageError(description: "unknown command '\(args.command)'; run 'qkforge help'")
    }
}

do {
    try run(Array(CommandLine.arguments.dropFirst()))
} catch let e where e is Arguments.UsageError || e is BlockError || e is GoldenError || e is NPYError || e is ConfigError {
    // Bad input: one line naming the problem and the fix.
    FileHandle.standardError.write(Data("qkforge: \(e)\n".utf8))
    exit(2)
} catch let e as ElaborationError {
    FileHandle.standardError.write(Data("qkforge: design does not elaborate:\n\(e.description)\n".utf8))
    exit(2)
} catch let e as Failure {
    FileHandle.standardError.write(Data("qkforge: \(e.message)\n".utf8))
    exit(e.code)
} catch {
    FileHandle.standardError.write(Data("qkforge: \(error)\n".utf8))
    exit(1)
}
