import Description
import Foundation
import Testing
@testable import Golden

/// Reading a QKFormer block (attention + MLP) from a bundle in the three key layouts, picking it
/// out of a larger state_dict, and rejecting malformed bundles with one line.
///
/// The float block: C = 3, mlpRatio 2 (hidden 6), weights `k / 16` with small integers `k`,
/// BatchNorm gamma 1, mean 0, var 1 (so with eps = 0 the fold is the identity plus beta),
/// biases and betas multiples of 1/4. Every value is then on an 8-bit grid, the import is exact,
/// and each quantized integer must equal the float value times 2^Fw.
private struct FloatBlock {
    static let C = 3, H = 6
    var scale = 1.0

    func w(_ o: Int, _ i: Int, _ salt: Int) -> Double {
        let k: Int = (o * 7 + i * 5 + salt) % 23 - 11
        return scale * Double(k) / 16
    }
    func matrix(_ rows: Int, _ cols: Int, _ salt: Int) -> [[Double]] { (0..<rows).map { o in (0..<cols).map { w(o, $0, salt) } } }
    func beta(_ n: Int, _ salt: Int) -> [Double] { (0..<n).map { Double(($0 + salt) % 5 - 2) / 4 } }
    /// gamma, beta, mean, var.
    func bn(_ n: Int, _ salt: Int) -> [[Double]] { [Array(repeating: 1, count: n), beta(n, salt), Array(repeating: 0, count: n), Array(repeating: 1, count: n)] }
    var q: [[Double]] { matrix(Self.C, Self.C, 1) }
    var k: [[Double]] { matrix(Self.C, Self.C, 2) }
    var proj: [[Double]] { matrix(Self.C, Self.C, 3) }
    var fc1: [[Double]] { matrix(Self.H, Self.C, 4) }
    var fc2: [[Double]] { matrix(Self.C, Self.H, 5) }
    var fc1Bias: [Double] { (0..<Self.H).map { Double($0 % 3) / 4 } }
    var fc2Bias: [Double] { (0..<Self.C).map { -Double($0) / 4 } }

    enum Keys { case spikingjelly, imagenet, cifar }

    /// Relative key -> (shape, values); `nil` values mark an int64 num_batches_tracked scalar.
    func tensors(_ keys: Keys) -> [String: ([Int], [Double]?)] {
        let (C, H) = (Self.C, Self.H)
        var t: [String: ([Int], [Double]?)] = [:]
        func bnSet(_ stem: String, _ v: [[Double]]) {
            for (n, x) in zip(["weight", "bias", "running_mean", "running_var"], v) { t["\(stem).\(n)"] = ([x.count], x) }
            t["\(stem).num_batches_tracked"] = ([], nil)
        }
        switch keys {
        case .spikingjelly:
            t["attn.qk_conv_bn.0.weight"] = ([2 * C, C, 1], (q + k).flatMap { $0 })
            let (bq, bk) = (bn(C, 1), bn(C, 2))
            bnSet("attn.qk_conv_bn.1", zip(bq, bk).map { $0 + $1 })
            t["attn.proj_conv_bn.0.weight"] = ([C, C, 1], proj.flatMap { $0 })
            bnSet("attn.proj_conv_bn.1", bn(C, 3))
            t["mlp.fc1.weight"] = ([H, C, 1], fc1.flatMap { $0 }); t["mlp.fc1.bias"] = ([H], fc1Bias)
            bnSet("mlp.bn1", bn(H, 4))
            t["mlp.fc2.weight"] = ([C, H, 1], fc2.flatMap { $0 }); t["mlp.fc2.bias"] = ([C], fc2Bias)
            bnSet("mlp.bn2", bn(C, 5))
        case .imagenet, .cifar:
            t["tssa.q_conv.weight"] = ([C, C, 1], q.flatMap { $0 }); bnSet("tssa.q_bn", bn(C, 1))
            t["tssa.k_conv.weight"] = ([C, C, 1], k.flatMap { $0 }); bnSet("tssa.k_bn", bn(C, 2))
            // The authors' proj conv has a bias; a running mean equal to it folds to the same b'.
            let d = (0..<C).map { Double($0 + 1) / 8 }
            t["tssa.proj_conv.weight"] = ([C, C, 1], proj.flatMap { $0 }); t["tssa.proj_conv.bias"] = ([C], d)
            var pb = bn(C, 3); pb[2] = d
            bnSet("tssa.proj_bn", pb)
            let names = keys == .imagenet ? ["fc1_conv", "fc1_bn", "fc2_conv", "fc2_bn"] : ["mlp1_conv", "mlp1_bn", "mlp2_conv", "mlp2_bn"]
            t["mlp.\(names[0]).weight"] = ([H, C, 1, 1], fc1.flatMap { $0 }); t["mlp.\(names[0]).bias"] = ([H], fc1Bias)
            bnSet("mlp.\(names[1])", bn(H, 4))
            t["mlp.\(names[2]).weight"] = ([C, H, 1, 1], fc2.flatMap { $0 }); t["mlp.\(names[2]).bias"] = ([C], fc2Bias)
            bnSet("mlp.\(names[3])", bn(C, 5))
        }
        return t
    }
}

