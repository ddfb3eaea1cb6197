import Description
import Foundation
import Testing
@testable import Golden

/// Reading SSA (alone, and inside a QKFormer block) from bundles in every key layout (SPEC §4.6):
/// the authors' `attn.*` (imagenet) and `ssa.*` (cifar) with separate `{q,k,v}_conv`/`_bn` and a
/// biased `proj_conv`, and spikingjelly 2.0's fused `qkv_conv_bn` `[3C, C, 1]`.
///
/// The float block: C = 4, two heads, mlpRatio 2; weights `k / 16` with small integers `k`, BatchNorm
/// gamma 1, mean 0, var 1, eps 0 (the fold is the identity plus beta), betas multiples of 1/4, so
/// every import is exact and each integer is the float value times 2^Fw.
private struct FloatSSA {
    static let C = 4, H = 8
    func matrix(_ rows: Int, _ cols: Int, _ salt: Int) -> [[Double]] {
        (0..<rows).map { o in (0..<cols).map { i in Double((o * 7 + i * 5 + salt) % 23 - 11) / 16 } }
    }
    func beta(_ n: Int, _ salt: Int) -> [Double] { (0..<n).map { Double(($0 + salt) % 5 - 2) / 4 } }
    func bn(_ n: Int, _ salt: Int) -> [[Double]] { [Array(repeating: 1, count: n), beta(n, salt), Array(repeating: 0, count: n), Array(repeating: 1, count: n)] }
    var q: [[Double]] { matrix(Self.C, Self.C, 1) }
    var k: [[Double]] { matrix(Self.C, Self.C, 2) }
    var v: [[Double]] { matrix(Self.C, Self.C, 3) }
    var proj: [[Double]] { matrix(Self.C, Self.C, 4) }

    enum Keys { case spikingjelly, imagenet, cifar }

    /// The SSA module's tensors, relative to its prefix (`attn.` or `ssa.` is the caller's).
    func ssa(_ keys: Keys) -> [String: ([Int], [Double]?)] {
        let C = Self.C
        var t: [String: ([Int], [Double]?)] = [:]
        func bnSet(_ stem: String, _ v: [[Double]]) {
            for (n, x) in zip(["weight", "bias", "running_mean", "running_var"], v) { t["\(stem).\(n)"] = ([x.count], x) }
            t["\(stem).num_batches_tracked"] = ([], nil)
        }
        switch keys {
        case .spikingjelly:
            t["qkv_conv_bn.0.weight"] = ([3 * C, C, 1], (q + k + v).flatMap { $0 })
            let (bq, bk, bv) = (bn(C, 1), bn(C, 2), bn(C, 3))
            bnSet("qkv_conv_bn.1", (0..<4).map { bq[$0] + bk[$0] + bv[$0] })
            t["proj_conv_bn.0.weight"] = ([C, C, 1], proj.flatMap { $0 })
            bnSet("proj_conv_bn.1", bn(C, 4))
        case .imagenet, .cifar:
            for (n, w, salt) in [("q", q, 1), ("k", k, 2), ("v", v, 3)] {
                t["\(n)_conv.weight"] = ([C, C, 1], w.flatMap { $0 })
                bnSet("\(n)_bn", bn(C, salt))
            }
            // The authors' proj conv has a bias; a running mean equal to it folds to the same b'.
            let d = (0..<C).map { Double($0 + 1) / 8 }
            t["proj_conv.weight"] = ([C, C, 1], proj.flatMap { $0 }); t["proj_conv.bias"] = ([C], d)
            var pb = bn(C, 4); pb[2] = d
            bnSet("proj_bn", pb)
        }
        return t
    }

