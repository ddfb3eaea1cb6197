import Foundation

/// A trained QKFormer block (Q-K attention + MLP, docs/arithmetic.md §6) read from a model bundle (docs/formats.md),
/// BatchNorm folded and quantized (docs/arithmetic.md §4) into the golden model's integer parameters.
///
/// Key layouts (docs/arithmetic.md §7, checked against the reference code), relative to the block's prefix
/// `[module prefix]stageS.i.` (or no prefix for a bundle that holds one bare block):
/// - `qkformer`, the QKFormer authors' `TokenSpikingTransformer`: `tssa.{q_conv,k_conv}.weight`
///   `[C, C, 1]` (no bias), `tssa.{q_bn,k_bn}.*`, `tssa.proj_conv.weight`/`.bias`,
///   `tssa.proj_bn.*`; the MLP as `mlp.fc1_conv.weight` `[4C, C, 1, 1]` (Conv2d, with a bias),
///   `mlp.fc1_bn.*`, `mlp.fc2_conv.*`, `mlp.fc2_bn.*` (imagenet/qkformer.py) or
///   `mlp.mlp1_conv.*`, `mlp.mlp1_bn.*`, `mlp.mlp2_conv.*`, `mlp.mlp2_bn.*` (cifar10/model.py);
/// - `spikingjelly`, spikingjelly 2.0's `model.qkformer._Block`: `attn.qk_conv_bn.0.weight`
///   `[2C, C, 1]` (rows `0..<C` Q, `C..<2C` K), `attn.qk_conv_bn.1.*`, `attn.proj_conv_bn.0.weight`,
///   `attn.proj_conv_bn.1.*`; `mlp.fc1.weight` `[4C, C, 1]`, `mlp.fc1.bias`, `mlp.bn1.*`,
///   `mlp.fc2.*`, `mlp.bn2.*`.
///
/// A block whose attention is SSA (`selfAttention`, QKFormer's last stage) holds the SSA module
/// of `SSABundle` instead: the authors' `attn.{q,k,v,proj}_conv`/`_bn` (imagenet, with the
/// `fc1_conv` MLP) or `ssa.{q,k,v,proj}_conv`/`_bn` (cifar, with the `mlp1_conv` MLP), or
/// spikingjelly's `attn.qkv_conv_bn.{0,1}`, `attn.proj_conv_bn.{0,1}`.
///
/// A conv bias is optional everywhere (a missing one is zero); BatchNorm's four tensors are
/// required. Under the block's prefix every other tensor is an error, except
/// `num_batches_tracked`, which is skipped; tensors of other blocks or parts of the model are
/// skipped too. Both are listed in `skippedKeys`.
public struct BlockBundle: Sendable {
    public typealias Layout = AttentionBundle.Layout
    public typealias Layer = AttentionBundle.Layer

    /// The QKFormer authors name their MLP layers differently for ImageNet and CIFAR.
    public enum MLPKeys: String, Sendable, CaseIterable {
        /// `fc1_conv`, `fc1_bn`, `fc2_conv`, `fc2_bn` (authors, imagenet).
        case imagenet
        /// `mlp1_conv`, `mlp1_bn`, `mlp2_conv`, `mlp2_bn` (authors, cifar).
        case cifar
        /// `fc1`, `bn1`, `fc2`, `bn2` (spikingjelly 2.0).
        case spikingjelly

        /// (conv stem, BatchNorm stem) of fc1 and fc2, after `mlp.`.
        var stems: [(conv: String, bn: String)] {
            switch self {
            case .imagenet: return [("fc1_conv", "fc1_bn"), ("fc2_conv", "fc2_bn")]
            case .cifar: return [("mlp1_conv", "mlp1_bn"), ("mlp2_conv", "mlp2_bn")]
            case .spikingjelly: return [("fc1", "bn1"), ("fc2", "bn2")]
            }
        }
    }

    /// What `config.json` says about the block and its quantization (docs/formats.md).
    public struct Settings: Sendable, Equatable {
        public var dim: Int
        public var heads: Int
        public var timeSteps: Int
        public var mlpRatio: Int
        public var attention: AttentionMask
        /// The attention is SSA (`attention` is then unused).
        public var selfAttention: Bool
        /// Which block of a whole-model export to take.
        public var stage: Int
        public var index: Int
        /// nil: detect.
        public var layout: Layout?
        public var bnEps: Double
        public var weightBits: Int
        public var perChannel: Bool
        /// `E`; nil means `T*k` with QKFormer's `k = 1` (exact decay).
        public var decayFractionBits: Int?
        /// The largest count on the block input; nil means `2 + 2*index` (docs/arithmetic.md §5).
        public var maxInputCount: Int?

