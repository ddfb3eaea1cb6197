import Description
import Foundation
import Testing
import Golden
import HDL

/// The `qkforge` binary on bad and destructive inputs (docs/cli.md, "Outputs" and "Exit
/// codes"): each case runs in a sandbox directory (the working directory and $HOME of the run)
/// holding inputs, a directory qkforge did not write, a repository and links, and asserts the
/// exit code, exactly one line on stderr, and that nothing in the sandbox changed (every path,
/// its kind, its bytes, a link's target), or, for the cases that write, that only the new
/// output changed.
@Suite(.serialized) struct CLISafetyTests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs the built `qkforge` in `directory` with `$HOME` set to `home`.
    static func qkforge(_ args: [String], in directory: URL, environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = args
        p.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = directory.appendingPathComponent("home").path
        env["QKFORGE_CACHE"] = directory.appendingPathComponent("cache").path
        env["XDG_CACHE_HOME"] = directory.appendingPathComponent("cache").path
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let outData = Box()
        let reader = Thread { outData.data = out.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Run(status: p.terminationStatus, stdout: String(decoding: outData.data, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Everything under `root`, without following links: kind, bytes or link target.
    static func snapshot(_ root: URL) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ rel: String) {
            let path = rel.isEmpty ? root.path : root.path + "/" + rel
            var s = stat()
            guard lstat(path, &s) == 0 else { return }
            switch s.st_mode & S_IFMT {
            case S_IFDIR:
                out[rel] = "dir"
                for name in ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() {
                    walk(rel.isEmpty ? name : rel + "/" + name)
                }
            case S_IFLNK:
                out[rel] = "link -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
            case S_IFREG:
                let data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
                out[rel] = "file \(data.count) \(data.base64EncodedString())"
            default:
                out[rel] = "special \(s.st_mode)"
            }
        }
        walk("")
        return out
    }

    /// A fresh sandbox: inputs, a foreign directory, a repository, links, a home directory.
    static func sandbox() throws -> URL {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("qkforge-safety-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        func mk(_ p: String) throws { try fm.createDirectory(at: dir.appendingPathComponent(p), withIntermediateDirectories: true) }
        func put(_ p: String, _ s: String) throws { try Data(s.utf8).write(to: dir.appendingPathComponent(p)) }
        try mk("home")
        try mk("foreign")
        try put("foreign/keep.txt", "the user's file\n")
        try mk("repo/.git")
        try put("repo/.git/HEAD", "ref: refs/heads/main\n")
        try put("repo/README", "a repository\n")
        try mk("emptydir")
        try mk("foreign.json")
        _ = mkfifo(dir.appendingPathComponent("fifo.npy").path, 0o644)
        try mk("dir.md")
        try mk("dir.vcd")
        try put("plain.txt", "a plain file\n")
        let config = #"{"dim": 16, "heads": 4, "tokens": 8, "timeSteps": 4}"#
        try put("c.json", config)
        try mk("bundle/tensors")
        try put("bundle/config.json", config)
        try put("dup.json", #"{"dim": 16, "heads": 4, "tokens": 8, "timeSteps": 4, "dim": 32}"#)
        try put("t60.json", #"{"dim": 16, "heads": 4, "tokens": 8, "timeSteps": 60}"#)
        try put("big.json", #"{"dim": 65536, "heads": 8, "tokens": 8, "timeSteps": 4}"#)
        try put("bad.npy", "not a numpy file")
        // Well-formed .npy files of the wrong dtype and of the wrong T for c.json (T = 4).
        try NPYArray(shape: [4, 2, 16], scalars: [Float](repeating: 0, count: 4 * 2 * 16)).write(to: dir.appendingPathComponent("float.npy"))
        try NPYArray(shape: [3, 2, 16], scalars: [UInt8](repeating: 0, count: 3 * 2 * 16)).write(to: dir.appendingPathComponent("t3.npy"))
        var rng = SplitMix64(seed: TestSeed.value(default: 14))
        let scalars = (0..<(2 * 4 * 8 * 16)).map { _ in UInt8(rng.next() % 4 == 0 ? 1 : 0) }
        try NPYArray(shape: [2, 4, 8, 16], scalars: scalars).write(to: dir.appendingPathComponent("x.npy"))
        try NPYArray(shape: [0, 4, 8, 16], scalars: [UInt8]()).write(to: dir.appendingPathComponent("empty.npy"))
        try put("old.npy", "an earlier output\n")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("link-to-input.npy").path, withDestinationPath: "x.npy")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("link-to-old.npy").path, withDestinationPath: "old.npy")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("dangling.npy").path, withDestinationPath: "missing.npy")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("link-to-dir").path, withDestinationPath: "emptydir")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("link-to-foreign").path, withDestinationPath: "foreign")
        return dir
    }

    static let g = ["golden", "--model", "c.json", "--input", "x.npy"]
    static let gen = ["generate", "--model", "c.json"]

    /// (arguments, text the one line must hold). Every case exits 2 and changes nothing.
    static let refused: [([String], String)] = [
        // generate --out: never destroy
        (gen + ["--out", "foreign"], "did not write"),
        (gen + ["--out", "link-to-foreign", "--force"], "symbolic link"),
        (gen + ["--out", "."], "is the current directory"),
        (gen + ["--out", ".", "--force"], "is the current directory"),
        (gen + ["--out", "./"], "is the current directory"),
        (gen + ["--out", ""], "--out is empty"),
        (gen + ["--out", "/", "--force"], "is the root directory"),
        (gen + ["--out", "..", "--force"], "holds the current directory"),
        (gen + ["--out", "home", "--force"], "is the home directory"),
        (gen + ["--out", "repo", "--force"], "holds .git"),
        (gen + ["--out", "plain.txt"], "is a file, not a directory"),
        (gen + ["--out", "plain.txt", "--force"], "is a file, not a directory"),
        (gen + ["--out", "c.json", "--force"], "is the input 'c.json'"),
        (["generate", "--bundle", "bundle", "--out", "bundle", "--force"], "is the input 'bundle'"),
        (["generate", "--bundle", "bundle/tensors/..", "--out", "bundle", "--force"], "is the input"),
        (gen + ["--out", "link-to-dir"], "symbolic link"),
        (gen + ["--example", "counter", "--out", "n"], "does not apply with --example"),
        (["generate", "--example", "counter", "--out", "foreign"], "did not write"),
        (["generate", "--example", "counter", "--out", "."], "is the current directory"),
        // golden / simulate --output: never onto an input, a device, a directory
        (g + ["--output", "x.npy"], "is the input 'x.npy'"),
        (g + ["--output", "./x.npy"], "is the input"),
        (g + ["--output", "link-to-input.npy"], "is the input 'x.npy'"),
        (g + ["--output", "c.json"], "is the input 'c.json'"),
        (g + ["--output", "/dev/null"], "is a character device"),
        (g + ["--output", "foreign"], "is a directory"),
        (g + ["--output", "foreign/"], "names a directory"),
        (g + ["--output", "nodir/y.npy"], "does not exist; create it first"),
        (g + ["--output", "dangling.npy"], "symbolic link to a missing file"),
        (g + ["--output", ""], "--output is empty"),
        (["golden", "--bundle", "bundle", "--input", "x.npy", "--output", "bundle/y.npy"], "inside the input directory 'bundle'"),
        (["simulate", "--model", "c.json", "--input", "x.npy", "--output", "x.npy"], "is the input 'x.npy'"),
        (["simulate", "--model", "c.json", "--input", "x.npy", "--output", "/dev/null"], "is a character device"),
        (["golden", "--model", "c.json", "--input", "bad.npy", "--output", "y.npy"], "bad.npy"),
        (["golden", "--model", "c.json", "--input", "missing.npy", "--output", "y.npy"], "missing.npy"),
        (["golden", "--model", "c.json", "--input", "foreign", "--output", "y.npy"], "foreign"),
        (["golden", "--model", "c.json", "--input", "/dev/zero", "--output", "y.npy"], "is not a regular file"),
        (["golden", "--model", "c.json", "--input", "fifo.npy", "--output", "y.npy"], "is not a regular file"),
        (["golden", "--model", "foreign.json", "--input", "x.npy", "--output", "y.npy"], "is a directory, not a file"),
        // configs
        (["golden", "--model", "dup.json", "--input", "x.npy", "--output", "y.npy"], "dim: is given twice"),
        (["estimate", "--model", "t60.json"], "set quantization.decayFractionBits to 32 or less"),
        (["estimate", "--model", "big.json"], "needs about"),
        (["estimate", "--model", "c.json", "--stage", "2"], "--stage picks a stage of a named model"),
        (["estimate", "--model", "missing.json"], "missing.json"),
        // estimate files
        (["estimate", "--model", "c.json", "--svg", "p.svg"], "--svg does not apply"),
        (["estimate", "--model", "c.json", "--sweep", "lanes=1,2", "--svg", "nodir/p.svg"], "does not exist; create it first"),
        (["estimate", "--model", "c.json", "--sweep", "lanes=1,2", "--svg", "c.json"], "must name an .svg file"),
        (["estimate", "--model", "c.json", "--sweep", "lanes=1,2", "--out", "x.npy"], "must name a .md file"),
        (["estimate", "--model", "c.json", "--sweep", "lanes=1,2", "--out", "dir.md"], "is a directory"),
        (["estimate", "--table8", "--out", "plain.txt"], "is a file"),
        // co-simulation
        (["cosim", "--example", "counter", "--trace", "x.npy"], "must end in .vcd or .fst"),
        (["cosim", "--example", "counter", "--trace", "nodir/w.vcd"], "does not exist; create it first"),
        (["cosim", "--model", "c.json", "--trace", "dir.vcd"], "is a directory"),
        (["calibrate", "--work", "foreign", "--subset", "ci"], "did not write"),
        // the per-command cases that lived in CLITests
        (["bogus"], "unknown command 'bogus'"),
        (["cosim", "--example", "nope"], "unknown example 'nope'"),
        (["cosim", "--example", "counter", "--cycles", "abc"], "--cycles must be a whole number"),
        (["cosim", "--example", "counter", "--frobnicate", "1"], "Unknown option '--frobnicate'"),
        (["cosim", "--example", "counter", "--trace", "x.txt"], "--trace file must end in .vcd or .fst"),
        (["generate", "--example", "counter"], "--out DIR is required"),
        (["cosim", "--example"], "Missing value for '--example"),
        (["golden", "--model", "hst-4-384", "--input", "nonexistent.npy", "--output", "y.npy"], "nonexistent.npy"),
        (["cosim", "--model", "hst-9-999"], "unknown model 'hst-9-999'"),
        (["cosim", "--model", "hst-4-384", "--rate", "2"], "--rate must be a number from 0 to 1"),
        (["generate", "--model", "hst-4-384", "--lanes", "0", "--out", "gen-out"], "--lanes must be a whole number from 1 to 256"),
        (g[0..<4] + ["float.npy", "--output", "y.npy"], "must be uint8"),
        (g[0..<4] + ["t3.npy", "--output", "y.npy"], "does not fit T = 4"),
    ]

    @Test func refusedInputsExit2WithOneLineAndChangeNothing() throws {
        let dir = try Self.sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let before = Self.snapshot(dir)
        for (args, message) in Self.refused {
            let r = try Self.qkforge(args, in: dir)
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
            #expect(r.status == 2, "\(args): exit \(r.status), stderr \(r.stderr)")
            #expect(lines.count == 1 && r.stderr.hasPrefix("qkforge: ") && r.stderr.contains(message),
                    "\(args): expected one line with '\(message)', got: \(r.stderr)")
            let after = Self.snapshot(dir)
            #expect(after == before, "\(args) changed the sandbox: \(Set(after.keys).symmetricDifference(before.keys).sorted()) \(after.filter { before[$0.key] != $0.value }.keys.sorted())")
        }
        var null = stat()
        #expect(lstat("/dev/null", &null) == 0 && (null.st_mode & S_IFMT) == S_IFCHR, "/dev/null is still a device")
    }

    /// Bad values for every value flag of every command, a flag given twice and an unknown flag,
    /// on an otherwise valid command line: exit 2, one line naming the flag, nothing written.
    static var badValues: [([String], [String])] {
        let bases: [String: [String]] = [
            "generate": ["generate", "--model", "c.json", "--out", "gen-out"],
            "cosim": ["cosim", "--model", "c.json", "--samples", "1"],
            "golden": ["golden", "--model", "c.json", "--input", "x.npy", "--output", "g.npy"],
            "simulate": ["simulate", "--model", "c.json", "--input", "x.npy", "--output", "s.npy"],
            "estimate": ["estimate", "--model", "c.json"],
            "quantize": ["quantize", "--bundle", "bundle"],
            "difftest": ["difftest", "--circuits", "1"],
            "bench": ["bench", "--nodes", "1"],
            "calibrate": ["calibrate", "--subset", "ci"],
            "timing": ["timing", "--model", "c.json"],
        ]
        let bad: [(command: String, flag: String, values: [String])] = [
            ("generate", "--lanes", ["0", "257", "abc", "", "1.5", "-3"]),
            ("generate", "--stage", ["0", "17", "x"]),
            ("generate", "--seed", ["-1", "x", "", "18446744073709551616"]),
            ("generate", "--block", ["nope", "", "QKTA"]),
            ("generate", "--model", ["hst-9-9", "", "missing.json", "plain.txt", "foreign", "dup.json", "t60.json", "big.json"]),
            ("cosim", "--lanes", ["0", "257", "x"]),
            ("cosim", "--samples", ["0", "1001", "x", ""]),
            ("cosim", "--rate", ["-0.1", "1.5", "x", ""]),
            ("cosim", "--stall", ["1", "-1", "x"]),
            ("cosim", "--seed", ["-1", "x"]),
            ("cosim", "--cycles", ["10"]),
            ("cosim", "--trace", ["w.txt", "", "nodir/w.vcd", "dir.vcd"]),
            ("golden", "--input", ["missing.npy", "bad.npy", "c.json", "foreign", ""]),
            ("golden", "--output", ["x.npy", "/dev/null", "foreign", "", "nodir/o.npy", "link-to-input.npy", "dangling.npy"]),
            ("golden", "--stage", ["0", "x"]),
            ("golden", "--seed", ["x"]),
            ("golden", "--block", ["x"]),
            ("simulate", "--lanes", ["0", "257", "x"]),
            ("simulate", "--output", ["x.npy", "/dev/null", ""]),
            ("simulate", "--input", ["missing.npy", "bad.npy"]),
            ("estimate", "--lanes", ["0", "257", "x"]),
            ("estimate", "--rate", ["-1", "2", "x"]),
            ("estimate", "--q-rate", ["-1", "2"]),
            ("estimate", "--k-rate", ["-1", "2"]),
            ("estimate", "--attention-rate", ["-1", "2"]),
            ("estimate", "--x-rate", ["-1", "2"]),
            ("estimate", "--out-rate", ["-1", "2"]),
            ("estimate", "--clock-mhz", ["0", "-1", "x", "inf"]),
            ("estimate", "--e-ac", ["-1", "x"]),
            ("estimate", "--e-mac", ["-1", "x"]),
            ("estimate", "--e-mem-bit", ["-1", "x"]),
            ("estimate", "--sweep", ["lanes=", "lanes=0", "lanes=1,1", "x=1", "lanes=1,300"]),
            ("estimate", "--svg", ["p.svg"]),
            ("estimate", "--out", ["p.md"]),
            ("estimate", "--sqrt-n", ["10"]),
            ("estimate", "--samples", ["2"]),
            ("quantize", "--bundle", ["missing", "plain.txt", "foreign", ""]),
            ("quantize", "--stage", ["0", "x"]),
            ("difftest", "--circuits", ["0", "x", "100001"]),
            ("difftest", "--cycles", ["0", "x"]),
            ("difftest", "--batch", ["0", "1001"]),
            ("difftest", "--seed", ["x"]),
            ("bench", "--nodes", ["0", "x"]),
            ("bench", "--cycles", ["0", "x"]),
            ("calibrate", "--subset", ["x", ""]),
            ("calibrate", "--jobs", ["0", "65", "x"]),
            ("calibrate", "--out", ["x.txt", "nodir/c.md", "dir.md"]),
            ("calibrate", "--work", ["foreign", ".", "repo", "plain.txt"]),
            ("timing", "--device", ["12k", "x"]),
            ("timing", "--target-mhz", ["0", "1001", "x"]),
            ("timing", "--pnr-seed", ["0", "x"]),
            ("timing", "--lif", ["x"]),
            ("timing", "--dir", ["foreign", "missing", "plain.txt"]),
        ]
        var cases: [([String], [String])] = []
        for (command, flag, values) in bad {
            var base = bases[command]!
            if let i = base.firstIndex(of: flag) { base.removeSubrange(i...(i + 1)) }
            // The line names the flag or the value given (a path, a model name).
            for v in values { cases.append((base + [flag, v], [flag] + (v.isEmpty ? [] : [v]))) }
        }
        for (_, base) in bases.sorted(by: { $0.key < $1.key }) {
            cases.append((base + ["--frobnicate", "1"], ["--frobnicate"]))
            cases.append((base + [base[1], base[2]], ["given twice"]))
        }
        return cases
    }

    /// `timing --dir` reads a folder written without --portable (absolute paths in files.f) by
    /// name: it gets past the file check to the tool lookup, here a nextpnr that does not exist,
    /// while a file really missing from such a folder is named by its own name.
    @Test func timingReadsAnAbsoluteFilesListByName() throws {
        let dir = try Self.sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let gen = try Self.qkforge(["generate", "--model", "c.json", "--out", "abs"], in: dir)
        try #require(gen.status == 0, "\(gen.stderr)")
        let list = try String(contentsOf: dir.appendingPathComponent("abs/files.f"), encoding: .utf8)
        #expect(list.hasPrefix("/"), "files.f should list absolute paths without --portable: \(list.prefix(80))")
        let noTool = ["QKFORGE_NEXTPNR": dir.appendingPathComponent("no-such-nextpnr").path]
        let r = try Self.qkforge(["timing", "--dir", "abs"], in: dir, environment: noTool)
        #expect(r.status != 0)
        #expect(!r.stderr.contains("not in the folder"), "\(r.stderr)")
        #expect(r.stderr.contains("nextpnr-ecp5 is not installed") || r.stderr.contains("yosys is not on PATH"), "\(r.stderr)")
        let first = String(list.split(separator: "\n")[0])
        let base = URL(fileURLWithPath: first).lastPathComponent
        try FileManager.default.removeItem(atPath: first)
        let missing = try Self.qkforge(["timing", "--dir", "abs"], in: dir, environment: noTool)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("files.f names \(base), which is not in the folder"), "\(missing.stderr)")
    }

    @Test func badFlagValuesExit2WithOneLineAndChangeNothing() throws {
        let dir = try Self.sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let before = Self.snapshot(dir)
        let cases = Self.badValues
        #expect(cases.count + Self.refused.count >= 200, "the table covers at least 200 inputs: \(cases.count + Self.refused.count)")
        for (args, names) in cases {
            let r = try Self.qkforge(args, in: dir)
            let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
            #expect(r.status == 2, "\(args): exit \(r.status), stderr \(r.stderr)")
            #expect(lines.count == 1 && r.stderr.hasPrefix("qkforge: ") && names.contains(where: r.stderr.contains),
                    "\(args): expected one line naming one of \(names), got: \(r.stderr)")
            let after = Self.snapshot(dir)
            #expect(after == before, "\(args) changed the sandbox: \(after.filter { before[$0.key] != $0.value }.keys.sorted())")
        }
    }

    @Test func writesChangeOnlyTheirOwnOutput() throws {
        let dir = try Self.sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        var before = Self.snapshot(dir)
        func changed() -> Set<String> {
            let after = Self.snapshot(dir)
            return Set(after.keys).union(before.keys).filter { after[$0] != before[$0] }
        }

        // A new directory, its missing parents made; then replaced (it holds the marker).
        var r = try Self.qkforge(Self.gen + ["--out", "out/design"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(changed().allSatisfy { $0 == "out" || $0.hasPrefix("out/") }, "\(changed().sorted())")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/design/.qkforge-output").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/design/report.json").path))
        try Data("stale".utf8).write(to: dir.appendingPathComponent("out/design/stale.v"))
        r = try Self.qkforge(Self.gen + ["--out", "out/design"], in: dir)
        #expect(r.status == 0, "a directory qkforge wrote is replaced: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/design/stale.v").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("out").path) == ["design"],
                "no temporary directory is left beside it")

        // --force replaces a foreign directory, and only that.
        before = Self.snapshot(dir)
        r = try Self.qkforge(Self.gen + ["--out", "foreign", "--force"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(changed().allSatisfy { $0 == "foreign" || $0.hasPrefix("foreign/") }, "\(changed().sorted())")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("foreign/keep.txt").path))

        // An empty batch gives an empty batch.
        before = Self.snapshot(dir)
        r = try Self.qkforge(["golden", "--model", "c.json", "--input", "empty.npy", "--output", "empty-out.npy"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(changed() == ["empty-out.npy"])
        let empty = try NPYArray(contentsOf: dir.appendingPathComponent("empty-out.npy"))
        #expect(empty.shape == [0, 4, 8, 16] && empty.dtype == .uint8)

        // A link to an earlier output is written through: the link stays, its target is replaced.
        before = Self.snapshot(dir)
        r = try Self.qkforge(Self.g + ["--output", "link-to-old.npy"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(changed() == ["old.npy"], "\(changed().sorted())")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.appendingPathComponent("link-to-old.npy").path) == "old.npy")
        #expect(try NPYArray(contentsOf: dir.appendingPathComponent("old.npy")).shape == [2, 4, 8, 16])

        // Sweep files go where they are told, nowhere else.
        before = Self.snapshot(dir)
        r = try Self.qkforge(["estimate", "--model", "c.json", "--sweep", "lanes=1,2", "--svg", "p.svg", "--out", "p.md"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(changed() == ["p.svg", "p.md"], "\(changed().sorted())")
    }

    /// SIGINT or SIGTERM during a Verilator build: exit 130 or 143, no temporary directory left
    /// in the cache, and no child process (make, g++) still working in it.
    @Test(arguments: [SIGINT, SIGTERM])
    func interruptRemovesTemporariesAndEndsChildren(signal: Int32) throws {
        let dir = try Self.sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("cache")
        let p = Process()
        p.executableURL = CLITests.binary
        // A design of its own (a seed the cache has not seen) so that Verilator really builds.
        p.arguments = ["cosim", "--model", "c.json", "--samples", "1", "--seed", "\(UInt32.random(in: 1000...UInt32.max))"]
        p.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env["QKFORGE_CACHE"] = cache.path
        env["XDG_CACHE_HOME"] = cache.path
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        // Wait until the build's temporary directory exists, then interrupt.
        func temporaries() -> [String] {
            let e = FileManager.default.enumerator(atPath: cache.path)
            var found: [String] = []
            while let f = e?.nextObject() as? String {
                let name = (f as NSString).lastPathComponent
                if name.hasPrefix(".tmp-") || name.hasPrefix("failed-") { found.append(f) }
            }
            return found
        }
        let deadline = Date().addingTimeInterval(40)
        while temporaries().isEmpty && p.isRunning && Date() < deadline { usleep(50_000) }
        #expect(!temporaries().isEmpty, "the build started")
        usleep(1_500_000)  // let make and the compiler start
        kill(p.processIdentifier, signal)
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 128 + signal, "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1 && stderr.hasPrefix("qkforge: "), "one line: \(stderr)")
        #expect(temporaries().isEmpty, "left in the cache: \(temporaries())")
        // No process still has its working directory inside the sandbox.
        usleep(300_000)
        var survivors: [String] = []
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
            if let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"), cwd.hasPrefix(cache.path) {
                survivors.append("\(pid): \((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "?")")
            }
        }
        #expect(survivors.isEmpty, "child processes left running: \(survivors)")
    }
}
