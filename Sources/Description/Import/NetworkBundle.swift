import Foundation

/// A whole trained QKFormer network read from a model bundle (docs/formats.md): `config.json` with
/// `"block": "network"` (or no block field) and `tensors/<state_dict key>.npy`, BatchNorm folded
/// and quantized (docs/arithmetic.md §4, §8) into a `NetworkDescription`.
///
/// Key layouts (SPEC 4.6, checked against the reference code), with or without a module prefix
/// (`module.`):
/// - `qkformer`, the QKFormer authors' code. Patch embeddings name each conv `projX_conv` with
///   its BatchNorm `projX_bn` (no conv bias): imagenet/qkformer.py stage 1 `proj` (the stem,
///   pooled), `proj1` (pooled), `proj2`, `proj_res` (1x1, stride 2); stages 2-3 `proj3` (pooled),
///   `proj4`, `proj_res`. cifar10/model.py stage 1 `proj` (stem), `proj1`, `proj_res` (stride 1);
///   stages 2-3 `proj3`, `proj4` (pooled), `proj_res`. dvs128-gesture/model.py stage 1 `proj`,
///   `proj1`, `proj2`, `proj3` (the last three pooled), `proj_res` (stride 4, from `proj1`'s
///   output); stage 2 `proj`, `proj4` (pooled), `proj_res`.
/// - `spikingjelly`, spikingjelly 2.0's `model.qkformer.QKFormer` (imagenet structure, convs with
///   a bias): `patch_embed1.{conv1,bn1,conv2,bn2,conv3,bn3,shortcut.0,shortcut.1}`,
///   `patch_embed{2,3}.{conv1,bn1,conv2,bn2,shortcut.0,shortcut.1}`. spikingjelly has no cifar or
///   dvs embedding; for them this layout names the convs as `NetworkDescription` does
///   (`conv1`...`conv4` with `bn1`...`bn4`, `shortcut.{0,1}`), a QKForge extension.
///
/// Blocks are `stageS.i.*`, read by `BlockBundle`; the head is `head.weight` `[classes, C]` and
/// `head.bias`. A conv or head bias is optional (zero); BatchNorm's four tensors are required.
/// `num_batches_tracked` is skipped and listed; any other tensor the network does not use is an
/// error naming it (an extra block, for instance, means `depths` disagrees with the export).
public struct NetworkBundle: Sendable {
    public typealias Layout = AttentionBundle.Layout

    /// One quantized conv (or the head) and where it came from.
    public struct Layer: Sendable {
        /// `patch_embed1.conv2`, ..., `stem`, `head`.
        public let name: String
        /// The state_dict key of its weight.
        public let weightKey: String
        public let quantization: LayerQuantization
        /// Extra fraction bits of the bias and threshold grid beyond the weight grid (the stem's
        /// `inputFractionBits`; 0 elsewhere).
        public let inputFractionBits: Int
    }

    public let directory: URL
    public let config: NetworkConfig
    public let layout: Layout
    /// The module prefix in front of every key (`""` when there is none).
    public let prefix: String
    /// `E`, the extra membrane fraction bits of every LIF.
    public let decayFractionBits: Int
    /// The stem and every embedding conv, in stream order.
    public let convs: [Layer]
    public let blocks: [BlockBundle]
    public let head: Layer
    /// `num_batches_tracked` tensors, which carry no arithmetic.
    public let skippedKeys: [String]
    /// The network as the golden model and the generator read it.
    public let network: NetworkDescription

    /// Every layer exact and `E = T*k`: the integer network equals the float one bit for bit.
    public var isExactMode: Bool {
        convs.allSatisfy { $0.quantization.isExact } && head.quantization.isExact && blocks.allSatisfy(\.isExactMode)
            && decayFractionBits >= config.timeSteps
    }