        public init(dim: Int, heads: Int, timeSteps: Int, mlpRatio: Int = 4, attention: AttentionMask = .token,
                    stage: Int = 1, index: Int = 0, layout: Layout? = nil, bnEps: Double = 1e-5, weightBits: Int = 8,
                    perChannel: Bool = true, decayFractionBits: Int? = nil, maxInputCount: Int? = nil, selfAttention: Bool = false) {
            self.selfAttention = selfAttention
            (self.dim, self.heads, self.timeSteps, self.mlpRatio, self.attention) = (dim, heads, timeSteps, mlpRatio, attention)
            (self.stage, self.index, self.layout, self.bnEps) = (stage, index, layout, bnEps)
            (self.weightBits, self.perChannel, self.decayFractionBits, self.maxInputCount) = (weightBits, perChannel, decayFractionBits, maxInputCount)
        }

        var attentionSettings: AttentionBundle.Settings {
            AttentionBundle.Settings(dim: dim, heads: heads, timeSteps: timeSteps, stage: stage, index: index, layout: layout,
                                     bnEps: bnEps, weightBits: weightBits, perChannel: perChannel, decayFractionBits: decayFractionBits)
        }
    }

    public let directory: URL
    public let settings: Settings
    public let layout: Layout
    public let mlpKeys: MLPKeys
    /// The block's prefix in front of `tssa.`/`attn.`/`ssa.` and `mlp.` (`""` for a bare block).
    public let prefix: String
    /// `E`, the extra membrane fraction bits.
    public let decayFractionBits: Int
    public let maxInputCount: Int
    /// Q, K and the projection of a Q-K attention, as an attention bundle (its prefix is
    /// `prefix + "tssa."` or `prefix + "attn."`); nil when the attention is SSA.
    public let attention: AttentionBundle?
    /// Q, K, V and the projection of an SSA (prefix `prefix + "attn."` or `prefix + "ssa."`); nil
    /// for a Q-K attention.
    public let ssa: SSABundle?
    public let fc1: Layer
    public let fc2: Layer
    /// Tensors in the folder that were not read: `num_batches_tracked` and other blocks' tensors.
    public let skippedKeys: [String]

    public var hidden: Int { settings.mlpRatio * settings.dim }
    /// The attention's layers: q, k, proj (Q-K attention) or q, k, v, proj (SSA).
    public var attentionLayers: [Layer] { attention?.layers ?? ssa?.layers ?? [] }
    public var layers: [Layer] { attentionLayers + [fc1, fc2] }
    /// Every layer exact and `E = T*k`: the integer block equals the float block bit for bit.
    public var isExactMode: Bool { layers.allSatisfy { $0.quantization.isExact } && decayFractionBits >= settings.timeSteps }

