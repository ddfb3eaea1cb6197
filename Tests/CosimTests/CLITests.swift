import Foundation
import Testing
import Cosim

/// The command line: bad input gets one line and exit code 2; a co-simulation prints
/// `N passed, M failed`. Runs the `qkforge` binary that `swift build` put beside the tests.
@Suite struct CLITests {
    static var binary: URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = testBinary.deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("qkforge")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return testBinary.deletingLastPathComponent().appendingPathComponent("qkforge")
    }

    func run(_ args: [String]) throws -> Command.Result {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build qkforge first: swift build")
        return try Command.run(Self.binary.path, args)
    }

    @Test(arguments: [
        (["bogus"], "unknown command 'bogus'"),
        (["cosim", "--example", "nope"], "unknown example 'nope'"),
        (["cosim", "--example", "counter", "--cycles", "abc"], "--cycles must be a whole number"),
        (["cosim", "--example", "counter", "--frobnicate", "1"], "unknown option '--frobnicate'"),
        (["cosim", "--example", "counter", "--trace", "x.txt"], "--trace file must end in .vcd or .fst"),
        (["generate", "--example", "counter"], "--out DIR is required"),
        (["cosim", "--example"], "option --example needs a value"),
    ])
    func badInputGetsOneLineAndExitCode2(args: [String], message: String) throws {
        let r = try run(args)
        #expect(r.status == 2)
        let lines = r.output.split(separator: "\n")
        #expect(lines.count == 1, "\(r.output)")
        #expect(r.output.hasPrefix("qkforge: ") && r.output.contains(message), "\(r.output)")
    }

    @Test func cosimPrintsPassedAndFailed() throws {
        let r = try run(["cosim", "--example", "counter", "--cycles", "500", "--seed", "3"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("\n1 passed, 0 failed\n"), "\(r.output)")
    }

    @Test func generateWritesTheDesignAtomically() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-cli-\(getpid())/rom_ram")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let r = try run(["generate", "--example", "rom_ram", "--out", out.path])
        #expect(r.status == 0, "\(r.output)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["files.f", "rom_ram.v", "rom_ram_coeffs.hex"])
        let siblings = try FileManager.default.contentsOfDirectory(atPath: out.deletingLastPathComponent().path)
        #expect(siblings == ["rom_ram"], "no temporary directory is left behind: \(siblings)")
    }
}