    /// A whole QKFormer block with SSA, relative to the block's prefix.
    func block(_ keys: Keys) -> [String: ([Int], [Double]?)] {
        let (C, H) = (Self.C, Self.H)
        let stem = keys == .cifar ? "ssa." : "attn."
        var t = Dictionary(uniqueKeysWithValues: ssa(keys).map { (stem + $0.key, $0.value) })
        let names: [String]
        let fc1Shape: [Int], fc2Shape: [Int]
        switch keys {
        case .spikingjelly: names = ["fc1", "bn1", "fc2", "bn2"]; (fc1Shape, fc2Shape) = ([H, C, 1], [C, H, 1])
        case .imagenet: names = ["fc1_conv", "fc1_bn", "fc2_conv", "fc2_bn"]; (fc1Shape, fc2Shape) = ([H, C, 1, 1], [C, H, 1, 1])
        case .cifar: names = ["mlp1_conv", "mlp1_bn", "mlp2_conv", "mlp2_bn"]; (fc1Shape, fc2Shape) = ([H, C, 1, 1], [C, H, 1, 1])
        }
        t["mlp.\(names[0]).weight"] = (fc1Shape, matrix(H, C, 5).flatMap { $0 })
        t["mlp.\(names[0]).bias"] = ([H], (0..<H).map { Double($0 % 3) / 4 })
        for (n, x) in zip(["weight", "bias", "running_mean", "running_var"], bn(H, 5)) { t["mlp.\(names[1]).\(n)"] = ([H], x) }
        t["mlp.\(names[2]).weight"] = (fc2Shape, matrix(C, H, 6).flatMap { $0 })
        for (n, x) in zip(["weight", "bias", "running_mean", "running_var"], bn(C, 6)) { t["mlp.\(names[3]).\(n)"] = ([C], x) }
        return t
    }
}

private func withPrefix(_ t: [String: ([Int], [Double]?)], _ p: String) -> [String: ([Int], [Double]?)] {
    Dictionary(uniqueKeysWithValues: t.map { (p + $0.key, $0.value) })
}

private let ssaSettings = AttentionBundle.Settings(dim: FloatSSA.C, heads: 2, timeSteps: 3, stage: 3, index: 0, bnEps: 0)

private func blockSettings(index: Int = 0, layout: BlockBundle.Layout? = nil, ssa: Bool = true) -> BlockBundle.Settings {
    BlockBundle.Settings(dim: FloatSSA.C, heads: 2, timeSteps: 3, mlpRatio: 2, stage: 3, index: index, layout: layout, bnEps: 0,
                         selfAttention: ssa)
}

struct SSABundleTests {
    let folders = BundleFolders(prefix: "qkforge-ssabundle")
    /// Writes `tensors` (keys as given) into a fresh bundle folder, removed after the test.
    func writeSSABundle(_ tensors: [String: ([Int], [Double]?)], name: String = #function) throws -> URL {
        try folders.write(tensors, name: name)
    }

    func expectOnGrid(_ l: AttentionBundle.Layer, _ w: [[Double]], _ bias: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
        for o in w.indices {
            let s = pow(2, Double(l.quantization.fractionBits[o]))
            #expect(l.quantization.weights[o].map(Double.init) == w[o].map { $0 * s }, "\(l.name) row \(o)", sourceLocation: sourceLocation)
            #expect(Double(l.quantization.bias[o]) == bias[o] * s, "\(l.name) bias \(o)", sourceLocation: sourceLocation)
        }
    }

