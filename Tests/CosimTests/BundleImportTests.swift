import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// Bundles (docs/formats.md): both key layouts, module prefixes, exact BatchNorm folding with per-channel
/// grids, agreement with a float model of the unfolded network, the RTL with the bundle's
/// weights, and malformed bundles at the command line.
@Suite(.serialized) struct BundleImportTests {
    /// A float block as a trained model has it: conv weights, BatchNorm statistics.
    struct FloatBlock {
        let dim: Int, heads: Int, timeSteps: Int
        /// `[2C][C]` for Q then K, `[C][C]` for the projection; BN vectors to match.
        var qkW: [[Double]], projW: [[Double]]
        var qkBN: [[Double]], projBN: [[Double]]   // gamma, beta, mean, var
        var projBias: [Double]?
        let eps: Double

        /// A block whose BatchNorm folds exactly onto per-channel grids. Each output channel
        /// draws its folded grid `2^-F` (F in 2...9), folded weights `m * 2^-F` with `|m| <= 127`
        /// and one `|m| >= 65` (so `F` is the finest grid that fits 8 bits), a folded bias on the
        /// same grid, and a BN scale `s = gamma / sqrt(var + eps)` of ±2^a with `var + eps` a power
        /// of 4; the raw weights are `folded / s`, and the mean is solved from the folded bias and
        /// a random beta. Gammas other than 1 and negative ones, non-zero means and betas.
        static func exact(dim: Int, heads: Int, timeSteps: Int, rng: inout SplitMix64) -> FloatBlock {
            let eps = 1.0 / 65536
            let scales: [Double] = [0.25, 0.5, 1, 2, -0.5, -1, -2]
            func layer(_ n: Int, convBias: [Double]?) -> (w: [[Double]], bn: [[Double]]) {
                var w: [[Double]] = [], g: [Double] = [], beta: [Double] = [], mean: [Double] = [], v: [Double] = []
                for o in 0..<n {
                    let f = pow(2, -Double(rng.spkInt(2, 9)))
                    let s = scales[rng.spkInt(0, scales.count - 1)]
                    let j = Double(rng.spkInt(-1, 1))
                    var m = (0..<dim).map { _ in rng.spkInt(-127, 127) }
                    m[0] = rng.spkChance(0.5) ? rng.spkInt(65, 127) : -rng.spkInt(65, 127)
                    w.append(m.map { Double($0) * f / s })
                    let folded = Double(rng.spkInt(-300, 300)) * f
                    let b = Double(rng.spkInt(-64, 64)) * f
                    beta.append(b)
                    mean.append((convBias?[o] ?? 0) - (folded - b) / s)
                    v.append(pow(4, j) - eps)
                    g.append(s * pow(2, j))
                }
                return (w, [g, beta, mean, v])
            }
            let projBias = (0..<dim).map { _ in Double(rng.spkInt(-8, 8)) / 8 }
            let qk = layer(2 * dim, convBias: nil), proj = layer(dim, convBias: projBias)
            return FloatBlock(dim: dim, heads: heads, timeSteps: timeSteps, qkW: qk.w, projW: proj.w,
                              qkBN: qk.bn, projBN: proj.bn, projBias: projBias, eps: eps)
        }

