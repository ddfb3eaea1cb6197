import Description
import Foundation
import Testing
@testable import Golden

/// spikingjelly 2.0.0's own QKFormer block (`model.qkformer._Block`, token and channel attention)
/// in exact mode, against the golden model, bit for bit. The fixtures are written by
/// tools/crosscheck/blocks.py (fixed seeds; `--check` proves they regenerate byte for byte):
/// each case holds a bundle, block inputs with counts up to 4, and spikingjelly's `x1` and
/// output counts. Located from this file's path, as the test target declares no resources.
struct QKFormerBlockFixtureTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/blocks")

    /// The cases blocks.py wrote (its `cases.txt`).
    static func cases() throws -> [String] {
        let text = try String(contentsOf: folder.appendingPathComponent("cases.txt"), encoding: .utf8)
        return text.split(separator: "\n").map(String.init)
    }

    /// The docs/formats.md config.json fields a block bundle uses, read as the command line would.
    static func settings(_ bundle: URL) throws -> BlockBundle.Settings {
        let data = try Data(contentsOf: bundle.appendingPathComponent("config.json"))
        let j = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let q = try #require(j["quantization"] as? [String: Any])
        let kind: AttentionMask = try #require(["token": .token, "channel": .channel][j["attention"] as? String ?? ""])
        let layout: BlockBundle.Layout? = (j["layout"] as? String).flatMap { $0 == "auto" ? nil : BlockBundle.Layout(rawValue: $0) }
        return BlockBundle.Settings(
            dim: try #require(j["dim"] as? Int), heads: try #require(j["heads"] as? Int),
            timeSteps: try #require(j["timeSteps"] as? Int), mlpRatio: j["mlpRatio"] as? Int ?? 4, attention: kind,
            stage: j["stage"] as? Int ?? 1, index: j["index"] as? Int ?? 0, layout: layout,
            bnEps: try #require(j["bnEps"] as? Double), weightBits: q["weightBits"] as? Int ?? 8,
            perChannel: q["perChannel"] as? Bool ?? true, decayFractionBits: q["decayFractionBits"] as? Int,
            maxInputCount: j["maxInputCount"] as? Int)
    }

    static func counts(_ url: URL) throws -> Tensor<UInt8> {
        try NPYArray(contentsOf: url).tensor(of: UInt8.self)
    }

    /// Sample `b` of a `[B, T, N, C]` tensor.
    static func sample(_ x: Tensor<UInt8>, _ b: Int) throws -> SpikeTensor {
        let size = x.shape.dropFirst().reduce(1, *)
        return try Tensor(shape: Array(x.shape.dropFirst()), scalars: Array(x.scalars[(b * size)..<((b + 1) * size)]))
    }

    /// The first differing element as `[t, n, c]: expected, got`, and how many differ.
    static func firstMismatch(_ want: SpikeTensor, _ got: SpikeTensor) -> String? {
        guard want.shape == got.shape else { return "shape \(got.shape), expected \(want.shape)" }
        let bad = want.scalars.indices.filter { want.scalars[$0] != got.scalars[$0] }
        guard let i = bad.first else { return nil }
        return "\(bad.count) of \(want.scalars.count) differ; first at \(SEWResidual.index(i, want.shape)): spikingjelly \(want.scalars[i]), golden \(got.scalars[i])"
    }

    @Test func everyCaseIsPresent() throws {
        let names = try Self.cases()
        // Both attention kinds, both key layouts, a whole-model prefix, T = 1...4.
        #expect(names.count >= 7)
        for kind in ["qkta", "qkca"] { #expect(names.contains { $0.contains(kind) }, "no \(kind) case") }
        for t in 1...4 { #expect(names.contains { $0.hasSuffix("-t\(t)") }, "no case with T = \(t)") }
        for name in names {
            for file in ["bundle/config.json", "x.npy", "x1.npy", "y.npy", "expected.json"] {
                #expect(FileManager.default.fileExists(atPath: Self.folder.appendingPathComponent("\(name)/\(file)").path), "\(name)/\(file) is missing")
            }
        }
    }

    @Test(arguments: try! QKFormerBlockFixtureTests.cases())
    func goldenEqualsSpikingjelly(_ name: String) throws {
        let dir = Self.folder.appendingPathComponent(name)
        let bundleDir = dir.appendingPathComponent("bundle")
        let bundle = try BlockBundle.load(directory: bundleDir, settings: try Self.settings(bundleDir))
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("expected.json"))) as? [String: Any])
        // The importer finds the grids the weights were made on, every layer exact.
        #expect(bundle.isExactMode, "\(bundle.reportLines.joined(separator: "\n"))")
        let grids = try #require(expected["fractionBits"] as? [String: [Int]])
        for layer in bundle.layers {
            #expect(layer.quantization.fractionBits == grids[layer.name], "layer \(layer.name)")
            #expect(layer.quantization.isExact, "layer \(layer.name): largest rounding error \(layer.quantization.maxError)")
        }
        #expect(bundle.prefix == expected["prefix"] as? String)
        #expect(bundle.skippedKeys == (expected["skipped"] as? [String] ?? ["(missing in expected.json)"]))
        let config = try BlockConfig.parse(json: Data(contentsOf: bundleDir.appendingPathComponent("config.json")))
        let described = try BlockDescription.bundle(config, directory: bundleDir)
        #expect(described.exact)
        let golden = try GoldenBlock(described.0)
        let x = try Self.counts(dir.appendingPathComponent("x.npy"))
        let x1 = try Self.counts(dir.appendingPathComponent("x1.npy"))
        let y = try Self.counts(dir.appendingPathComponent("y.npy"))
        #expect(x.shape.count == 4 && x.shape == y.shape && x.shape == x1.shape)
        #expect(x.scalars.max() == UInt8(golden.block.input.maxCount), "inputs should reach maxInputCount")
        var compared = 0
        for b in 0..<x.shape[0] {
            let trace = try golden.run(try Self.sample(x, b))
            // The streams in order: Attn(x), x1, MLP(x1), x2.
            let streams = trace.streams.map(\.tensor)
            #expect(streams.count == 4)
            let wantX1 = try Self.sample(x1, b), wantY = try Self.sample(y, b)
            #expect(Self.firstMismatch(wantX1, streams[1]) == nil, "\(name) sample \(b) x1: \(Self.firstMismatch(wantX1, streams[1]) ?? "")")
            #expect(Self.firstMismatch(wantY, trace.output) == nil, "\(name) sample \(b) output: \(Self.firstMismatch(wantY, trace.output) ?? "")")
            compared += trace.output.scalars.count
        }
        print("\(name): \(compared) output counts equal to spikingjelly's (\(bundle.layout.rawValue) layout, prefix '\(bundle.prefix)', \(bundle.skippedKeys.count) tensors skipped)")
    }
}
