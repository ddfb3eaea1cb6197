import Description
import Foundation
import Testing
@testable import Golden

/// spikingjelly 2.0.0's `SpikingSelfAttention`, alone and inside `model.qkformer._Block` with
/// self-attention, in exact mode, against the golden model, bit for bit: every output count and
/// every spike of the attention neuron. The fixtures are written by tools/crosscheck/ssa.py
/// (fixed seeds; `--check` proves they regenerate byte for byte).
struct SSAFixtureTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ssa")

    static func cases() throws -> [String] {
        let text = try String(contentsOf: folder.appendingPathComponent("cases.txt"), encoding: .utf8)
        return text.split(separator: "\n").map(String.init)
    }

    @Test func everyCaseIsPresent() throws {
        let names = try Self.cases()
        #expect(names.count >= 9)
        // T from 1 to 8 (the attention membrane carries T bits below 1/8).
        for t in 1...8 { #expect(names.contains { $0.hasSuffix("-t\(t)") }, "no case with T = \(t)") }
        for kind in ["-ssa-", "-block-", "authors-imagenet", "authors-cifar", "model-"] {
            #expect(names.contains { $0.contains(kind) }, "no \(kind) case")
        }
        for name in names {
            for file in ["bundle/config.json", "x.npy", "attn.npy", "y.npy", "expected.json"] {
                #expect(FileManager.default.fileExists(atPath: Self.folder.appendingPathComponent("\(name)/\(file)").path), "\(name)/\(file) is missing")
            }
        }
    }

    @Test(arguments: try! SSAFixtureTests.cases())
    func goldenEqualsSpikingjelly(_ name: String) throws {
        let dir = Self.folder.appendingPathComponent(name)
        let bundleDir = dir.appendingPathComponent("bundle")
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("expected.json"))) as? [String: Any])
        let config = try BlockConfig.parse(json: Data(contentsOf: bundleDir.appendingPathComponent("config.json")))
        let described = try BlockDescription.bundle(config, directory: bundleDir)
        #expect(described.exact, "\(described.report.joined(separator: "\n"))")
        // The importer finds the grids the weights were made on.
        let grids = try #require(expected["fractionBits"] as? [String: [Int]])
        for layer in described.0.body.layers {
            #expect(layer.fractionBits == grids[layer.name], "layer \(layer.name)")
        }
        #expect((described.json["prefix"] as? String) == (expected["prefix"] as? String))
        #expect((described.json["skipped"] as? [String]) == (expected["skipped"] as? [String]))
        let golden = try GoldenBlock(described.0)
        let x = try QKFormerBlockFixtureTests.counts(dir.appendingPathComponent("x.npy"))
        let attn = try QKFormerBlockFixtureTests.counts(dir.appendingPathComponent("attn.npy"))
        let y = try QKFormerBlockFixtureTests.counts(dir.appendingPathComponent("y.npy"))
        let x1 = FileManager.default.fileExists(atPath: dir.appendingPathComponent("x1.npy").path)
            ? try QKFormerBlockFixtureTests.counts(dir.appendingPathComponent("x1.npy")) : nil
        #expect(x.shape.count == 4 && x.shape == y.shape && x.shape == attn.shape)
        var compared = 0, fired = 0
        for b in 0..<x.shape[0] {
            let trace = try golden.run(try QKFormerBlockFixtureTests.sample(x, b))
            let ssa: SSATrace
            switch trace {
            case .selfAttention(let s): ssa = s
            case .chain(let ps):
                guard case .residual(.selfAttention(let s), let gotX1) = ps.first else { Issue.record("no SSA in \(trace)"); return }
                ssa = s
                let want = try QKFormerBlockFixtureTests.sample(try #require(x1), b)
                #expect(QKFormerBlockFixtureTests.firstMismatch(want, gotX1) == nil, "\(name) sample \(b) x1: \(QKFormerBlockFixtureTests.firstMismatch(want, gotX1) ?? "")")
            default: Issue.record("no SSA in \(trace)"); return
            }
            let wantA = try QKFormerBlockFixtureTests.sample(attn, b), wantY = try QKFormerBlockFixtureTests.sample(y, b)
            #expect(QKFormerBlockFixtureTests.firstMismatch(wantA, ssa.attention.spikes) == nil,
                    "\(name) sample \(b) attn_lif: \(QKFormerBlockFixtureTests.firstMismatch(wantA, ssa.attention.spikes) ?? "")")
            #expect(QKFormerBlockFixtureTests.firstMismatch(wantY, trace.output) == nil,
                    "\(name) sample \(b) output: \(QKFormerBlockFixtureTests.firstMismatch(wantY, trace.output) ?? "")")
            compared += trace.output.scalars.count + ssa.attention.spikes.scalars.count
            fired += ssa.attention.spikes.scalars.reduce(0) { $0 + Int($1) }
        }
        #expect(fired > 0, "\(name): the attention neuron never fired; the case tests little")
        print("\(name): \(compared) output counts and attn_lif spikes equal to spikingjelly's (\(fired) attention spikes)")
    }
}
