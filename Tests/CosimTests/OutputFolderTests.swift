import Foundation
import HDL
import Testing
import Cosim

/// The first ten minutes of a user: the folder `generate` writes works from any directory
/// (lint, simulation with its memory images, the file list), carries its estimate, and the
/// Verilator cache never lands in the working directory.
@Suite struct OutputFolderTests {
    /// A small QKTA block (C = 32, 4 heads, 16 tokens, T = 2, 4 lanes) with ROM images.
    static let config = #"{"block": "qkta", "dim": 32, "heads": 4, "tokens": 16, "timeSteps": 2}"#
    static let top = "qkta_custom_s1_c32_h4_t2_p4"

    func scratch(_ tag: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-outfolder-\(tag)-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    func generate(_ root: URL, portable: Bool) throws -> URL {
        let cfg = root.appendingPathComponent("block.json")
        try Data(Self.config.utf8).write(to: cfg)
        let out = root.appendingPathComponent("design")
        // Run in `root` with relative paths, as a user would: the folder's README repeats the
        // flags as given, so a portable folder then names no path of the machine.
        let r = try Command.run(CLITests.binary.path, ["generate", "--model", "block.json", "--lanes", "4", "--out", "design"] + (portable ? ["--portable"] : []),
                                in: root)
        #expect(r.status == 0, "\(r.output)")
        return out
    }

    @Test func outputFolderLintsAndSimulatesFromAnotherDirectory() throws {
        let root = try scratch("abs")
        defer { try? FileManager.default.removeItem(at: root) }
        let out = try generate(root, portable: false)
        let elsewhere = root.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let filelist = out.appendingPathComponent("files.f").path

        // Verilator lint, -Wall, from a directory that is not the folder: no output at all.
        let lint = try Command.run("verilator", ["--lint-only", "-Wall", "-f", filelist, "--top-module", Self.top], in: elsewhere)
        #expect(lint.status == 0 && lint.output.isEmpty, "\(lint.output)")

        // Icarus from the same place: the $readmemh images are found without copying them.
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path)
        let image = try #require(names.first { $0.contains("_q_acc_") && $0.hasSuffix("_weights.hex") })
        let firstWord = try String(contentsOf: out.appendingPathComponent(image), encoding: .utf8).split(separator: "\n")[0]
        let tb = elsewhere.appendingPathComponent("tb.v")
        try Data("module tb;\n  \(Self.top) u();\n  initial begin #1 $display(\"w0=%h\", u.u_acc_q.weights[0]); $finish; end\nendmodule\n".utf8).write(to: tb)
        let compile = try Command.run("iverilog", ["-o", "tb.vvp", "-f", filelist, "tb.v"], in: elsewhere)
        #expect(compile.status == 0, "\(compile.output)")
        let sim = try Command.run("vvp", ["tb.vvp"], in: elsewhere)
        #expect(sim.output.contains("w0=\(firstWord)"), "\(sim.output)")

        // The folder says what it is, and report.json carries the estimate.
        let readme = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("Top module: `\(Self.top)`") && readme.contains("| `s_axis_tdata` | input |") && readme.contains("**estimated**"))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any]
        let resources = try #require(report?["resources"] as? [String: Any])
        for key in ["luts", "flipFlops", "bram36", "bram18", "dsps"] { #expect(resources[key] is Int, "report.json resources.\(key)") }
        #expect((resources["luts"] as? Int ?? 0) > 0)
        let performance = try #require(report?["performance"] as? [String: Any])
        // Times at the Fmax estimate, said so; samples/s = clock / cycles per sample.
        #expect(performance["clockIsAssumed"] as? Bool == false)
        #expect((performance["clockSource"] as? String ?? "").contains("ESTIMATED Fmax"), "\(performance)")
        let mhz = performance["clockMHz"] as? Double ?? 0, cycles = performance["cyclesPerSample"] as? Double ?? 0
        #expect(mhz > 20 && mhz < 500 && cycles > 0, "\(performance)")
        #expect(abs((performance["samplesPerSecond"] as? Double ?? 0) - mhz * 1e6 / cycles) <= 1e-3 * mhz * 1e6 / cycles)
    }

    @Test func portableFolderLintsWithRelativeFileList() throws {
        let root = try scratch("rel")
        defer { try? FileManager.default.removeItem(at: root) }
        let out = try generate(root, portable: true)
        let filelist = try String(contentsOf: out.appendingPathComponent("files.f"), encoding: .utf8)
        #expect(!filelist.contains("/"), "a portable file list names files relative to its folder: \(filelist)")
        // The marker (.qkforge-output) records the command as the user typed it; the design's
        // own files must not name the machine's paths.
        for name in try FileManager.default.contentsOfDirectory(atPath: out.path) where name != ".qkforge-output" {
            let text = try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
            #expect(!text.contains(root.path), "\(name) holds the machine's path")
        }
        // verilator -F reads the relative paths against the file's folder, from anywhere.
        let lint = try Command.run("verilator", ["--lint-only", "-Wall", "-F", out.appendingPathComponent("files.f").path, "--top-module", Self.top], in: root)
        #expect(lint.status == 0 && lint.output.isEmpty, "\(lint.output)")
    }

    @Test func verilatorCacheIsNeverInTheWorkingDirectory() throws {
        let root = try scratch("cache")
        defer { try? FileManager.default.removeItem(at: root) }
        var env = ProcessInfo.processInfo.environment
        env["QKFORGE_CACHE"] = nil
        env["XDG_CACHE_HOME"] = root.appendingPathComponent("xdg").path
        let cwd = root.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        let r = try Command.run(CLITests.binary.path, ["cosim", "--example", "counter", "--cycles", "200"], in: cwd, environment: env)
        #expect(r.status == 0, "\(r.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cwd.path).isEmpty, "nothing, and no .qkforge-cache, in the working directory")
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("xdg/qkforge/verilator").path))
    }

    @Test func cacheDirectoryFollowsTheEnvironment() {
        #expect(QKForgeCache.directory(environment: ["QKFORGE_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"]).path == "/c")
        #expect(QKForgeCache.directory(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]).path == "/x/qkforge")
        #expect(QKForgeCache.directory(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/h"]).path == "/h/.cache/qkforge")
        #expect(QKForgeCache.directory(environment: ["QKFORGE_CACHE": "", "HOME": "/h"]).path == "/h/.cache/qkforge")
        #expect(VerilatorOptions.defaultCacheDirectory.path.hasSuffix("/verilator"))
    }
}
