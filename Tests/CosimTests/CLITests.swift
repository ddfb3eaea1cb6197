import Description
import Foundation
import Testing
import Cosim
import Golden
import HDL

/// The command line's working paths: a co-simulation prints `N passed, M failed`, generate
/// writes a design, golden and simulate agree. Bad input of every command is one table in
/// `CLISafetyTests`. Runs the `qkforge` binary that `swift build` put beside the tests.
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
        #expect(files == [".qkforge-output", "files.f", "rom_ram.v", "rom_ram_coeffs.hex"], "the design and the marker that lets qkforge replace it")
        let siblings = try FileManager.default.contentsOfDirectory(atPath: out.deletingLastPathComponent().path)
        #expect(siblings == ["rom_ram"], "no temporary directory is left behind: \(siblings)")
    }
}

/// `golden` and `simulate` on user `.npy` spikes: the same model (same seed) gives the same
/// output through the golden model and through the RTL.
@Suite struct CLIModelTests {
    func run(_ args: [String]) throws -> Command.Result {
        try Command.run(CLITests.binary.path, args)
    }

    @Test func goldenAndSimulateAgreeOnNpyInput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-cli-npy-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.json")
        try Data(#"{"dim": 16, "heads": 4, "tokens": 8, "timeSteps": 4}"#.utf8).write(to: config)
        var rng = SplitMix64(seed: TestSeed.value(default: 9))
        let scalars = (0..<(2 * 4 * 8 * 16)).map { _ in UInt8(rng.next() % 2 == 0 ? 1 : 0) }
        let x = dir.appendingPathComponent("x.npy")
        try NPYArray(shape: [2, 4, 8, 16], scalars: scalars).write(to: x)
        let g = try run(["golden", "--model", config.path, "--input", x.path, "--output", dir.appendingPathComponent("g.npy").path])
        #expect(g.status == 0, "\(g.output)")
        let s = try run(["simulate", "--model", config.path, "--lanes", "5", "--input", x.path, "--output", dir.appendingPathComponent("s.npy").path])
        #expect(s.status == 0, "\(s.output)")
        let go = try NPYArray(contentsOf: dir.appendingPathComponent("g.npy"))
        let so = try NPYArray(contentsOf: dir.appendingPathComponent("s.npy"))
        #expect(go.shape == [2, 4, 8, 16] && go.dtype == .uint8)
        #expect(go == so)
        #expect(try go.asUInt8().contains(1), "the output should not be all zeros")
    }
}