    /// Reads, folds and quantizes the block. Errors are `ConfigError`s (or `NPYError`s for a
    /// damaged file) whose one-line description names the file and the fix.
    public static func load(directory: URL, settings s: Settings) throws -> BlockBundle {
        guard s.dim >= 1, s.heads >= 1, s.dim % s.heads == 0 else {
            throw ConfigError(field: "config.json", "heads \(s.heads) must divide dim \(s.dim)")
        }
        guard (1...64).contains(s.timeSteps) else { throw ConfigError(field: "config.json", "timeSteps must be 1...64, got \(s.timeSteps)") }
        guard (1...16).contains(s.mlpRatio) else { throw ConfigError(field: "config.json", "mlpRatio must be 1...16, got \(s.mlpRatio)") }
        guard s.stage >= 1, s.index >= 0 else {
            throw ConfigError(field: "config.json", "stage must be >= 1 and index >= 0, got stage \(s.stage), index \(s.index)")
        }
        guard s.bnEps >= 0, s.bnEps.isFinite else { throw ConfigError(field: "bnEps", "must be a finite number >= 0, got \(s.bnEps)") }
        let e = s.decayFractionBits ?? s.timeSteps
        guard (0...32).contains(e) else { throw ConfigError(field: "quantization.decayFractionBits", "must be 0...32, got \(e)") }
        let maxIn = s.maxInputCount ?? (2 + 2 * s.index)
        guard (0...253).contains(maxIn) else {
            throw ConfigError(field: "config.json", "maxInputCount must be 0...253 (the block output, maxInputCount + 2, is uint8), got \(maxIn)")
        }
        let store = try TensorStore(directory: directory)
        let (layout, p, attnStem) = try locate(store, s)
        let C = s.dim, H = s.mlpRatio * s.dim

        // The MLP's key names: spikingjelly's, or one of the authors' two.
        let mlpKeys: MLPKeys
        if layout == .spikingjelly {
            mlpKeys = .spikingjelly
        } else {
            let present = [MLPKeys.imagenet, .cifar].filter { store.keys.contains(p + "mlp." + $0.stems[0].conv + ".weight") }
            guard present.count == 1 else {
                throw ConfigError(field: "bundle", present.isEmpty
                    ? "tensor '\(p)mlp.fc1_conv.weight' (imagenet) or '\(p)mlp.mlp1_conv.weight' (cifar) is missing: the block's MLP must be exported with its attention"
                    : "block '\(p)' has both mlp.fc1_conv.* (imagenet) and mlp.mlp1_conv.* (cifar) tensors; keep the ones the model has")
            }
            mlpKeys = present[0]
        }

        // Every tensor the block may hold (relative keys), so that anything else under the
        // prefix is reported rather than silently ignored.
        let bnParts = ["weight", "bias", "running_mean", "running_var"]
        var known: Set<String> = []
        func expect(conv: String, bn: String) { known.formUnion([conv + ".weight", conv + ".bias"] + (bnParts + ["num_batches_tracked"]).map { bn + "." + $0 }) }
        switch (layout, s.selfAttention) {
        case (_, true):
            known.formUnion(SSABundle.knownKeys(layout).map { attnStem + $0 })
        case (.qkformer, false):
            for n in ["q", "k", "proj"] { expect(conv: attnStem + n + "_conv", bn: attnStem + n + "_bn") }
        case (.spikingjelly, false):
            for n in ["qk", "proj"] { expect(conv: attnStem + n + "_conv_bn.0", bn: attnStem + n + "_conv_bn.1") }
        }
        for st in mlpKeys.stems { expect(conv: "mlp." + st.conv, bn: "mlp." + st.bn) }
        var skipped: [String] = []
        for key in store.keys.sorted() {
            guard key.hasPrefix(p) else { skipped.append(key); continue }
            let rel = String(key.dropFirst(p.count))
            guard known.contains(rel) else {
                throw ConfigError(field: "bundle", "tensor '\(key)' belongs to block '\(p)' but is not a tensor of a \(layout.rawValue)-layout \(s.selfAttention ? "SSA " : "")QKFormer block (\(attnStem)* and mlp.\(mlpKeys.stems[0].conv).* expected); remove it, or check stage, index and layout in config.json")
            }
            if rel.hasSuffix(".num_batches_tracked") { skipped.append(key) }
        }

        struct Conv { let weightKey: String; let w: [[Double]]; let b: [Double]?; let bn: [[Double]] }
        func conv(_ stem: String, bnStem: String, outputs: Int, inputs: Int) throws -> Conv {
            Conv(weightKey: stem + ".weight", w: try store.matrix(stem + ".weight", rows: outputs, columns: inputs),
                 b: try store.optionalVector(stem + ".bias", count: outputs),
                 bn: try bnParts.map { try store.vector(bnStem + "." + $0, count: outputs) })
        }
        func layer(_ name: String, _ c: Conv, rows: Range<Int>) throws -> Layer {
            try AttentionBundle.quantizedLayer(name: name, weightKey: c.weightKey, weights: c.w, bias: c.b, batchNorm: c.bn,
                                               rows: rows, settings: s.attentionSettings, decayFractionBits: e)
        }
        let a = p + attnStem
        let attn: [Layer]
        switch s.selfAttention ? nil : layout {
        case nil:
            attn = try SSABundle.layers(store, prefix: a, layout: layout, settings: s.attentionSettings, decayFractionBits: e)
        case .qkformer?:
            attn = try [("q", "q_conv", "q_bn"), ("k", "k_conv", "k_bn"), ("proj", "proj_conv", "proj_bn")].map {
                try layer($0.0, conv(a + $0.1, bnStem: a + $0.2, outputs: C, inputs: C), rows: 0..<C)
            }
        case .spikingjelly?:
            let qk = try conv(a + "qk_conv_bn.0", bnStem: a + "qk_conv_bn.1", outputs: 2 * C, inputs: C)
            attn = [try layer("q", qk, rows: 0..<C), try layer("k", qk, rows: C..<(2 * C)),
                    try layer("proj", conv(a + "proj_conv_bn.0", bnStem: a + "proj_conv_bn.1", outputs: C, inputs: C), rows: 0..<C)]
        }
        let m = p + "mlp."
        let st = mlpKeys.stems
        let fc1 = try layer("fc1", conv(m + st[0].conv, bnStem: m + st[0].bn, outputs: H, inputs: C), rows: 0..<H)
        let fc2 = try layer("fc2", conv(m + st[1].conv, bnStem: m + st[1].bn, outputs: C, inputs: H), rows: 0..<C)
        let attention = s.selfAttention ? nil : AttentionBundle(directory: directory, settings: s.attentionSettings, layout: layout, prefix: a,
                                                                decayFractionBits: e, q: attn[0], k: attn[1], proj: attn[2])
        let ssa = !s.selfAttention ? nil : SSABundle(directory: directory, settings: s.attentionSettings, layout: layout, prefix: a,
                                                     decayFractionBits: e, q: attn[0], k: attn[1], v: attn[2], proj: attn[3], skippedKeys: [])
        return BlockBundle(directory: directory, settings: s, layout: layout, mlpKeys: mlpKeys, prefix: p,
                           decayFractionBits: e, maxInputCount: maxIn, attention: attention, ssa: ssa, fc1: fc1, fc2: fc2,
                           skippedKeys: skipped)
    }

