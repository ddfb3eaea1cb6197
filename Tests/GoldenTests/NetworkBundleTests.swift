import Description
import Foundation
import Testing
@testable import Golden

/// Reading a whole network from a bundle (SPEC 4.6, docs/formats.md): a random network on the
/// quantization grid is written out as a float state_dict in a key layout (BatchNorm gamma 1,
/// mean 0, var 1 with eps 0, so the fold is the identity plus beta), read back, and must compute
/// the same streams and logits; malformed bundles are one-line errors naming the tensor.
///
/// The key names below are written out from the reference code (spikingjelly 2.0's
/// `model/qkformer.py`; the authors' imagenet/qkformer.py, cifar10/model.py and
/// dvs128-gesture/model.py), independently of the importer's tables.

/// Conv key stems (conv, BatchNorm) of each embedding section, stem first, shortcut last, in the
/// order of `Part.layers` (main branch, then shortcut).
private func embeddingKeys(_ e: NetworkConfig.Embedding, stage: Int, authors: Bool) -> [(String, String)] {
    func a(_ p: String) -> (String, String) { (p + "_conv", p + "_bn") }
    let sc = ("shortcut.0", "shortcut.1")
    if !authors {
        switch (e, stage) {
        case (.imagenet, 1): return [("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"), sc]
        case (.dvs, 1): return [("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"), ("conv4", "bn4"), sc]
        default: return [("conv1", "bn1"), ("conv2", "bn2"), sc]   // cifar stage 1 (stem, main, shortcut) and later stages
        }
    }
    switch (e, stage) {
    case (.imagenet, 1): return [a("proj"), a("proj1"), a("proj2"), a("proj_res")]
    case (.cifar, 1): return [a("proj"), a("proj1"), a("proj_res")]
    case (.dvs, 1): return [a("proj"), a("proj1"), a("proj2"), a("proj3"), a("proj_res")]
    case (.dvs, _): return [a("proj"), a("proj4"), a("proj_res")]
    default: return [a("proj3"), a("proj4"), a("proj_res")]   // imagenet and cifar stages 2-3
    }
}

