import Description
import Foundation
import Testing
import Cosim
@testable import Estimator

/// The held-out validation draw (`qkforge calibrate --validate`): reproducible from its seed,
/// disjoint from the calibration set, and every drawn design builds.
@Suite struct HeldOutSetTests {
    @Test func drawIsReproducibleFromItsSeed() {
        for seed: UInt64 in [1, 2, 12345, .max] {
            let a = HeldOutSet.draw(seed: seed, count: 10), b = HeldOutSet.draw(seed: seed, count: 10)
            #expect(a == b, "seed \(seed) drew two different sets")
            #expect(a.count == 10)
            #expect(Set(a.map(\.key)).count == a.count, "seed \(seed) drew a design twice")
        }
        // A different seed gives a different set (ten draws from thousands of combinations).
        #expect(HeldOutSet.draw(seed: 1, count: 10).map(\.key) != HeldOutSet.draw(seed: 2, count: 10).map(\.key))
        // A shorter draw is a prefix of a longer one: the sequence depends on the seed alone.
        #expect(Array(HeldOutSet.draw(seed: 3, count: 10).prefix(4)) == HeldOutSet.draw(seed: 3, count: 4))
    }

    /// The calibration designs, written here from docs/estimate-accuracy.md's tables (not read
    /// from the code under test): block, C, h, N, T, lanes.
    static let documentedCalibration: [(BlockKind, Int, Int, Int, Int, Int)] = [
        (.qkta, 16, 2, 16, 2, 4), (.qkca, 16, 2, 16, 2, 4), (.qkta, 16, 2, 16, 2, 2),
        (.qkta, 32, 4, 64, 4, 8), (.qkca, 32, 4, 64, 4, 8),
        (.mlp, 24, 2, 16, 2, 4), (.mlp, 32, 2, 16, 2, 4),
        (.qkformerBlock, 16, 2, 16, 2, 4), (.qkformerBlock, 16, 2, 8, 2, 4),
        (.qkformerBlock, 24, 2, 16, 2, 4), (.qkformerBlock, 24, 2, 8, 2, 6),
    ]

    @Test func drawIsDisjointFromTheCalibrationSet() throws {
        let full: [(String, Int, BlockKind, Int)] = [
            ("hst-4-384", 1, .qkta, 12), ("hst-4-384", 1, .qkta, 32), ("hst-4-384", 1, .qkca, 12),
            ("hst-2-256", 1, .qkta, 16), ("hst-2-256", 1, .qkca, 16), ("hst-4-384", 2, .qkta, 24),
        ]
        for seed: UInt64 in 0..<50 {
            for d in HeldOutSet.draw(seed: seed, count: 10) {
                let c = d.config
                #expect(!CalibrationSet.keys.contains(d.key), "seed \(seed): \(d.name) is a calibration design")
                for (k, dim, h, n, t, p) in Self.documentedCalibration {
                    #expect(!(c.block == k && c.dim == dim && c.heads == h && c.tokens == n && c.timeSteps == t && d.lanes == p),
                            "seed \(seed): \(d.name) is the documented calibration design \(k) C\(dim) P\(p)")
                }
                for (model, stage, k, p) in full {
                    let f = try BlockConfig.named(model, stage: stage, block: k)
                    #expect(!(c.block == k && c.dim == f.dim && c.tokens == f.tokens && d.lanes == p),
                            "seed \(seed): \(d.name) is \(model) s\(stage) P\(p)")
                }
            }
        }
        // The calibration list itself holds the documented designs, so the exclusion is not vacuous.
        #expect(CalibrationSet.designs.count >= Self.documentedCalibration.count + 6)
    }

    @Test func drawnDesignsAreValidAndVaried() throws {
        let all = (0..<20).flatMap { HeldOutSet.draw(seed: UInt64($0), count: 10) }
        for d in all {
            try d.config.validate()
            #expect(d.lanes % 2 == 1, "\(d.name): lanes should be odd")
            #expect(d.config.dim % d.config.heads == 0)
        }
        #expect(Set(all.map(\.config.block)).count == 4, "every block kind is drawn")
        #expect(Set(all.map(\.config.model)).count >= 4, "several models are drawn")
    }

    /// Building the first seed's designs (no synthesis): the hardware accepts every draw. The
    /// time limit only guards against a hang: 3 minutes was exceeded on a machine loaded with
    /// synthesis runs.
    @Test(.timeLimit(.minutes(10))) func firstDrawsBuild() throws {
        for d in HeldOutSet.draw(seed: 1, count: 10) + HeldOutSet.draw(seed: 2, count: 10) {
            _ = try BlockModel.random(d.config, lanes: d.lanes, seed: 1).hardware.makeModule()
        }
    }

    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            let c = dir.appendingPathComponent("qkforge")
            if FileManager.default.isExecutableFile(atPath: c.path) { return c }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "qkforge")
    }

    /// Bad `calibrate --validate` (and `--fmax`) command lines: exit 2, one line on stderr naming
    /// the flag, before any synthesis.
    @Test func badValidateFlagsAreOneLineExit2() throws {
        let cases: [([String], String)] = [
            (["--validate", "--seed", "x", "--count", "3"], "--seed"),
            (["--validate", "--seed", "-1", "--count", "3"], "--seed"),
            (["--validate", "--seed", "1", "--count", "0"], "--count"),
            (["--validate", "--seed", "1", "--count", "41"], "--count"),
            (["--validate", "--seed", "1", "--count", "many"], "--count"),
            (["--validate", "--count", "3"], "--seed"),
            (["--validate", "--seed", "1"], "--count"),
            (["--seed", "1"], "--seed"),
            (["--count", "3"], "--count"),
            (["--validate", "--seed", "1", "--count", "3", "--subset", "ci"], "--subset"),
            (["--validate", "--seed", "1", "--count", "3", "--only", "qkta"], "--only"),
            (["--fmax", "--subset", "ci"], "--subset"),
            (["--fmax", "--seed", "1"], "--seed"),
        ]
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build qkforge first: swift build")
        for (args, flag) in cases {
            let p = Process()
            p.executableURL = Self.binary
            p.arguments = ["calibrate"] + args
            let err = Pipe()
            p.standardError = err
            p.standardOutput = Pipe()
            try p.run()
            let data = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            let lines = text.split(separator: "\n").filter { !$0.isEmpty }
            #expect(p.terminationStatus == 2, "\(args): exit \(p.terminationStatus), stderr \(text)")
            #expect(lines.count == 1 && text.contains(flag), "\(args): expected one line naming \(flag), got: \(text)")
        }
    }
}