private func prefixed(_ t: [String: ([Int], [Double]?)], _ p: String) -> [String: ([Int], [Double]?)] {
    Dictionary(uniqueKeysWithValues: t.map { (p + $0.key, $0.value) })
}

private func settings(stage: Int = 1, index: Int = 0, eps: Double = 0, kind: AttentionMask = .token,
                      layout: BlockBundle.Layout? = nil, maxInputCount: Int? = nil) -> BlockBundle.Settings {
    BlockBundle.Settings(dim: FloatBlock.C, heads: 1, timeSteps: 2, mlpRatio: 2, attention: kind, stage: stage, index: index,
                         layout: layout, bnEps: eps, maxInputCount: maxInputCount)
}

struct BlockBundleTests {
    let folders = BundleFolders(prefix: "qkforge-blockbundle")
    /// Writes `tensors` (keys as given) into a fresh bundle folder, removed after the test.
    func writeBundle(_ tensors: [String: ([Int], [Double]?)], name: String = #function) throws -> URL {
        try folders.write(tensors, name: name)
    }

    /// Every quantized integer equals its float value (after the identity fold) times 2^Fw.
    func expectOnGrid(_ l: BlockBundle.Layer, _ w: [[Double]], _ bias: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
        for o in w.indices {
            let s = pow(2, Double(l.quantization.fractionBits[o]))
            #expect(l.quantization.weights[o].map(Double.init) == w[o].map { $0 * s }, "\(l.name) row \(o)", sourceLocation: sourceLocation)
            #expect(Double(l.quantization.bias[o]) == bias[o] * s, "\(l.name) bias \(o)", sourceLocation: sourceLocation)
        }
    }