/// Writes `d` as a bundle: float weights `W / 2^Fw`, biases `b / 2^F` as BatchNorm beta (the
/// authors' convs have no bias) or, for spikingjelly's convs, as the conv bias with beta 0.
private func export(_ d: NetworkDescription, json: String, authors: Bool, prefix: String = "") throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-net-\(UUID().uuidString)")
    let tensors = dir.appendingPathComponent("tensors")
    try FileManager.default.createDirectory(at: tensors, withIntermediateDirectories: true)
    try Data(json.utf8).write(to: dir.appendingPathComponent("config.json"))
    func put(_ key: String, _ shape: [Int], _ v: [Double]) throws {
        try NPYArray(shape: shape, scalars: v.map { Float($0) }).write(to: tensors.appendingPathComponent(prefix + key + ".npy"))
    }
    func bn(_ stem: String, beta: [Double]) throws {
        let n = beta.count
        try put(stem + ".weight", [n], Array(repeating: 1, count: n))
        try put(stem + ".bias", [n], beta)
        try put(stem + ".running_mean", [n], Array(repeating: 0, count: n))
        try put(stem + ".running_var", [n], Array(repeating: 1, count: n))
        try NPYArray(shape: [], scalars: [Int64(7)]).write(to: tensors.appendingPathComponent(prefix + stem + ".num_batches_tracked.npy"))
    }
    /// Real weights and bias of a layer whose weights sit `extra` bits coarser than its grid.
    func real(_ l: SpikingLayer, extra: Int = 0) -> (w: [[Double]], b: [Double]) {
        (l.weights.enumerated().map { o, r in r.map { Double($0) / pow(2, Double(l.fractionBits[o] - extra)) } },
         l.bias.enumerated().map { Double($1) / pow(2, Double(l.fractionBits[$0])) })
    }
    func conv(_ section: String, _ keys: (String, String), _ l: SpikingLayer, kernel: Int, extra: Int = 0) throws {
        let (w, b) = real(l, extra: extra)
        try put("\(section).\(keys.0).weight", [l.outputs, l.inputs / (kernel * kernel), kernel, kernel], w.flatMap { $0 })
        if authors {
            try bn("\(section).\(keys.1)", beta: b)
        } else {
            try put("\(section).\(keys.0).bias", [l.outputs], b)
            try bn("\(section).\(keys.1)", beta: Array(repeating: 0, count: l.outputs))
        }
    }
    var convSections = 0
    for s in d.sections {
        if s.name.hasPrefix("patch_embed") {
            convSections += 1
            var keys = embeddingKeys(d.config.embedding, stage: convSections, authors: authors)
            if let st = d.stem, convSections == 1 {
                guard case .pixels(_, let fin) = d.image.kind else { fatalError() }
                try conv(s.name, keys.removeFirst(), st.layer, kernel: 3, extra: fin)
            }
            func kernels(_ p: Part) -> [Int] {
                switch p {
                case .conv(let c): [c.kernel]
                case .chain(let ps): ps.flatMap(kernels)
                case .fork(let m, let sh): kernels(m) + kernels(sh)
                default: []
                }
            }
            for ((l, k), key) in zip(zip(s.body.layers, kernels(s.body)), keys) { try conv(s.name, key, l, kernel: k) }
            continue
        }
        // stage<S>.block<i> -> stage<S>.<i>., spikingjelly's block keys.
        let p = s.name.replacingOccurrences(of: ".block", with: ".") + "."
        guard case .chain(let parts) = s.body, case .residual(let attn) = parts[0], case .residual(.mlp(let fc1, let fc2)) = parts[1] else { fatalError() }
        func fused(_ stem: String, _ ls: [SpikingLayer]) throws {
            let r = ls.map { real($0) }
            try put(p + stem + ".0.weight", [ls.count * ls[0].outputs, ls[0].inputs, 1], r.flatMap { $0.w.flatMap { $0 } })
            try bn(p + stem + ".1", beta: r.flatMap(\.b))
        }
        switch attn {
        case .attention(_, _, let q, let k, let proj): try fused("attn.qk_conv_bn", [q, k]); try fused("attn.proj_conv_bn", [proj])
        case .selfAttention(_, let q, let k, let v, let proj): try fused("attn.qkv_conv_bn", [q, k, v]); try fused("attn.proj_conv_bn", [proj])
        default: fatalError()
        }
        for (n, l) in [("1", fc1), ("2", fc2)] {
            try put(p + "mlp.fc\(n).weight", [l.outputs, l.inputs, 1], real(l).w.flatMap { $0 })
            try bn(p + "mlp.bn\(n)", beta: real(l).b)
        }
    }
    let h = d.head
    try put("head.weight", [h.classes, h.channels], h.weights.enumerated().flatMap { k, r in r.map { Double($0) / pow(2, Double(h.fractionBits[k])) } })
    try put("head.bias", [h.classes], h.bias.enumerated().map { Double($1) / pow(2, Double(h.fractionBits[$0])) })
    return dir
}

private func randomInput(_ c: NetworkConfig, _ g: GoldenNetwork, seed: UInt64) throws -> NetworkTrace {
    var rng = SplitMix64(seed: seed)
    if c.embedding == .dvs {
        let shape = [c.timeSteps, c.inChannels, c.image[0], c.image[1]]
        let v = (0..<shape.reduce(1, *)).map { _ in Double(Int.random(in: 0...2, using: &rng)) }
        return try g.run(frames: ImageInput.frames(v, shape: shape, maxCount: c.maxFrameCount))
    }
    let shape = [c.inChannels, c.image[0], c.image[1]]
    let v = (0..<shape.reduce(1, *)).map { _ in Double.random(in: -3...3, using: &rng) }
    return try g.run(image: ImageInput.quantize(v, shape: shape, bits: 8, fractionBits: 5).pixels)
}

