import Foundation
import Testing
import Cosim

/// `qkforge generate|cosim --block mlp|qkformer-block` on a small custom config.
@Suite struct BlockCLITests {
    func run(_ args: [String], in dir: URL) throws -> Command.Result {
        try Command.run(CLITests.binary.path, args, in: dir)
    }

    static func workDir(_ tag: String, config: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-blockcli-\(getpid())-\(tag)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: dir.appendingPathComponent("c.json"))
        return dir
    }

    static let config = #"{"dim": 10, "heads": 2, "tokens": 3, "timeSteps": 2, "mlpRatio": 2, "attention": "channel"}"#

    /// Two runs with the same arguments write the same files, byte for byte (`--portable`: no
    /// absolute path of the folder inside).
    @Test func generateIsDeterministic() throws {
        let dir = try Self.workDir("gen", config: Self.config)
        defer { try? FileManager.default.removeItem(at: dir) }
        for out in ["a", "b"] {
            // --portable: by default a folder names its own absolute path (files.f, QKFORGE_MEM_DIR), so a/ and b/ differ there by design.
            let r = try run(["generate", "--model", "c.json", "--block", "qkformer-block", "--lanes", "4", "--portable", "--out", out], in: dir)
            #expect(r.status == 0, "\(r.output)")
        }
        let fm = FileManager.default
        let a = try fm.contentsOfDirectory(atPath: dir.appendingPathComponent("a").path).sorted()
        let b = try fm.contentsOfDirectory(atPath: dir.appendingPathComponent("b").path).sorted()
        #expect(a == b)
        #expect(a.contains("report.json") && a.contains { $0.hasPrefix("qkformer_block_custom_s1_qkca") })
        // The marker records the command, whose --out differs.
        for f in a where f != ".qkforge-output" {
            #expect(fm.contents(atPath: dir.appendingPathComponent("a/\(f)").path) == fm.contents(atPath: dir.appendingPathComponent("b/\(f)").path), "\(f)")
        }
    }

    @Test(arguments: ["qkformer-block", "mlp"])
    func cosimPasses(block: String) throws {
        let dir = try Self.workDir("cosim-\(block)", config: Self.config)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run(["cosim", "--model", "c.json", "--block", block, "--lanes", "3", "--stall", "0.3", "--seed", "5"], in: dir)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("\n2 passed, 0 failed\n"), "\(r.output)")
    }

    @Test(arguments: [
        (["golden", "--model", "c.json", "--block", "mlp", "--input", "x.npy", "--output", "y.npy"], "--block mlp works with generate and cosim so far"),
        (["cosim", "--model", "c.json", "--block", "mlp", "--bundle", "bundle"], "--bundle is not supported with --block mlp"),
        (["cosim", "--model", "bad.json", "--block", "qkformer-block"], "attention: must be \"token\" (QKTA) or \"channel\" (QKCA)"),
    ])
    func badInputGetsOneLineAndExitCode2(args: [String], message: String) throws {
        let dir = try Self.workDir("bad-\(abs(args.joined().hashValue))", config: Self.config)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"dim": 8, "heads": 2, "tokens": 2, "timeSteps": 2, "attention": "sideways"}"#.utf8)
            .write(to: dir.appendingPathComponent("bad.json"))
        // A folder that exists: the refusal must name the block, not the missing folder.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("bundle"), withIntermediateDirectories: true)
        let r = try run(args, in: dir)
        #expect(r.status == 2)
        #expect(r.output.split(separator: "\n").count == 1, "\(r.output)")
        #expect(r.output.hasPrefix("qkforge: ") && r.output.contains(message), "\(r.output)")
    }
}
