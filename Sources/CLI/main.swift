import Description
import ArgumentParser
import Foundation
import HDL
import Blocks
import Golden
import Cosim

// The `qkforge` command line. swift-argument-parser parses it (Commands.swift); every error,
// its own or ours, is ONE line `qkforge: <problem>; <fix>` on stderr: bad input exits 2, a
// failed check (a mismatch) exits 1.

struct Failure: Error { let message: String; let code: Int32 }

/// The implementations of the small commands (the model commands are in ModelCommands.swift).
enum CLI {
    static func example(_ args: Arguments) throws -> Module {
        let names = ExampleCircuits.all.map(\.name).joined(separator: ", ")
        guard let name = args.string("example") else {
            throw Arguments.UsageError(description: "--example is required; choose one of: \(names)")
        }
        guard let e = ExampleCircuits.all.first(where: { $0.name == name }) else {
            throw Arguments.UsageError(description: "unknown example '\(name)' for --example; choose one of: \(names)")
        }
        return e.build()
    }

    static func printResult(_ r: DifferentialTest.Result, what: String) throws {
        let passed = r.mismatches.isEmpty ? 1 : 0
        print("\(what): \(r.cycles) cycles, \(r.outputs) outputs compared every cycle; IR simulator \(String(format: "%.3f", r.simulatorSeconds)) s, Verilator \(String(format: "%.3f", r.verilatorSeconds)) s\(r.verilatorCacheHit ? " (cached build)" : "")")
        for m in r.mismatches.prefix(5) { print("  mismatch: \(m)") }
        if let dir = r.replayDirectory { print("  replay: cd \(dir.path) && bash replay.sh") }
        print("\(passed) passed, \(1 - passed) failed")
        if passed == 0 { throw Failure(message: "\(what) disagrees; first: \(r.mismatches[0])", code: 1) }
    }

    static func generateExample(_ args: Arguments) throws {
        let m = try example(args)
        guard let out = args.string("out") else { throw Arguments.UsageError(description: "--out DIR is required") }
        try Outputs.checkDirectory(out, flag: "--out", force: args.flag("force"), inputs: [])
        let folder = try ModelCommands.outputFolder(out, portable: args.flag("portable"))
        let emitted = VerilogEmitter.emit(try Elaborate.run(m), directory: folder.absolute)
        try Outputs.writeDirectory(out, flag: "--out", force: args.flag("force"), inputs: [], files: emitted.allFiles.map { ($0.name, Data($0.contents.utf8)) })
        print("wrote \(emitted.allFiles.count) files to \(out) (top module \(emitted.top))")
    }

    static func cosimExample(_ args: Arguments) throws {
        let m = try example(args)
        let cycles = try args.int("cycles", default: 10_000, in: 1...100_000_000)
        let seed = try args.uint64("seed", default: 1)
        var options = VerilatorOptions()
        var trace: (temporary: String, commit: () throws -> Void, discard: () -> Void)?
        if let t = args.string("trace") {
            if t.hasSuffix(".fst") { options.trace = .fst } else if t.hasSuffix(".vcd") { options.trace = .vcd } else {
                throw Arguments.UsageError(description: "--trace file must end in .vcd or .fst, got '\(t)'")
            }
            trace = try Outputs.stagedFile(t, flag: "--trace", inputs: [])
            options.tracePath = trace!.temporary
        }
        defer { trace?.discard() }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-cosim-\(getpid())")
        let token = Interrupts.removeOnInterrupt(work.path)
        defer { try? FileManager.default.removeItem(at: work.appendingPathComponent("rtl")); token.release() }
        print("co-simulating example '\(m.name)', seed \(seed)")
        let r = try DifferentialTest.run(m, cycles: cycles, seed: seed, workDirectory: work, options: options)
        if r.replayDirectory == nil { try? FileManager.default.removeItem(at: work) }  // kept only to replay a mismatch
        try trace?.commit()
        if let t = args.string("trace") { print("waveform: \(t)") }
        try printResult(r, what: m.name)
    }