    /// Reads `config.json` (a network config) and the tensors.
    public static func load(directory: URL) throws -> NetworkBundle {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ConfigError(field: "bundle", "\(url.path) is missing; a bundle holds config.json and tensors/")
        }
        return try load(directory: directory, config: try NetworkConfig.parse(json: data))
    }

    /// Whether a bundle's `config.json` describes a whole network (`"block": "network"`).
    public static func isNetwork(directory: URL) -> Bool {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("config.json").path),
              case .object(let d)? = try? JSONDecoder().decode(JSONValue.self, from: data),
              case .string("network")? = d["block"] else { return false }
        return true
    }

    /// One conv of an embedding: its description name, key stems, shape and pool.
    struct ConvSpec {
        let name: String, conv: String, bn: String
        let cin: Int, cout: Int, kernel: Int, stride: Int, pool: Bool
    }

    /// The convs of stage `s`'s embedding in the given layout: the stem (stage 1 of an image
    /// network), the main branch, and the shortcut (always last).
    static func embeddingSpecs(_ c: NetworkConfig, stage s: Int, inChannels cinPrev: Int, layout: Layout) -> (stem: ConvSpec?, main: [ConvSpec], shortcut: ConvSpec) {
        let C = c.dims[s - 1]
        func authors(_ p: String) -> (String, String) { (p + "_conv", p + "_bn") }
        func sj(_ n: Int) -> (String, String) { ("conv\(n)", "bn\(n)") }
        func spec(_ name: String, _ keys: (String, String), _ cin: Int, _ cout: Int, k: Int = 3, stride: Int = 1, pool: Bool = false) -> ConvSpec {
            ConvSpec(name: name, conv: keys.0, bn: keys.1, cin: cin, cout: cout, kernel: k, stride: stride, pool: pool)
        }
        let q = layout == .qkformer
        let short = { (cin: Int, stride: Int) in
            spec("shortcut", q ? authors("proj_res") : ("shortcut.0", "shortcut.1"), cin, C, k: 1, stride: stride)
        }
        switch (c.embedding, s) {
        case (.imagenet, 1):
            return (spec("conv1", q ? authors("proj") : sj(1), c.inChannels, C / 2, pool: true),
                    [spec("conv2", q ? authors("proj1") : sj(2), C / 2, C, pool: true), spec("conv3", q ? authors("proj2") : sj(3), C, C)],
                    short(C / 2, 2))
        case (.cifar, 1):
            return (spec("conv1", q ? authors("proj") : sj(1), c.inChannels, C / 2),
                    [spec("conv2", q ? authors("proj1") : sj(2), C / 2, C)], short(C / 2, 1))
        case (.dvs, 1):
            return (nil, [spec("conv1", q ? authors("proj") : sj(1), c.inChannels, C / 8),
                          spec("conv2", q ? authors("proj1") : sj(2), C / 8, C / 4, pool: true),
                          spec("conv3", q ? authors("proj2") : sj(3), C / 4, C / 2, pool: true),
                          spec("conv4", q ? authors("proj3") : sj(4), C / 2, C, pool: true)], short(C / 4, 4))
        case (.imagenet, _):
            return (nil, [spec("conv1", q ? authors("proj3") : sj(1), cinPrev, C, pool: true), spec("conv2", q ? authors("proj4") : sj(2), C, C)],
                    short(cinPrev, 2))
        case (.cifar, _):
            return (nil, [spec("conv1", q ? authors("proj3") : sj(1), cinPrev, C), spec("conv2", q ? authors("proj4") : sj(2), C, C, pool: true)],
                    short(cinPrev, 2))
        case (.dvs, _):
            return (nil, [spec("conv1", q ? authors("proj") : sj(1), cinPrev, C), spec("conv2", q ? authors("proj4") : sj(2), C, C, pool: true)],
                    short(cinPrev, 2))
        }
    }

    /// Reads, folds and quantizes the network `config` describes. Errors are one-line
    /// `ConfigError`s (or `NPYError`s for a damaged file) naming the tensor and the fix.
    public static func load(directory: URL, config c: NetworkConfig) throws -> NetworkBundle {
        try c.validate()
        let q = c.quantization
        let e = q.decayFractionBits ?? c.timeSteps
        guard (0...32).contains(e) else { throw ConfigError(field: "quantization.decayFractionBits", "must be 0...32, got \(e)") }
        guard (2...32).contains(q.inputBits), (0...32).contains(q.inputFractionBits) else {
            throw ConfigError(field: "quantization.inputBits", "pixels need inputBits 2...32 and inputFractionBits 0...32, got \(q.inputBits) and \(q.inputFractionBits)")
        }
        let store = try TensorStore(directory: directory)
        let reader = Reader(store: store)

        // The layout and module prefix, from the first embedding's first conv.
        var found: [(Layout, String)] = []
        for (layout, mark) in [(Layout.qkformer, "patch_embed1.proj_conv.weight"), (.spikingjelly, "patch_embed1.conv1.weight")]
        where c.layout == .auto || c.layout.rawValue == layout.rawValue {
            for key in store.keys.sorted() where key == mark || key.hasSuffix("." + mark) {
                found.append((layout, String(key.dropLast(mark.count))))
            }
        }
        guard found.count == 1 else {
            throw ConfigError(field: "bundle", found.isEmpty
                ? "\(store.folder.path) has no network: expected [prefix]patch_embed1.proj_conv.weight.npy (QKFormer authors' layout) or [prefix]patch_embed1.conv1.weight.npy (spikingjelly 2.0 layout)\(c.layout != .auto ? "; or set \"layout\": \"auto\"" : ""); export the whole state_dict"
                : "\(store.folder.path) holds several networks (\(found.map { "'\($0.1)'" }.joined(separator: ", "))); keep one model's tensors, or set \"layout\"")
        }
        let (layout, p) = found[0]

        // Embedding convs: fold, quantize, and build the parts.
        var convs: [Layer] = []
        func load(_ section: String, _ s: ConvSpec, stem: Bool) throws -> ConvLayer {
            let key = p + section + "." + s.conv
            let w = try reader.convWeight(key + ".weight", outputs: s.cout, inputs: s.cin, kernel: s.kernel)
            let b = try reader.optionalVector(key + ".bias", count: s.cout)
            let bnKey = p + section + "." + s.bn
            let bn = try ["weight", "bias", "running_mean", "running_var"].map { try reader.vector(bnKey + "." + $0, count: s.cout) }
            let layerName = "\(section).\(s.name)"
            let fin = stem ? q.inputFractionBits : 0
            let quant: LayerQuantization
            do {
                let folded = try LayerQuantization.fold(weights: w, bias: b, batchNorm: .init(gamma: bn[0], beta: bn[1], mean: bn[2], variance: bn[3], eps: c.bnEps))
                let onGrid = try LayerQuantization.quantize(weights: folded.weights, bias: folded.bias, weightBits: q.weightBits, perChannel: q.perChannel)
                // The stem's bias goes on the grid of its currents, 2^-(Fw + inputFractionBits).
                var bias = onGrid.bias, maxError = onGrid.maxError
                if stem {
                    // The weights' own rounding error, then the bias's on the finer grid.
                    maxError = 0
                    for (o, fw) in onGrid.fractionBits.enumerated() {
                        let ws = pow(2, Double(fw))
                        for (qw, fwt) in zip(onGrid.weights[o], folded.weights[o]) { maxError = max(maxError, abs(Double(qw) / ws - fwt)) }
                        let scale = pow(2, Double(fw + fin))
                        let r = (folded.bias[o] * scale).rounded()
                        guard abs(r) < 9e15 else { throw ConfigError(field: "bias", "channel \(o) is too large for the grid 2^-\(fw + fin)") }
                        bias[o] = Int64(r)
                        maxError = max(maxError, abs(r / scale - folded.bias[o]))
                    }
                }
                quant = LayerQuantization(weights: onGrid.weights, bias: bias, fractionBits: onGrid.fractionBits.map { $0 + fin }, maxError: maxError)
                for (o, f) in quant.fractionBits.enumerated() where !(0...32).contains(f) || f + e > 60 {
                    throw ConfigError(field: "channel \(o)", "its current needs the grid 2^-\(f), outside the 2^0...2^-32 the generator supports (with E = \(e)); \(f < 0 ? "the folded weights are too large for \(q.weightBits) bits: raise weightBits" : "the weights are too small: check the exported tensors")")
                }
            } catch let err as ConfigError {
                throw err.within("\(AttentionBundle.tensorsFolder)/\(key).weight (layer \(layerName))")
            }
            convs.append(Layer(name: layerName, weightKey: key + ".weight", quantization: quant, inputFractionBits: fin))
            let l = try SpikingLayer(name: s.name, weights: quant.weights, bias: quant.bias, fractionBits: quant.fractionBits, decayFractionBits: e)
            return try ConvLayer(layer: l, inChannels: s.cin, kernel: s.kernel, stride: s.stride, pool: s.pool)
        }

        let (H, W) = (c.image[0], c.image[1])
        let image = c.embedding == .dvs
            ? ImageFormat(channels: c.inChannels, height: H, width: W, timeSteps: c.timeSteps, kind: .frames(maxCount: c.maxFrameCount))
            : ImageFormat(channels: c.inChannels, height: H, width: W, timeSteps: c.timeSteps,
                          kind: .pixels(bits: q.inputBits, fractionBits: q.inputFractionBits))
        var stem: ConvLayer?
        var sections: [NetworkSection] = []
        var blocks: [BlockBundle] = []
        var f: StreamFormat?
        for s in 1...c.stages {
            let section = "patch_embed\(s)"
            let specs = embeddingSpecs(c, stage: s, inChannels: f?.channels ?? c.inChannels, layout: layout)
            if let st = specs.stem {
                stem = try load(section, st, stem: true)
                f = try NetworkDescription.stemOutput(image: image, stem: stem)
            } else if f == nil {
                f = try NetworkDescription.stemOutput(image: image, stem: nil)
            }
            let main = try specs.main.map { try load(section, $0, stem: false) }
            let short = try load(section, specs.shortcut, stem: false)
            // dvs stage 1: two plain convs, then the fork whose shortcut reads the second's output.
            let body: Part
            if c.embedding == .dvs && s == 1 {
                body = .chain([.conv(main[0]), .conv(main[1]), .fork(main: .chain([.conv(main[2]), .conv(main[3])]), shortcut: .conv(short))])
            } else {
                body = .fork(main: main.count == 1 ? .conv(main[0]) : .chain(main.map { .conv($0) }), shortcut: .conv(short))
            }
            let embed = try NetworkSection(name: section, input: f!, body: body)
            sections.append(embed)
            f = embed.output
            for i in 0..<c.depths[s - 1] {
                let bc = c.block(stage: s, index: i)
                let settings = BlockBundle.Settings(dim: bc.dim, heads: bc.heads, timeSteps: c.timeSteps, mlpRatio: c.mlpRatio,
                                                    attention: bc.attention == .channel ? .channel : .token, stage: s, index: i,
                                                    layout: layout, bnEps: c.bnEps, weightBits: q.weightBits, perChannel: q.perChannel,
                                                    decayFractionBits: e, maxInputCount: f!.maxCount, selfAttention: bc.attention == .ssa)
                let b: BlockBundle
                do { b = try BlockBundle.load(directory: directory, settings: settings) } catch let err as ConfigError {
                    throw err.within("stage\(s).\(i)")
                }
                blocks.append(b)
                let sec = try NetworkSection(name: "stage\(s).block\(i)", input: f!, body: try b.body(), block: bc)
                sections.append(sec)
                f = sec.output
            }
        }

        // The head: no BatchNorm, per-class (or per-layer) grids.
        let C = f!.channels
        let hw = try reader.matrix(p + "head.weight", rows: c.classes, columns: C)
        let hb = try reader.optionalVector(p + "head.bias", count: c.classes)
        let hq: LayerQuantization
        do {
            hq = try LayerQuantization.quantize(weights: hw, bias: hb ?? Array(repeating: 0, count: c.classes),
                                                weightBits: q.weightBits, perChannel: q.perChannel)
            if let k = hq.fractionBits.firstIndex(where: { !(0...32).contains($0) }) {
                throw ConfigError(field: "class \(k)", "its weights need the grid 2^-\(hq.fractionBits[k]), outside 2^0...2^-32; \(hq.fractionBits[k] < 0 ? "raise weightBits" : "check the exported tensors")")
            }
        } catch let err as ConfigError {
            throw err.within("\(AttentionBundle.tensorsFolder)/\(p)head.weight (layer head)")
        }
        let head = try HeadLayer(weights: hq.weights, bias: hq.bias, fractionBits: hq.fractionBits)

        // Every tensor must belong to the network.
        let blockPrefixes = blocks.map(\.prefix)
        var skipped: [String] = []
        for key in store.keys.sorted() where !reader.consumed.contains(key) && !blockPrefixes.contains(where: { key.hasPrefix($0) }) {
            if key.hasSuffix(".num_batches_tracked") { skipped.append(key); continue }
            throw ConfigError(field: "bundle", "tensor '\(key)' is not part of the \(layout.rawValue)-layout \(c.embedding.rawValue) network config.json describes (dims \(c.dims), depths \(c.depths)); remove it, or check embedding, depths and layout in config.json")
        }
        let network = try NetworkDescription(config: c, image: image, stem: stem, sections: sections, head: head,
                                             origin: "bundle \(directory.lastPathComponent) (\(layout.rawValue) layout), \(q.weightBits)-bit weights per \(q.perChannel ? "output channel" : "layer"), E = \(e)")
        return NetworkBundle(directory: directory, config: c, layout: layout, prefix: p, decayFractionBits: e, convs: convs,
                             blocks: blocks, head: Layer(name: "head", weightKey: p + "head.weight", quantization: hq, inputFractionBits: 0),
                             skippedKeys: skipped, network: network)
    }

    /// Typed, shape-checked reads that remember which keys they used.
    final class Reader {
        let store: TensorStore
        private(set) var consumed: Set<String> = []
        init(store: TensorStore) { self.store = store }

        private func path(_ key: String) -> String { store.folder.appendingPathComponent(key + ".npy").path }

        private func read(_ key: String) throws -> NPYArray {
            guard store.keys.contains(key) else {
                throw ConfigError(field: "bundle", "tensor '\(key)' is missing: expected \(path(key)); export the whole state_dict of the network (a network bundle needs every layer), and check embedding, dims and layout in config.json")
            }
            consumed.insert(key)
            return try NPYArray(contentsOf: URL(fileURLWithPath: path(key)))
        }

        private func values(_ a: NPYArray, _ key: String) throws -> [Double] {
            let v: [Double]
            do { v = try a.asDouble() } catch let e as NPYError {
                throw NPYError(e.kind, "\(e.message); weights must be float32, float64 or integers", path: path(key))
            }
            if let i = v.firstIndex(where: { !$0.isFinite }) {
                throw ConfigError(field: "bundle", "\(path(key)): element \(i) is \(v[i]); export a trained model without NaN or infinity")
            }
            return v
        }

        private func shapeError(_ key: String, _ a: NPYArray, _ expected: [Int]) -> ConfigError {
            ConfigError(field: "bundle", "\(path(key)): shape \(npyShapeText(a.shape)), expected \(npyShapeText(expected)); check dims, inChannels and classes in config.json against the exported model")
        }

        /// A Conv2d weight `[outputs, inputs, k, k]`, flattened to `[outputs][inputs*k*k]`.
        func convWeight(_ key: String, outputs: Int, inputs: Int, kernel k: Int) throws -> [[Double]] {
            let a = try read(key)
            let expected = [outputs, inputs, k, k]
            guard a.shape == expected else { throw shapeError(key, a, expected) }
            let flat = try values(a, key), n = inputs * k * k
            return (0..<outputs).map { Array(flat[($0 * n)..<(($0 + 1) * n)]) }
        }

        /// A Linear weight `[rows, columns]`.
        func matrix(_ key: String, rows: Int, columns: Int) throws -> [[Double]] {
            let a = try read(key)
            guard a.shape == [rows, columns] else { throw shapeError(key, a, [rows, columns]) }
            let flat = try values(a, key)
            return (0..<rows).map { Array(flat[($0 * columns)..<(($0 + 1) * columns)]) }
        }

        func vector(_ key: String, count: Int) throws -> [Double] {
            let a = try read(key)
            guard a.shape == [count] else { throw shapeError(key, a, [count]) }
            return try values(a, key)
        }

        func optionalVector(_ key: String, count: Int) throws -> [Double]? {
            store.keys.contains(key) ? try vector(key, count: count) : nil
        }
    }

    /// The per-layer report of docs/arithmetic.md §4 and §8 as text lines: the embedding convs,
    /// each block's report, the head, then the skipped tensors.
    public var reportLines: [String] {
        let q = config.quantization
        var lines = ["bundle \(directory.relativePath): \(config.embedding.rawValue) network, dims \(config.dims), depths \(config.depths), \(layout.rawValue) layout\(prefix.isEmpty ? "" : ", prefix '\(prefix)'"), \(q.weightBits)-bit weights per \(q.perChannel ? "output channel" : "layer"), E = \(decayFractionBits)\(config.embedding == .dvs ? ", DVS frames of counts 0...\(config.maxFrameCount)" : ", \(q.inputBits)-bit pixels on 2^-\(q.inputFractionBits)")"]
        func line(_ l: Layer, membrane: Bool) -> String {
            let f = l.quantization.fractionBits
            func grid(_ d: Int) -> String { f.min() == f.max() ? "2^-\(f[0] + d)" : "2^-\(f.min()! + d) to 2^-\(f.max()! + d)" }
            let w = f.map { $0 - l.inputFractionBits }
            let wg = w.min() == w.max() ? "2^-\(w[0])" : "2^-\(w.min()!) to 2^-\(w.max()!)"
            return "  \(l.name) \(l.weightKey): weight grid \(wg)\(l.inputFractionBits > 0 ? ", current grid \(grid(0))" : "")\(membrane ? ", membrane grid \(grid(decayFractionBits))" : ""), largest rounding error \(l.quantization.maxError), \(l.quantization.isExact ? "exact" : "rounded")"
        }
        lines += convs.map { line($0, membrane: true) }
        for b in blocks { lines += b.reportLines.filter { !$0.hasPrefix("skipped") }.map { "  " + $0 } }
        lines.append(line(head, membrane: false))
        lines.append(isExactMode ? "exact mode: every layer is on its grid and E = T*k, so the integer network equals the float network bit for bit (for images on the input grid)"
                                 : "not exact mode: \(decayFractionBits < config.timeSteps ? "E = \(decayFractionBits) < T*k = \(config.timeSteps) floors the decay; " : "")see the rounded layers above")
        if !skippedKeys.isEmpty {
            lines.append("skipped \(skippedKeys.count) tensors (num_batches_tracked): \(skippedKeys.prefix(8).joined(separator: ", "))\(skippedKeys.count > 8 ? ", ..." : "")")
        }
        return lines
    }

    /// The report as a JSON object.
    public var reportJSON: [String: Any] {
        func layer(_ l: Layer) -> [String: Any] {
            ["name": l.name, "weightKey": l.weightKey, "fractionBits": l.quantization.fractionBits,
             "maxError": l.quantization.maxError, "exact": l.quantization.isExact]
        }
        return [
            "block": "network", "embedding": config.embedding.rawValue, "layout": layout.rawValue, "prefix": prefix,
            "exactMode": isExactMode, "weightBits": config.quantization.weightBits, "perChannel": config.quantization.perChannel,
            "decayFractionBits": decayFractionBits, "inputBits": config.quantization.inputBits,
            "inputFractionBits": config.quantization.inputFractionBits, "skipped": skippedKeys,
            "convs": convs.map(layer), "blocks": blocks.map(\.reportJSON), "head": layer(head),
        ]
    }
}