    @Test func ssaAloneInBothLayoutsWithAndWithoutPrefix() throws {
        let f = FloatSSA()
        let sj = try SSABundle.load(directory: try writeSSABundle(f.ssa(.spikingjelly)), settings: ssaSettings)
        #expect(sj.layout == .spikingjelly && sj.prefix == "")
        #expect(sj.skippedKeys == ["proj_conv_bn.1.num_batches_tracked", "qkv_conv_bn.1.num_batches_tracked"])
        // spikingjelly's QKFormer: stage3.0.attn., among other parts of the model.
        var big = withPrefix(f.ssa(.spikingjelly), "module.stage3.0.attn.")
        big["module.stage2.0.attn.qk_conv_bn.0.weight"] = ([8, 4, 1], [Double](repeating: 9, count: 32))
        big["module.head.weight"] = ([2, 4], [Double](repeating: 9, count: 8))
        let sjp = try SSABundle.load(directory: try writeSSABundle(big), settings: ssaSettings)
        #expect(sjp.prefix == "module.stage3.0.attn." && sjp.skippedKeys.contains("module.head.weight"))
        let im = try SSABundle.load(directory: try writeSSABundle(withPrefix(f.ssa(.imagenet), "stage3.0.attn.")), settings: ssaSettings)
        let ci = try SSABundle.load(directory: try writeSSABundle(withPrefix(f.ssa(.cifar), "stage3.0.ssa.")), settings: ssaSettings)
        #expect(im.layout == .qkformer && ci.layout == .qkformer && ci.prefix == "stage3.0.ssa.")
        let part = try sj.part()
        for b in [sj, sjp, im, ci] {
            #expect(b.isExactMode, "\(b.reportLines)")
            #expect(b.layers.map(\.name) == ["q", "k", "v", "proj"])
            expectOnGrid(b.q, f.q, f.beta(4, 1))
            expectOnGrid(b.k, f.k, f.beta(4, 2))
            expectOnGrid(b.v, f.v, f.beta(4, 3))
            expectOnGrid(b.proj, f.proj, f.beta(4, 4))
            #expect(try b.part() == part)
        }
        guard case .selfAttention(let heads, _, _, let v, _) = part else { Issue.record("not SSA: \(part)"); return }
        #expect(heads == 2 && v.name == "v" && v.decayFractionBits == 3)
        #expect(im.reportLines.count == 1 + 4 + 1 + 1 && im.reportLines.contains { $0.hasPrefix("exact mode") })
        #expect((im.reportJSON["attention"] as? String) == "ssa")
        // Through the description: --block ssa reads the bundle, and the golden model runs it.
        var c = try BlockConfig.parse(json: Data(#"{"block": "ssa", "dim": 4, "heads": 2, "tokens": 5, "timeSteps": 3, "stage": 3, "bnEps": 0}"#.utf8))
        c.layout = .auto
        let d = try BlockDescription.bundle(c, directory: ci.directory)
        #expect(d.exact && d.0.body == part)
        _ = try GoldenBlock(d.0).run(d.0.input.randomSample(rate: 0.5, seed: 3))
    }

    @Test func qkformerBlockWithSSAInThreeLayouts() throws {
        let f = FloatSSA()
        let sj = try BlockBundle.load(directory: try writeSSABundle(f.block(.spikingjelly)), settings: blockSettings())
        let im = try BlockBundle.load(directory: try writeSSABundle(withPrefix(f.block(.imagenet), "module.stage3.0.")), settings: blockSettings())
        var many = withPrefix(f.block(.cifar), "stage3.1.")
        many.merge(withPrefix(f.block(.cifar), "stage3.0.")) { a, _ in a }
        let ci = try BlockBundle.load(directory: try writeSSABundle(many), settings: blockSettings(index: 1))
        #expect(sj.prefix == "" && im.prefix == "module.stage3.0." && ci.prefix == "stage3.1.")
        #expect(im.mlpKeys == .imagenet && ci.mlpKeys == .cifar && sj.mlpKeys == .spikingjelly)
        #expect(ci.ssa?.prefix == "stage3.1.ssa." && im.ssa?.prefix == "module.stage3.0.attn." && ci.attention == nil)
        #expect(ci.maxInputCount == 4)
        let body = try sj.body()
        for b in [sj, im, ci] {
            #expect(b.isExactMode, "\(b.reportLines)")
            #expect(b.layers.map(\.name) == ["q", "k", "v", "proj", "fc1", "fc2"])
            expectOnGrid(b.ssa!.v, f.v, f.beta(4, 3))
            #expect(try b.body() == body)
            #expect(b.reportLines[0].contains("(ssa + MLP 4 -> 8 -> 4)"))
        }
        guard case .chain(let parts) = body, case .residual(.selfAttention) = parts[0], case .residual(.mlp) = parts[1] else {
            Issue.record("a block bundle with SSA is x + SSA(x), then x1 + MLP(x1); got \(body)")
            return
        }
        // Through the description: a qkformer-block whose attention is ssa, end to end.
        let c = try BlockConfig.parse(json: Data(#"{"block": "qkformer-block", "attention": "ssa", "dim": 4, "heads": 2, "tokens": 6, "timeSteps": 3, "stage": 3, "index": 1, "mlpRatio": 2, "bnEps": 0}"#.utf8))
        let d = try BlockDescription.bundle(c, directory: ci.directory)
        #expect(d.exact && d.0.input.maxCount == 4)
        _ = try GoldenBlock(d.0).run(d.0.input.randomSample(rate: 0.5, seed: 4))
    }

    @Test func malformedSSABundlesFailWithOneLine() throws {
        let f = FloatSSA()
        func variant(_ keys: FloatSSA.Keys = .spikingjelly, _ edit: (inout [String: ([Int], [Double]?)]) -> Void) throws -> URL {
            var t = f.ssa(keys)
            edit(&t)
            return try writeSSABundle(t)
        }
        expectConfigError("tensor 'v_bn.running_var' is missing") {
            try SSABundle.load(directory: try variant(.imagenet) { $0["v_bn.running_var"] = nil }, settings: ssaSettings)
        }
        // A fused qk conv of 2C rows where SSA needs 3C.
        expectConfigError("qkv_conv_bn.0.weight.npy", "shape (8, 4, 1)", "expected (12, 4, 1)") {
            try SSABundle.load(directory: try variant { $0["qkv_conv_bn.0.weight"] = ([8, 4, 1], [Double](repeating: 0.5, count: 32)) }, settings: ssaSettings)
        }
        expectConfigError("tensor 'talking_heads.weight' is under the SSA block ''", "remove it") {
            try SSABundle.load(directory: try variant { $0["talking_heads.weight"] = ([4], [0, 0, 0, 0]) }, settings: ssaSettings)
        }
        expectConfigError("has no SSA block", "it holds a Q-K attention block: use --block qkta or qkca") {
            try SSABundle.load(directory: try writeSSABundle(["attn.qk_conv_bn.0.weight": ([8, 4, 1], [Double](repeating: 0, count: 32))]), settings: ssaSettings)
        }
        // An SSA module read as a Q-K attention block is refused, not read without its V.
        expectConfigError("holds v_conv.weight", "use --block ssa") {
            try AttentionBundle.load(directory: try variant(.imagenet) { _ in }, settings: ssaSettings)
        }
        // The block importer: a QKFormer block with SSA read with a Q-K attention, and the reverse.
        let ssaBlock = try writeSSABundle(f.block(.spikingjelly))
        expectConfigError("has no QKTA/QKCA QKFormer block", "it holds an SSA block: set \"attention\": \"ssa\"") {
            try BlockBundle.load(directory: ssaBlock, settings: blockSettings(ssa: false))
        }
        expectConfigError("tensor 'attn.v_lif.weight' belongs to block ''", "not a tensor of a qkformer-layout SSA QKFormer block") {
            var t = f.block(.imagenet)
            t["attn.v_lif.weight"] = ([4], [0, 0, 0, 0])
            return try BlockBundle.load(directory: try writeSSABundle(t), settings: blockSettings())
        }
        expectConfigError("has no SSA QKFormer block", "attn.qkv_conv_bn.0.weight.npy") {
            try BlockBundle.load(directory: try writeSSABundle(f.block(.imagenet)), settings: blockSettings(layout: .spikingjelly))
        }
        // The description's --block mlp bundle is still refused, naming what can be read.
        let c = try BlockConfig.parse(json: Data(#"{"block": "mlp", "dim": 4, "heads": 2, "tokens": 6, "timeSteps": 3}"#.utf8))
        expectConfigError("a bundle of --block mlp cannot be read yet", "ssa") { try BlockDescription.bundle(c, directory: ssaBlock) }
    }
}