    static func difftest(_ args: Arguments) throws {
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
            let token = Interrupts.removeOnInterrupt(work.path)
            let r = try DifferentialTest.run(top, cycles: cycles, seed: seed &+ UInt64(batch), workDirectory: work)
            token.release()
            let bad = Set(r.mismatches.map { $0.port.split(separator: "_").first.map(String.init) ?? $0.port })
            failed += bad.count
            print("batch \(batch): \(n) circuits, \(r.outputs) outputs, \(r.mismatches.count) disagreements\(r.replayDirectory.map { "; replay in \($0.path)" } ?? "")")
            if r.mismatches.isEmpty { try? FileManager.default.removeItem(at: work) }
            done += n
            batch += 1
        }
        print("\(circuits - failed) passed, \(failed) failed")
        if failed > 0 { throw Failure(message: "\(failed) circuits disagree", code: 1) }
    }
}

/// Writes `message` as one line to stderr (newlines folded into "; ") and exits with `code`.
func fail(_ message: String, _ code: Int32) -> Never {
    Interrupts.waitIfInterrupted()
    let one = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: "; ")
    FileHandle.standardError.write(Data("qkforge: \(one)\n".utf8))
    exit(code)
}

/// One line for a Foundation file-system error: the path, the reason, the fix.
func fileSystemMessage(_ e: NSError) -> String {
    let path = (e.userInfo[NSFilePathErrorKey] as? String) ?? (e.userInfo[NSURLErrorKey] as? URL)?.path
    return "cannot \(e.code >= 512 && e.code < 1024 ? "write" : "read") \(path.map { "'\($0)'" } ?? "a file"): \(Outputs.reason(e)); check the path and its permissions"
}

Interrupts.installHandlers()

// Lines reach a pipe (`qkforge ... | tee log`) as they are printed, in order with the progress
// line on stderr, instead of in one block at exit.
setvbuf(stdout, nil, _IOLBF, 0)

let argv = Array(CommandLine.arguments.dropFirst())
let commandNames = QKForgeCommand.configuration.subcommands.map { $0._commandName }
if argv.isEmpty { fail("no command given; run 'qkforge --help' for the list (\(commandNames.joined(separator: ", ")))", 2) }
if !argv[0].hasPrefix("-") && argv[0] != "help" && !commandNames.contains(argv[0]) {
    fail("unknown command '\(argv[0])'; run 'qkforge --help' for the list (\(commandNames.joined(separator: ", ")))", 2)
}
let helpHint = commandNames.contains(argv[0]) ? "qkforge \(argv[0]) --help" : "qkforge --help"

// A flag given twice is an error (the parser would keep the last one silently).
var seenFlags: Set<String> = []
for a in argv where a.hasPrefix("--") && a.count > 2 {
    let name = String(a.split(separator: "=", maxSplits: 1)[0])
    if !seenFlags.insert(name).inserted { fail("option \(name) is given twice; give it once", 2) }
}

var parsed: ParsableCommand
do {
    parsed = try QKForgeCommand.parseAsRoot(argv)
} catch {
    if QKForgeCommand.exitCode(for: error) == .success {
        print(QKForgeCommand.fullMessage(for: error))
        exit(0)
    }
    fail("\(QKForgeCommand.message(for: error)); run '\(helpHint)'", 2)
}

do {
    try parsed.run()
} catch let e where QKForgeCommand.exitCode(for: e) == .success {
    // `--help` and `qkforge help [COMMAND]`.
    print(QKForgeCommand.fullMessage(for: e))
    exit(0)
} catch let e where e is Arguments.UsageError || e is BlockError || e is GoldenError || e is NPYError || e is ConfigError || e is Outputs.Refusal {
    // Bad input: one line naming the problem and the fix.
    fail("\(e)", 2)
} catch let e as ElaborationError {
    fail("design does not elaborate: \(e.description)", 2)
} catch let e as Failure {
    fail(e.message, e.code)
} catch let e as CocoaError {
    // A file-system error that no command turned into its own line: name the path and the fix.
    fail(fileSystemMessage(e as NSError), 2)
} catch let e as NSError where e.domain == NSCocoaErrorDomain || e.domain == NSPOSIXErrorDomain {
    fail(fileSystemMessage(e), 2)
} catch {
    fail("\(error)", 1)
}
Interrupts.waitIfInterrupted()