@Suite("Network bundles (SPEC 4.6)")
struct NetworkBundleTests {
    @Test(arguments: [
        (#"{"block": "network", "embedding": "imagenet", "dims": [8, 16], "heads": [2, 2], "depths": [1, 1], "image": [16, 8], "classes": 3, "timeSteps": 2, "bnEps": 0}"#, false, "module."),
        (#"{"block": "network", "embedding": "cifar", "dims": [8, 16], "heads": [2, 4], "depths": [1, 1], "image": [8, 6], "classes": 4, "timeSteps": 2, "bnEps": 0, "layout": "spikingjelly"}"#, false, ""),
        (#"{"block": "network", "embedding": "cifar", "dims": [8, 16], "heads": [2, 4], "depths": [0, 0], "image": [8, 6], "classes": 4, "timeSteps": 2, "bnEps": 0}"#, true, ""),
        (#"{"block": "network", "embedding": "imagenet", "dims": [8, 16, 16], "heads": [2, 2, 2], "depths": [0, 0, 0], "image": [16, 16], "classes": 2, "timeSteps": 3, "bnEps": 0}"#, true, "module."),
        (#"{"block": "network", "embedding": "dvs", "dims": [16, 8], "heads": [2, 2], "depths": [0, 0], "image": [16, 16], "classes": 5, "timeSteps": 2, "bnEps": 0, "maxInputCount": 2}"#, true, ""),
        (#"{"block": "network", "embedding": "dvs", "dims": [16, 8], "heads": [2, 2], "depths": [1, 1], "image": [16, 16], "classes": 5, "timeSteps": 2, "bnEps": 0, "maxInputCount": 2}"#, false, ""),
    ])
    func exportedNetworkReadsBackToTheSameArithmetic(json: String, authors: Bool, prefix: String) throws {
        let c = try NetworkConfig.parse(json: Data(json.utf8))
        let seed = try TestSeed.named("exportedNetworkReadsBack \(c.embedding) \(authors ? "qkformer" : "spikingjelly")")
        let d = try NetworkDescription.random(c, seed: seed)
        let dir = try export(d, json: json, authors: authors, prefix: prefix)
        defer { try? FileManager.default.removeItem(at: dir) }
        let b = try NetworkBundle.load(directory: dir)
        #expect(NetworkBundle.isNetwork(directory: dir))
        #expect(b.layout == (authors ? .qkformer : .spikingjelly), "seed \(seed)")
        #expect(b.prefix == prefix)
        #expect(b.isExactMode, "seed \(seed): \(b.reportLines.joined(separator: "\n"))")
        #expect(b.network.sections.map(\.name) == d.sections.map(\.name))
        #expect(b.skippedKeys.allSatisfy { $0.hasSuffix("num_batches_tracked") } && !b.skippedKeys.isEmpty)
        let (mine, theirs) = (try GoldenNetwork(b.network), try GoldenNetwork(d))
        for trial in 0..<2 {
            let r = try randomInput(c, mine, seed: seed &+ UInt64(trial)), ref = try randomInput(c, theirs, seed: seed &+ UInt64(trial))
            #expect(r.logits == ref.logits, "trial \(trial), seed \(seed)")
            #expect(r.predictedClass == ref.predictedClass)
            let m = r.firstMismatch(against: ref.streams)
            #expect(m == nil, "first mismatch \(String(describing: m)), trial \(trial), seed \(seed)")
        }
    }

    /// The stem's bias and threshold sit on 2^-(Fw + inputFractionBits): a weight grid of 2^-7
    /// and Fin = 5 put a bias of 1/32 at 2^7 = 128.
    @Test func stemBiasIsOnTheCurrentGrid() throws {
        let json = #"{"block": "network", "embedding": "cifar", "dims": [4], "heads": [1], "depths": [0], "image": [4, 4], "classes": 2, "timeSteps": 1, "bnEps": 0}"#
        let c = try NetworkConfig.parse(json: Data(json.utf8))
        let d = try NetworkDescription.random(c, seed: 1)
        let dir = try export(d, json: json, authors: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Overwrite the stem: 2 output channels, weights 0.5 and -0.25 in the first tap, bias 1/32.
        var w = [Float](repeating: 0, count: 2 * 3 * 9)
        w[0] = 0.5; w[27] = -0.25
        let t = dir.appendingPathComponent("tensors")
        try NPYArray(shape: [2, 3, 3, 3], scalars: w).write(to: t.appendingPathComponent("patch_embed1.proj_conv.weight.npy"))
        try NPYArray(shape: [2], scalars: [Float(1.0 / 32), Float(0)]).write(to: t.appendingPathComponent("patch_embed1.proj_bn.bias.npy"))
        let b = try NetworkBundle.load(directory: dir)
        let stem = try #require(b.network.stem)
        // 0.5 needs 2^-7 for 8 bits (0.5 * 2^8 = 128 does not fit): 64; -0.25 the grid 2^-9: -128.
        #expect(stem.layer.weights[0][0] == 64 && stem.layer.weights[1][0] == -128)
        #expect(stem.layer.fractionBits == [12, 14])
        #expect(stem.layer.bias == [128, 0])
        #expect(b.convs[0].quantization.isExact)
        #expect(b.reportLines.contains { $0.contains("patch_embed1.conv1") && $0.contains("current grid 2^-12 to 2^-14") })
    }

    @Test func malformedBundlesAreOneLineErrorsNamingTheTensor() throws {
        let json = #"{"block": "network", "embedding": "cifar", "dims": [8, 16], "heads": [2, 4], "depths": [1, 1], "image": [8, 6], "classes": 4, "timeSteps": 2, "bnEps": 0}"#
        let c = try NetworkConfig.parse(json: Data(json.utf8))
        let d = try NetworkDescription.random(c, seed: 5)
        func fresh() throws -> URL { try export(d, json: json, authors: false) }
        // A missing layer.
        var dir = try fresh()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tensors/patch_embed2.conv2.weight.npy"))
        expectOneLineError(ConfigError.self, ["patch_embed2.conv2.weight", "missing"], sourceLocation: #_sourceLocation) {
            try NetworkBundle.load(directory: dir)
        }
        try? FileManager.default.removeItem(at: dir)
        // A wrong shape.
        dir = try fresh()
        try NPYArray(shape: [4, 15], scalars: [Float](repeating: 0, count: 60)).write(to: dir.appendingPathComponent("tensors/head.weight.npy"))
        expectOneLineError(ConfigError.self, ["head.weight.npy", "(4, 15)", "expected (4, 16)"], sourceLocation: #_sourceLocation) {
            try NetworkBundle.load(directory: dir)
        }
        try? FileManager.default.removeItem(at: dir)
        // A block the config does not have (depths disagree with the export).
        dir = try fresh()
        try NPYArray(shape: [16, 16, 1], scalars: [Float](repeating: 0, count: 256)).write(to: dir.appendingPathComponent("tensors/stage2.1.attn.qk_conv_bn.0.weight.npy"))
        expectOneLineError(ConfigError.self, ["stage2.1.attn.qk_conv_bn.0.weight", "depths"], sourceLocation: #_sourceLocation) {
            try NetworkBundle.load(directory: dir)
        }
        try? FileManager.default.removeItem(at: dir)
        // A block's missing tensor names the block.
        dir = try fresh()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tensors/stage1.0.mlp.bn2.running_var.npy"))
        expectOneLineError(ConfigError.self, ["stage1.0.mlp.bn2.running_var", "missing"], sourceLocation: #_sourceLocation) {
            try NetworkBundle.load(directory: dir)
        }
        try? FileManager.default.removeItem(at: dir)
        // No network at all.
        dir = try fresh()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tensors/patch_embed1.conv1.weight.npy"))
        expectOneLineError(ConfigError.self, ["patch_embed1.proj_conv.weight", "patch_embed1.conv1.weight"], sourceLocation: #_sourceLocation) {
            try NetworkBundle.load(directory: dir)
        }
        try? FileManager.default.removeItem(at: dir)
    }
}