        /// Writes the bundle in either layout (Q and K split for `qkformer`), keys under `prefix`.
        func write(to dir: URL, layout: AttentionBundle.Layout, prefix: String, perChannel: Bool = true,
                   extraConfig: String = "") throws {
            let t = dir.appendingPathComponent("tensors")
            try FileManager.default.createDirectory(at: t, withIntermediateDirectories: true)
            func save(_ key: String, _ shape: [Int], _ v: [Double]) throws {
                try NPYArray(shape: shape, scalars: v.map { Float($0) }).write(to: t.appendingPathComponent(prefix + key + ".npy"))
            }
            let C = dim
            let bnNames = ["weight", "bias", "running_mean", "running_var"]
            switch layout {
            case .spikingjelly:
                try save("qk_conv_bn.0.weight", [2 * C, C, 1], qkW.flatMap { $0 })
                for (n, v) in zip(bnNames, qkBN) { try save("qk_conv_bn.1.\(n)", [2 * C], v) }
                try save("proj_conv_bn.0.weight", [C, C, 1], projW.flatMap { $0 })
                if let b = projBias { try save("proj_conv_bn.0.bias", [C], b) }
                for (n, v) in zip(bnNames, projBN) { try save("proj_conv_bn.1.\(n)", [C], v) }
            case .qkformer:
                for (name, rows) in [("q", 0..<C), ("k", C..<(2 * C))] {
                    try save("\(name)_conv.weight", [C, C, 1], Array(qkW[rows]).flatMap { $0 })
                    for (n, v) in zip(bnNames, qkBN) { try save("\(name)_bn.\(n)", [C], Array(v[rows])) }
                }
                try save("proj_conv.weight", [C, C, 1], projW.flatMap { $0 })
                if let b = projBias { try save("proj_conv.bias", [C], b) }
                for (n, v) in zip(bnNames, projBN) { try save("proj_bn.\(n)", [C], v) }
            }
            try NPYArray(scalar: Int64(7)).write(to: t.appendingPathComponent(prefix + "proj_bn.num_batches_tracked.npy"))
            let config = """
                {"block": "qkta", "dim": \(dim), "heads": \(heads), "tokens": 8, "timeSteps": \(timeSteps), "bnEps": \(eps),
                 "quantization": {"weightBits": 8, "perChannel": \(perChannel)}\(extraConfig)}
                """
            try Data(config.utf8).write(to: dir.appendingPathComponent("config.json"))
        }

        /// The float network, unfolded, as spikingjelly runs it: conv, BatchNorm, LIF (tau 2,
        /// threshold 1, hard reset to 0), row (token) or column (channel) sums, attn_lif with
        /// threshold 0.5, mask, projection, BN, LIF. `x` is `[T][N][C]`.
        func run(_ x: SpikeTensor, channelAttention: Bool) -> [UInt8] {
            let (T, N, C) = (timeSteps, x.shape[1], dim)
            let d = C / heads
            func bn(_ stats: [[Double]], _ o: Int, _ v: Double) -> Double {
                (v - stats[2][o]) / (stats[3][o] + eps).squareRoot() * stats[0][o] + stats[1][o]
            }
            func lif(_ v: inout Double, _ input: Double, threshold: Double) -> Bool {
                let h = v + (input - v) / 2
                let s = h >= threshold
                v = s ? 0 : h
                return s
            }
            var q = [[[Bool]]](repeating: [[Bool]](repeating: [Bool](repeating: false, count: C), count: N), count: T)
            var k = q
            for n in 0..<N {
                var vq = [Double](repeating: 0, count: 2 * C)
                for t in 0..<T {
                    for o in 0..<(2 * C) {
                        var acc = 0.0
                        for i in 0..<C { acc += Double(x[t, n, i]) * qkW[o][i] }
                        let s = lif(&vq[o], bn(qkBN, o, acc), threshold: 1)
                        if o < C { q[t][n][o] = s } else { k[t][n][o - C] = s }
                    }
                }
            }
            var xp = q   // X' = A AND K
            if channelAttention {
                var va = [Double](repeating: 0, count: C)
                for t in 0..<T {
                    for c in 0..<C {
                        let sum = (0..<N).reduce(0.0) { $0 + (q[t][$1][c] ? 1 : 0) }
                        let a = lif(&va[c], sum, threshold: 0.5)
                        for n in 0..<N { xp[t][n][c] = a && k[t][n][c] }
                    }
                }
            } else {
                for n in 0..<N {
                    var va = [Double](repeating: 0, count: heads)
                    for t in 0..<T {
                        for h in 0..<heads {
                            let sum = ((h * d)..<((h + 1) * d)).reduce(0.0) { $0 + (q[t][n][$1] ? 1 : 0) }
                            let a = lif(&va[h], sum, threshold: 0.5)
                            for c in (h * d)..<((h + 1) * d) { xp[t][n][c] = a && k[t][n][c] }
                        }
                    }
                }
            }
            var out = [UInt8](repeating: 0, count: T * N * C)
            for n in 0..<N {
                var vp = [Double](repeating: 0, count: C)
                for t in 0..<T {
                    for o in 0..<C {
                        var acc = projBias?[o] ?? 0
                        for i in 0..<C where xp[t][n][i] { acc += projW[o][i] }
                        out[(t * N + n) * C + o] = lif(&vp[o], bn(projBN, o, acc), threshold: 1) ? 1 : 0
                    }
                }
            }
            return out
        }
    }