    @Test func threeLayoutsGiveTheSameBlock() throws {
        let f = FloatBlock()
        // spikingjelly's bare _Block, no prefix.
        let sj = try BlockBundle.load(directory: try writeBundle(f.tensors(.spikingjelly)), settings: settings())
        #expect(sj.layout == .spikingjelly && sj.mlpKeys == .spikingjelly && sj.prefix == "")
        #expect(sj.skippedKeys == ["attn.proj_conv_bn.1.num_batches_tracked", "attn.qk_conv_bn.1.num_batches_tracked",
                                   "mlp.bn1.num_batches_tracked", "mlp.bn2.num_batches_tracked"])
        // The authors' imagenet keys under a module prefix, among other parts of the model.
        var big = prefixed(f.tensors(.imagenet), "module.stage1.0.")
        big["module.stage1.1.tssa.q_conv.weight"] = ([3, 3, 1], [Double](repeating: 9, count: 9))
        big["module.head.weight"] = ([2, 3], [Double](repeating: 9, count: 6))
        big["module.patch_embed1.proj_conv.weight"] = ([3, 3, 3, 3], [Double](repeating: 9, count: 81))
        let im = try BlockBundle.load(directory: try writeBundle(big), settings: settings())
        #expect(im.layout == .qkformer && im.mlpKeys == .imagenet && im.prefix == "module.stage1.0.")
        #expect(im.skippedKeys.count == 3 + 5 && im.skippedKeys.contains("module.head.weight"))
        #expect(im.skippedKeys.contains("module.stage1.0.tssa.q_bn.num_batches_tracked"))
        // The authors' cifar keys, block 1 of stage 2.
        let ci = try BlockBundle.load(directory: try writeBundle(prefixed(f.tensors(.cifar), "stage2.1.")), settings: settings(stage: 2, index: 1))
        #expect(ci.layout == .qkformer && ci.mlpKeys == .cifar && ci.prefix == "stage2.1.")
        #expect(ci.attention?.prefix == "stage2.1.tssa.")
        // docs/arithmetic.md §5: block 1 of a stage reads counts up to 2 + 2*1.
        #expect(ci.maxInputCount == 4 && sj.maxInputCount == 2)
        for b in [sj, im, ci] {
            #expect(b.isExactMode, "\(b.reportLines)")
            #expect(b.layers.map(\.name) == ["q", "k", "proj", "fc1", "fc2"])
            expectOnGrid(b.attention!.q, f.q, f.beta(3, 1))
            expectOnGrid(b.attention!.k, f.k, f.beta(3, 2))
            expectOnGrid(b.attention!.proj, f.proj, f.beta(3, 3))
            expectOnGrid(b.fc1, f.fc1, zip(f.fc1Bias, f.beta(6, 4)).map { $0 + $1 })
            expectOnGrid(b.fc2, f.fc2, zip(f.fc2Bias, f.beta(3, 5)).map { $0 + $1 })
        }
        // Row o of fc1 holds k/16: its finest 8-bit grid 2^-f is the largest f with every
        // k * 2^(f-4) in -128...127 (|k| = 11 gives 7, |k| = 5 gives 8).
        let grids = f.fc1.map { row -> Int in
            let ks = row.map { Int($0 * 16) }
            return (4...20).last { f in ks.allSatisfy { (-128...127).contains($0 << (f - 4)) } }!
        }
        #expect(sj.fc1.quantization.fractionBits == grids)
        #expect(Set(grids).count > 1, "the rows should need different grids")
        let p = try sj.body()
        #expect(try im.body() == p)
        #expect(try Array(ci.body().layers.suffix(2)) == Array(p.layers.suffix(2)))
        // Each channel on its own grid, E = T = 2: the golden model's threshold 1.0 is then
        // 2^(Fw + E) on the membrane grid.
        let fc1 = p.layers[3]
        #expect(fc1.outputs == 6 && fc1.fractionBits == grids && fc1.decayFractionBits == 2)
        guard case .chain(let parts) = p, case .residual(.attention(let mask, _, _, _, _)) = parts[0] else {
            Issue.record("a block bundle is x + Attn(x), then x1 + MLP(x1); got \(p)")
            return
        }
        #expect(mask == .token && sj.maxInputCount == 2)
        let channel = try BlockBundle.load(directory: try writeBundle(f.tensors(.spikingjelly)), settings: settings(kind: .channel)).body()
        guard case .chain(let cparts) = channel, case .residual(.attention(let cmask, _, _, _, _)) = cparts[0] else {
            Issue.record("no attention in \(channel)")
            return
        }
        #expect(cmask == .channel)
        // The report: one line per layer, exact mode, the skipped tensors.
        let lines = im.reportLines
        #expect(lines.count == 1 + 5 + 1 + 1)
        #expect(lines.contains { $0.hasPrefix("exact mode") })
        #expect(lines.last?.hasPrefix("skipped 8 tensors") == true)
        #expect((im.reportJSON["skipped"] as? [String]) == im.skippedKeys)
    }

    @Test func blockPickedByStageAndIndex() throws {
        let f = FloatBlock(), g = FloatBlock(scale: 2)
        var t = prefixed(f.tensors(.spikingjelly), "stage1.0.")
        t.merge(prefixed(g.tensors(.spikingjelly), "stage1.1.")) { a, _ in a }
        let dir = try writeBundle(t)
        let b1 = try BlockBundle.load(directory: dir, settings: settings(index: 1))
        #expect(b1.prefix == "stage1.1.")
        expectOnGrid(b1.fc1, g.fc1, zip(g.fc1Bias, g.beta(6, 4)).map { $0 + $1 })
        #expect(b1.skippedKeys.filter { $0.hasPrefix("stage1.0.") }.count == t.keys.filter { $0.hasPrefix("stage1.0.") }.count)
        #expect(try BlockBundle.load(directory: dir, settings: settings(index: 0)).prefix == "stage1.0.")
        expectConfigError("holds the QKFormer blocks 'stage1.0.', 'stage1.1.'", "stage 1, index 2 does not pick exactly one") {
            try BlockBundle.load(directory: dir, settings: settings(index: 2))
        }
        // One block, but not the one config.json names.
        let only = try writeBundle(prefixed(f.tensors(.spikingjelly), "stage2.0."))
        expectConfigError("'stage2.0.'", "stage 1, index 0 does not pick exactly one") { try BlockBundle.load(directory: only, settings: settings()) }
        #expect(try BlockBundle.load(directory: only, settings: settings(stage: 2)).prefix == "stage2.0.")
        // The layout setting must match the keys.
        expectConfigError("no QKTA/QKCA QKFormer block", "tssa.q_conv.weight.npy") {
            try BlockBundle.load(directory: only, settings: settings(stage: 2, layout: .qkformer))
        }
    }

    @Test func malformedBundlesFailWithOneLine() throws {
        let f = FloatBlock()
        func variant(_ keys: FloatBlock.Keys = .spikingjelly, _ edit: (inout [String: ([Int], [Double]?)]) -> Void) throws -> URL {
            var t = f.tensors(keys)
            edit(&t)
            return try writeBundle(t)
        }
        let s = settings()
        expectConfigError("tensor 'mlp.bn2.running_var' is missing") {
            try BlockBundle.load(directory: try variant { $0["mlp.bn2.running_var"] = nil }, settings: s)
        }
        expectConfigError("mlp.fc1.weight.npy", "shape (6, 4, 1)", "expected (6, 3, 1)") {
            try BlockBundle.load(directory: try variant { $0["mlp.fc1.weight"] = ([6, 4, 1], [Double](repeating: 0.5, count: 24)) }, settings: s)
        }
        expectConfigError("mlp.fc2.bias.npy", "shape (4,), expected (3,)") {
            try BlockBundle.load(directory: try variant { $0["mlp.fc2.bias"] = ([4], [0, 0, 0, 0]) }, settings: s)
        }
        // mlpRatio in config.json disagreeing with the tensors is a shape error too.
        var r4 = s; r4.mlpRatio = 4
        expectConfigError("mlp.fc1.weight.npy", "expected (12, 3, 1)") { try BlockBundle.load(directory: try variant { _ in }, settings: r4) }
        expectConfigError("tensor 'mlp.fc3.weight' belongs to block ''", "remove it") {
            try BlockBundle.load(directory: try variant { $0["mlp.fc3.weight"] = ([3, 6, 1], [Double](repeating: 0, count: 18)) }, settings: s)
        }
        expectConfigError("tensor 'stage1.0.tssa.v_conv.weight' belongs to block 'stage1.0.'") {
            var t = prefixed(f.tensors(.imagenet), "stage1.0.")
            t["stage1.0.tssa.v_conv.weight"] = ([3, 3, 1], [Double](repeating: 0, count: 9))
            return try BlockBundle.load(directory: try writeBundle(t), settings: s)
        }
        expectConfigError("has no QKTA/QKCA QKFormer block") {
            try BlockBundle.load(directory: try variant { $0["attn.qk_conv_bn.0.weight"] = nil }, settings: s)
        }
        expectConfigError("both mlp.fc1_conv.* (imagenet) and mlp.mlp1_conv.* (cifar)") {
            try BlockBundle.load(directory: try variant(.imagenet) { $0["mlp.mlp1_conv.weight"] = ([6, 3, 1, 1], [Double](repeating: 0, count: 18)) }, settings: s)
        }
        expectConfigError("'mlp.fc1_conv.weight' (imagenet) or 'mlp.mlp1_conv.weight' (cifar) is missing") {
            try BlockBundle.load(directory: try variant(.imagenet) { t in for k in t.keys where k.hasPrefix("mlp.") { t[k] = nil } }, settings: s)
        }
        expectConfigError("element 2 is nan") {
            try BlockBundle.load(directory: try variant { $0["mlp.bn1.bias"] = ([6], [0, 0, .nan, 0, 0, 0]) }, settings: s)
        }
        expectConfigError("heads 2 must divide dim 3") {
            var h = s; h.heads = 2
            return try BlockBundle.load(directory: try variant { _ in }, settings: h)
        }
        expectConfigError("maxInputCount must be 0...253") {
            try BlockBundle.load(directory: try variant { _ in }, settings: settings(maxInputCount: 254))
        }
        expectConfigError("is missing; a bundle keeps one <state_dict key>.npy per tensor there") {
            try BlockBundle.load(directory: FileManager.default.temporaryDirectory, settings: s)
        }
    }

    @Test func bnEpsZeroIsAllowedAndOnlyNonPositiveVarianceFails() throws {
        let f = FloatBlock()
        // eps = 0 with var = 1: accepted, exact (every test above already uses eps = 0).
        #expect(try BlockBundle.load(directory: try writeBundle(f.tensors(.spikingjelly)), settings: settings(eps: 0)).isExactMode)
        // var = 0 in fc1's channel 4: with eps = 0 that is var + eps = 0, an error naming the layer and channel ...
        var t = f.tensors(.spikingjelly)
        t["mlp.bn1.running_var"] = ([6], [1, 1, 1, 1, 0, 1])
        let dir = try writeBundle(t)
        expectConfigError("mlp.fc1.weight (layer fc1)", "channel 4", "var + eps = 0.0 is not positive") {
            try BlockBundle.load(directory: dir, settings: settings(eps: 0))
        }
        // ... and with eps > 0 it is fine (not exact: 1/sqrt(1e-5) is not on a power-of-two grid).
        let ok = try BlockBundle.load(directory: dir, settings: settings(eps: 1e-5))
        #expect(!ok.fc1.quantization.isExact && !ok.isExactMode)
        // The attention importer follows the same rule: eps = 0 loads, var + eps <= 0 names the layer (k) and channel.
        var a = f.tensors(.spikingjelly)
        let attnSettings = AttentionBundle.Settings(dim: 3, heads: 1, timeSteps: 2, bnEps: 0)
        #expect(try AttentionBundle.load(directory: try writeBundle(a), settings: attnSettings).isExactMode)
        a["attn.qk_conv_bn.1.running_var"] = ([6], [1, 1, 1, 1, -0.5, 1])
        expectConfigError("(layer k)", "channel 1", "not positive") {
            try AttentionBundle.load(directory: try writeBundle(a), settings: attnSettings)
        }
    }
}