    /// The block's layout, prefix and attention module name (`tssa.`, `attn.` or `ssa.`): the one
    /// block in the folder, or the one `stage`/`index` pick out of a whole-model export.
    static func locate(_ store: TensorStore, _ s: Settings) throws -> (Layout, String, String) {
        let qkMarks: [(Layout, String)] = [(.qkformer, "tssa.q_conv.weight"), (.spikingjelly, "attn.qk_conv_bn.0.weight")]
        let ssaMarks: [(Layout, String)] = [(.qkformer, "attn.v_conv.weight"), (.qkformer, "ssa.v_conv.weight"),
                                            (.spikingjelly, "attn.qkv_conv_bn.0.weight")]
        func find(_ marks: [(Layout, String)]) -> [(Layout, String, String)] {
            var found: [(Layout, String, String)] = []
            for (layout, mark) in marks where s.layout == nil || s.layout == layout {
                let stem = String(mark.prefix { $0 != "." }) + "."
                for key in store.keys.sorted() where key == mark || key.hasSuffix("." + mark) {
                    found.append((layout, String(key.dropLast(mark.count)), stem))
                }
            }
            return found
        }
        let found = find(s.selfAttention ? ssaMarks : qkMarks)
        let tag = "stage\(s.stage).\(s.index)."
        func tagged(_ prefix: String) -> Bool { prefix == tag || prefix.hasSuffix("." + tag) }
        func hasStageTag(_ prefix: String) -> Bool { prefix.range(of: #"(^|\.)stage[0-9]+\.[0-9]+\.$"#, options: .regularExpression) != nil }
        if found.count == 1, !hasStageTag(found[0].1) || tagged(found[0].1) { return found[0] }
        let kind = s.selfAttention ? "SSA" : "QKTA/QKCA"
        guard !found.isEmpty else {
            let wanted = s.selfAttention
                ? (s.layout.map { $0 == .qkformer ? "attn.v_conv.weight.npy or ssa.v_conv.weight.npy" : "attn.qkv_conv_bn.0.weight.npy" }
                    ?? "attn.v_conv.weight.npy or ssa.v_conv.weight.npy (QKFormer authors' layout) or attn.qkv_conv_bn.0.weight.npy (spikingjelly 2.0 layout)")
                : (s.layout.map { $0 == .qkformer ? "tssa.q_conv.weight.npy" : "attn.qk_conv_bn.0.weight.npy" }
                    ?? "tssa.q_conv.weight.npy (QKFormer authors' layout) or attn.qk_conv_bn.0.weight.npy (spikingjelly 2.0 layout)")
            let other = find(s.selfAttention ? qkMarks : ssaMarks).isEmpty ? ""
                : (s.selfAttention ? "; it holds a Q-K attention block: set \"attention\" to \"token\" or \"channel\"" : "; it holds an SSA block: set \"attention\": \"ssa\"")
            throw ConfigError(field: "bundle", "\(store.folder.path) has no \(kind) QKFormer block: expected [prefix]\(wanted)\(other)\(s.layout != nil ? "; or set \"layout\": \"auto\"" : "")")
        }
        let chosen = found.filter { tagged($0.1) }
        if chosen.count == 1 { return chosen[0] }
        throw ConfigError(field: "bundle", "\(store.folder.path) holds the QKFormer blocks \(found.map { "'\($0.1)'" }.joined(separator: ", ")) and stage \(s.stage), index \(s.index) does not pick exactly one; set \"stage\" and \"index\" in config.json")
    }

    /// The block as the description holds it: `x + Attn(x)`, then `x1 + MLP(x1)`.
    public func body() throws -> Part {
        let a = try attentionLayers.map { try $0.spikingLayer(decayFractionBits: decayFractionBits) }
        let attn: Part = settings.selfAttention
            ? .selfAttention(heads: settings.heads, q: a[0], k: a[1], v: a[2], proj: a[3])
            : .attention(mask: settings.attention, heads: settings.heads, q: a[0], k: a[1], proj: a[2])
        return .chain([.residual(attn),
                       .residual(.mlp(fc1: try fc1.spikingLayer(decayFractionBits: decayFractionBits),
                                      fc2: try fc2.spikingLayer(decayFractionBits: decayFractionBits)))])
    }

    /// `token`, `channel` or `ssa`.
    public var attentionName: String { settings.selfAttention ? "ssa" : settings.attention.rawValue }

    /// The per-layer report of docs/arithmetic.md §4 as text lines, then the skipped tensors.
    public var reportLines: [String] {
        var lines = ["bundle \(directory.relativePath): QKFormer block '\(prefix)' (\(attentionName) + MLP \(settings.dim) -> \(hidden) -> \(settings.dim)), \(layout.rawValue) layout\(layout == .qkformer ? " (\(mlpKeys.rawValue) MLP keys)" : ""), \(settings.weightBits)-bit weights per \(settings.perChannel ? "output channel" : "layer"), E = \(decayFractionBits), input counts 0...\(maxInputCount)"]
        for l in layers {
            let f = l.quantization.fractionBits
            func grid(_ d: Int) -> String { f.min() == f.max() ? "2^-\(f[0] + d)" : "2^-\(f.min()! + d) to 2^-\(f.max()! + d)" }
            lines.append("  \(l.name.padding(toLength: 4, withPad: " ", startingAt: 0)) \(l.weightKey): weight grid \(grid(0)), membrane grid \(grid(decayFractionBits)), largest rounding error \(l.quantization.maxError), \(l.quantization.isExact ? "exact" : "rounded")")
        }
        let rounded = layers.filter { !$0.quantization.isExact }.map(\.name)
        lines.append(isExactMode ? "exact mode: every layer is on its grid and E = T*k, so the integer block equals the float block bit for bit"
                                 : "not exact mode: \(rounded.isEmpty ? "no layer rounded" : rounded.joined(separator: ", ") + " rounded"), \(decayFractionBits < settings.timeSteps ? "E = \(decayFractionBits) < T*k = \(settings.timeSteps) floors the decay" : "E = T*k")")
        if !skippedKeys.isEmpty {
            let shown = skippedKeys.prefix(8).joined(separator: ", ")
            lines.append("skipped \(skippedKeys.count) tensors (num_batches_tracked, other blocks): \(shown)\(skippedKeys.count > 8 ? ", ..." : "")")
        }
        return lines
    }

    /// The report as a JSON object.
    public var reportJSON: [String: Any] {
        [
            "layout": layout.rawValue, "mlpKeys": mlpKeys.rawValue, "prefix": prefix, "attention": attentionName,
            "exactMode": isExactMode, "weightBits": settings.weightBits, "perChannel": settings.perChannel,
            "decayFractionBits": decayFractionBits, "maxInputCount": maxInputCount, "skipped": skippedKeys,
            "layers": layers.map { l -> [String: Any] in
                ["name": l.name, "weightKey": l.weightKey, "fractionBits": l.quantization.fractionBits,
                 "maxError": l.quantization.maxError, "exact": l.quantization.isExact]
            },
        ]
    }
}