    static func tempDir(_ tag: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-bundle-\(getpid())-\(tag)")
    }

    static func settings(_ b: FloatBlock, perChannel: Bool = true) -> AttentionBundle.Settings {
        AttentionBundle.Settings(dim: b.dim, heads: b.heads, timeSteps: b.timeSteps, bnEps: b.eps, weightBits: 8, perChannel: perChannel)
    }

    /// Both layouts, with and without a prefix, read to the same integers; every layer is exact,
    /// each value is the folded float value on its channel's grid, and that grid is the finest
    /// on which the channel fits 8 bits.
    @Test func layoutsAndPrefixesReadTheSameExactIntegers() throws {
        let seed = TestSeed.value(default: 0xB0D1)
        print("BundleImportTests.layoutsAndPrefixesReadTheSameExactIntegers seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let block = FloatBlock.exact(dim: 12, heads: 3, timeSteps: 3, rng: &rng)
        var loaded: [AttentionBundle] = []
        for (layout, prefix) in [(AttentionBundle.Layout.spikingjelly, ""), (.spikingjelly, "stage1.0.attn."),
                                 (.qkformer, ""), (.qkformer, "stage2.1.attn.")] {
            let dir = Self.tempDir("layout-\(layout)-\(prefix.count)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try block.write(to: dir, layout: layout, prefix: prefix)
            let b = try AttentionBundle.load(directory: dir, settings: Self.settings(block))
            #expect(b.layout == layout && b.prefix == prefix)
            loaded.append(b)
        }
        for b in loaded.dropFirst() {
            for (x, y) in zip(b.layers, loaded[0].layers) {
                #expect(x.quantization.weights == y.quantization.weights && x.quantization.bias == y.quantization.bias)
                #expect(x.quantization.fractionBits == y.quantization.fractionBits)
            }
        }
        let b = loaded[0]
        #expect(b.isExactMode)
        let C = block.dim
        for (l, rows, stats) in [(b.q, 0..<C, block.qkBN), (b.k, C..<(2 * C), block.qkBN), (b.proj, 0..<C, block.projBN)] {
            #expect(l.quantization.isExact)
            for (o, row) in rows.enumerated() {
                let s = stats[0][row] / (stats[3][row] + block.eps).squareRoot()
                let f = l.quantization.fractionBits[o]
                let w = l.name == "proj" ? block.projW[row] : block.qkW[row]
                let ints = l.quantization.weights[o]
                for (i, v) in w.enumerated() { #expect(Double(ints[i]) * pow(2, -Double(f)) == v * s, "\(l.name)[\(o)][\(i)]") }
                let bias = s * ((l.name == "proj" ? block.projBias![row] : 0) - stats[2][row]) + stats[1][row]
                #expect(Double(l.quantization.bias[o]) * pow(2, -Double(f)) == bias, "\(l.name) bias \(o)")
                // Finest: one more fraction bit overflows 8 bits.
                #expect(w.contains { abs(($0 * s * pow(2, Double(f + 1))).rounded()) > 127 } , "\(l.name)[\(o)]: grid 2^-\(f) is not the finest")
            }
        }
    }

    /// In exact mode the golden model equals the unfolded float network on every spike, with
    /// per-channel grids (so per-channel thresholds) in all three layers, for both attentions.
    @Test(arguments: [false, true]) func exactBundleMatchesTheFloatNetwork(channelAttention: Bool) throws {
        let seed = TestSeed.value(default: 0xB0D2)
        print("BundleImportTests.exactBundleMatchesTheFloatNetwork(\(channelAttention)) seed \(seed)")
        var rng = SplitMix64(seed: seed)
        var compared = 0, spikes = 0
        for (C, h, T) in [(8, 2, 1), (12, 3, 4), (16, 4, 2)] {
            let block = FloatBlock.exact(dim: C, heads: h, timeSteps: T, rng: &rng)
            let dir = Self.tempDir("float-\(C)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try block.write(to: dir, layout: .spikingjelly, prefix: "")
            let layers = try AttentionBundle.load(directory: dir, settings: Self.settings(block)).spikingLayers()
            #expect(Set(layers[0].fractionBits).count > 1, "the test needs channels on different grids")
            var config = try BlockConfig.parse(json: Data(contentsOf: dir.appendingPathComponent("config.json")))
            config.tokens = 6
            let golden = try GoldenBlock(try BlockDescription(
                config: config, input: StreamFormat(channels: C, tokens: 6, timeSteps: T, maxCount: 1),
                body: .attention(mask: channelAttention ? .channel : .token, heads: h, q: layers[0], k: layers[1], proj: layers[2]),
                origin: "bundle"))
            for _ in 0..<4 {
                var x = SpikeTensor(shape: [T, 6, C], repeating: 0)
                x.scalars = (0..<x.scalars.count).map { _ in rng.spkChance(0.35) ? 1 : 0 }
                let golden = try golden.run(x)
                let float = block.run(x, channelAttention: channelAttention)
                for (i, (g, f)) in zip(golden.output.scalars, float).enumerated() where g != f {
                    Issue.record("C=\(C) T=\(T): element \(i) (t \(i / (6 * C)), token \(i / C % 6), channel \(i % C)): golden \(g), float \(f)")
                    return
                }
                compared += float.count
                spikes += float.reduce(0) { $0 + Int($1) }
            }
        }
        #expect(spikes > compared / 20 && spikes < compared * 19 / 20, "outputs too uniform to test anything: \(spikes) of \(compared)")
        print("BundleImportTests: \(compared) output spikes compared, \(spikes) ones, 0 mismatches")
    }

    /// Float weights off the grid: not exact, and the largest error is at most half a grid step.
    @Test func offGridWeightsAreRoundedAndReported() throws {
        var rng = SplitMix64(seed: 0xB0D3)
        var block = FloatBlock.exact(dim: 8, heads: 2, timeSteps: 2, rng: &rng)
        block.projW[3][5] += 1e-3
        let dir = Self.tempDir("offgrid")
        defer { try? FileManager.default.removeItem(at: dir) }
        try block.write(to: dir, layout: .qkformer, prefix: "")
        for perChannel in [true, false] {
            let b = try AttentionBundle.load(directory: dir, settings: Self.settings(block, perChannel: perChannel))
            // Per layer, the finest channels round to the layer's common (coarsest) grid too.
            #expect(b.q.quantization.isExact == perChannel && b.k.quantization.isExact == perChannel)
            #expect(!b.proj.quantization.isExact && !b.isExactMode)
            let f = b.proj.quantization.fractionBits[3]
            #expect(b.proj.quantization.maxError > 0 && b.proj.quantization.maxError <= pow(2, -Double(f) - 1))
            if !perChannel { #expect(Set(b.proj.quantization.fractionBits).count == 1) }
            #expect(b.reportLines.contains { $0.contains("proj") && $0.contains("rounded") })
        }
    }

    /// The RTL with the bundle's weights (per-channel thresholds in every LIF bank) against the
    /// golden model in Verilator, token and channel attention.
    @Test(arguments: [BlockKind.qkta, .qkca]) func rtlWithBundleWeightsMatchesGolden(kind: BlockKind) throws {
        let seed = TestSeed.value(default: 0xB0D4)
        print("BundleImportTests.rtlWithBundleWeightsMatchesGolden(\(kind)) seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let block = FloatBlock.exact(dim: 12, heads: 3, timeSteps: 3, rng: &rng)
        let dir = Self.tempDir("rtl-\(kind)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try block.write(to: dir, layout: .spikingjelly, prefix: "m.")
        var config = try BlockConfig.parse(json: Data(contentsOf: dir.appendingPathComponent("config.json")))
        config.block = kind
        config.tokens = 6
        let model = try BlockModel(try BlockDescription.bundle(config, directory: dir).0, folding: Folding(lanes: 4))
        let q: SpikingLayerWeights, proj: SpikingLayerWeights
        switch model.hardware.structure {
        case .attention(.token(let c)): (q, proj) = (c.q, c.proj)
        case .attention(.channel(let c)): (q, proj) = (c.q, c.proj)
        default: Issue.record("not an attention: \(model.hardware.structure)"); return
        }
        #expect(q.thresholds != nil && proj.thresholds != nil)
        var o = BlockCosim.Options()
        o.samples = 6
        o.inputRate = 0.35
        o.seed = seed
        let r = try BlockCosim.run(model, options: o)
        #expect(r.passed, "\(r.mismatches.prefix(3))")
        #expect(r.vectors > 0)
    }

    // MARK: Malformed bundles at the command line

    enum Damage: String, CaseIterable {
        case missingTensor, wrongShape, truncatedNPY, unknownConfigField, noTensorsFolder, notANumber
    }

    /// Each damage gives one line naming the problem, exit code 2, and no output directory.
    @Test(arguments: Damage.allCases) func malformedBundleGetsOneLineAndExit2(damage: Damage) throws {
        var rng = SplitMix64(seed: 0xB0D5)
        let block = FloatBlock.exact(dim: 8, heads: 2, timeSteps: 2, rng: &rng)
        let dir = Self.tempDir("bad-\(damage)")
        let out = Self.tempDir("bad-out-\(damage)")
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: out) }
        try block.write(to: dir, layout: .qkformer, prefix: "", extraConfig: damage == .unknownConfigField ? #", "learningRate": 0.1"# : "")
        let t = dir.appendingPathComponent("tensors")
        let expected: String
        switch damage {
        case .missingTensor:
            try FileManager.default.removeItem(at: t.appendingPathComponent("k_bn.running_var.npy"))
            expected = "tensor 'k_bn.running_var' is missing"
        case .wrongShape:
            try NPYArray(shape: [8, 7, 1], scalars: [Float](repeating: 0, count: 56)).write(to: t.appendingPathComponent("proj_conv.weight.npy"))
            expected = "shape (8, 7, 1), expected (8, 8, 1)"
        case .truncatedNPY:
            let f = t.appendingPathComponent("q_conv.weight.npy")
            let data = try Data(contentsOf: f)
            try data.prefix(data.count - 5).write(to: f)
            expected = "q_conv.weight.npy: truncated"
        case .unknownConfigField:
            expected = "learningRate: is not a config field"
        case .noTensorsFolder:
            try FileManager.default.removeItem(at: t)
            expected = "tensors is missing"
        case .notANumber:
            var w = [Float](repeating: 0.5, count: 8)
            w[2] = .nan
            try NPYArray(shape: [8], scalars: w).write(to: t.appendingPathComponent("q_bn.weight.npy"))
            expected = "element 2 is nan"
        }
        let cli = CLITests()
        let x = dir.appendingPathComponent("x.npy")
        try NPYArray(shape: [2, 3, 8], scalars: [UInt8](repeating: 1, count: 48)).write(to: x)
        for args in [["generate", "--bundle", dir.path, "--out", out.path],
                     ["golden", "--bundle", dir.path, "--input", x.path, "--output", out.path + ".npy"],
                     ["quantize", "--bundle", dir.path]] {
            let r = try cli.run(args)
            #expect(r.status == 2, "\(args[0]): \(r.output)")
            #expect(r.output.split(separator: "\n").count == 1 && r.output.hasPrefix("qkforge: "), "\(args[0]): \(r.output)")
            #expect(r.output.contains(expected), "\(args[0]): expected '\(expected)' in: \(r.output)")
            #expect(!FileManager.default.fileExists(atPath: out.path) && !FileManager.default.fileExists(atPath: out.path + ".npy"),
                    "\(args[0]) wrote output for a malformed bundle")
        }
    }
}
