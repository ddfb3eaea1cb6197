import Foundation

/// A trained SSA block (Spikformer's spiking self-attention, QKFormer's last stage; docs/arithmetic.md
/// §6) read from a model bundle (docs/formats.md), BatchNorm folded and quantized (§4) into the integer
/// layers `q`, `k`, `v` and `proj`.
///
/// Two key layouts, with or without a module prefix (`stage3.0.attn.`, `module.stage3.1.ssa.`):
/// - `qkformer`, the QKFormer authors' `Spiking_Self_Attention` (the module is `attn` in
///   imagenet/qkformer.py and `ssa` in cifar10/model.py): `{q,k,v}_conv.weight` `[C, C, 1]` (no
///   bias), `{q,k,v}_bn.*`, `proj_conv.weight` and `proj_conv.bias`, `proj_bn.*`;
/// - `spikingjelly`, spikingjelly 2.0's `SpikingSelfAttention`: `qkv_conv_bn.0.weight` `[3C, C, 1]`
///   (rows `0..<C` Q, `C..<2C` K, `2C..<3C` V), `qkv_conv_bn.1.*` (BatchNorm of `3C`),
///   `proj_conv_bn.0.weight` (no bias), `proj_conv_bn.1.*`.
///
/// A conv bias is optional (a missing one is zero); BatchNorm's four tensors are required. Under
/// the attention's prefix any other tensor is an error, except `num_batches_tracked` (skipped).
public struct SSABundle: Sendable {
    public typealias Layout = AttentionBundle.Layout
    public typealias Settings = AttentionBundle.Settings
    public typealias Layer = AttentionBundle.Layer

    public let directory: URL
    public let settings: Settings
    public let layout: Layout
    /// The prefix in front of `q_conv.` / `qkv_conv_bn.` (`""` when there is none).
    public let prefix: String
    /// `E`, the extra membrane fraction bits of the four layers.
    public let decayFractionBits: Int
    public let q: Layer
    public let k: Layer
    public let v: Layer
    public let proj: Layer
    /// Tensors in the folder that were not read: `num_batches_tracked` and other parts' tensors.
    public let skippedKeys: [String]

    public var layers: [Layer] { [q, k, v, proj] }
    /// Every layer exact and `E = T*k`: the integer block equals the float block bit for bit.
    public var isExactMode: Bool { layers.allSatisfy { $0.quantization.isExact } && decayFractionBits >= settings.timeSteps }

    /// The mark of each layout, relative to the attention's prefix.
    static let marks: [(Layout, String)] = [(.qkformer, "v_conv.weight"), (.spikingjelly, "qkv_conv_bn.0.weight")]

    /// Every tensor an SSA module may hold, relative to its prefix.
    static func knownKeys(_ layout: Layout) -> Set<String> {
        let bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
        var known: Set<String> = []
        func expect(conv: String, bnStem: String) { known.formUnion([conv + ".weight", conv + ".bias"] + bn.map { bnStem + "." + $0 }) }
        switch layout {
        case .qkformer: for n in ["q", "k", "v", "proj"] { expect(conv: n + "_conv", bnStem: n + "_bn") }
        case .spikingjelly: for n in ["qkv", "proj"] { expect(conv: n + "_conv_bn.0", bnStem: n + "_conv_bn.1") }
        }
        return known
    }

    /// Reads, folds and quantizes a bundle holding one SSA module (or a whole model from which
    /// `stage` and `index` pick one). Errors are one-line `ConfigError`s naming the tensor and the fix.
    public static func load(directory: URL, settings s: Settings) throws -> SSABundle {
        guard s.dim >= 1, s.heads >= 1, s.dim % s.heads == 0 else {
            throw ConfigError(field: "config.json", "heads \(s.heads) must divide dim \(s.dim)")
        }
        guard (1...64).contains(s.timeSteps) else { throw ConfigError(field: "config.json", "timeSteps must be 1...64, got \(s.timeSteps)") }
        guard s.bnEps >= 0, s.bnEps.isFinite else { throw ConfigError(field: "bnEps", "must be a finite number >= 0, got \(s.bnEps)") }
        let e = s.decayFractionBits ?? s.timeSteps
        guard (0...32).contains(e) else { throw ConfigError(field: "quantization.decayFractionBits", "must be 0...32, got \(e)") }
        let store = try TensorStore(directory: directory)
        var found: [(Layout, String)] = []
        for (layout, mark) in marks where s.layout == nil || s.layout == layout {
            for key in store.keys.sorted() where key == mark || key.hasSuffix("." + mark) {
                found.append((layout, String(key.dropLast(mark.count))))
            }
        }
        let tag = "stage\(s.stage).\(s.index)."
        func tagged(_ p: String) -> Bool { p.hasPrefix(tag) || p.contains("." + tag) }
        let chosen: (Layout, String)
        if found.count == 1 {
            chosen = found[0]
        } else if found.isEmpty {
            let wanted = s.layout.map { $0 == .qkformer ? "v_conv.weight.npy" : "qkv_conv_bn.0.weight.npy" }
                ?? "v_conv.weight.npy (QKFormer authors' layout) or qkv_conv_bn.0.weight.npy (spikingjelly 2.0 layout)"
            let qk = store.keys.contains { $0.hasSuffix("qk_conv_bn.0.weight") || $0.hasSuffix("tssa.q_conv.weight") }
            throw ConfigError(field: "bundle", "\(store.folder.path) has no SSA block: expected [prefix]\(wanted)\(qk ? "; it holds a Q-K attention block: use --block qkta or qkca" : "; export one with tools/export_bundle.py")")
        } else {
            let one = found.filter { tagged($0.1) }
            guard one.count == 1 else {
                throw ConfigError(field: "bundle", "\(store.folder.path) holds \(found.count) SSA blocks (\(found.map { "'\($0.1)'" }.joined(separator: ", "))) and stage \(s.stage), index \(s.index) does not pick exactly one; set \"stage\" and \"index\" in config.json or keep one block's tensors")
            }
            chosen = one[0]
        }
        let (layout, p) = chosen
        let known = knownKeys(layout)
        var skipped: [String] = []
        for key in store.keys.sorted() {
            guard key.hasPrefix(p) else { skipped.append(key); continue }
            let rel = String(key.dropFirst(p.count))
            guard known.contains(rel) else {
                throw ConfigError(field: "bundle", "tensor '\(key)' is under the SSA block '\(p)' but is not a tensor of a \(layout.rawValue)-layout SSA (\(layout == .qkformer ? "{q,k,v,proj}_conv, {q,k,v,proj}_bn" : "qkv_conv_bn.{0,1}, proj_conv_bn.{0,1}")); remove it, or check stage, index and layout in config.json")
            }
            if rel.hasSuffix(".num_batches_tracked") { skipped.append(key) }
        }
        let l = try layers(store, prefix: p, layout: layout, settings: s, decayFractionBits: e)
        return SSABundle(directory: directory, settings: s, layout: layout, prefix: p, decayFractionBits: e,
                         q: l[0], k: l[1], v: l[2], proj: l[3], skippedKeys: skipped)
    }

    /// The four quantized layers of the SSA module whose keys start with `p` (`..attn.`/`..ssa.`).
    static func layers(_ store: TensorStore, prefix p: String, layout: Layout, settings s: Settings, decayFractionBits e: Int) throws -> [Layer] {
        let C = s.dim
        let bnParts = ["weight", "bias", "running_mean", "running_var"]
        struct Conv { let weightKey: String; let w: [[Double]]; let b: [Double]?; let bn: [[Double]] }
        func conv(_ stem: String, bnStem: String, outputs: Int) throws -> Conv {
            Conv(weightKey: stem + ".weight", w: try store.matrix(stem + ".weight", rows: outputs, columns: C),
                 b: try store.optionalVector(stem + ".bias", count: outputs),
                 bn: try bnParts.map { try store.vector(bnStem + "." + $0, count: outputs) })
        }
        func layer(_ name: String, _ c: Conv, rows: Range<Int>) throws -> Layer {
            try AttentionBundle.quantizedLayer(name: name, weightKey: c.weightKey, weights: c.w, bias: c.b, batchNorm: c.bn,
                                               rows: rows, settings: s, decayFractionBits: e)
        }
        switch layout {
        case .qkformer:
            return try [("q", "q_conv", "q_bn"), ("k", "k_conv", "k_bn"), ("v", "v_conv", "v_bn"), ("proj", "proj_conv", "proj_bn")].map {
                try layer($0.0, conv(p + $0.1, bnStem: p + $0.2, outputs: C), rows: 0..<C)
            }
        case .spikingjelly:
            let qkv = try conv(p + "qkv_conv_bn.0", bnStem: p + "qkv_conv_bn.1", outputs: 3 * C)
            return [try layer("q", qkv, rows: 0..<C), try layer("k", qkv, rows: C..<(2 * C)), try layer("v", qkv, rows: (2 * C)..<(3 * C)),
                    try layer("proj", conv(p + "proj_conv_bn.0", bnStem: p + "proj_conv_bn.1", outputs: C), rows: 0..<C)]
        }
    }

    /// The block as the description holds it.
    public func part() throws -> Part {
        let l = try layers.map { try $0.spikingLayer(decayFractionBits: decayFractionBits) }
        return .selfAttention(heads: settings.heads, q: l[0], k: l[1], v: l[2], proj: l[3])
    }

    /// The per-layer report of docs/arithmetic.md §4 as text lines.
    public var reportLines: [String] {
        var lines = ["bundle \(directory.relativePath): SSA '\(prefix)', \(layout.rawValue) layout, \(settings.weightBits)-bit weights per \(settings.perChannel ? "output channel" : "layer"), E = \(decayFractionBits)"]
        lines += Self.layerLines(layers, decayFractionBits)
        let rounded = layers.filter { !$0.quantization.isExact }.map(\.name)
        lines.append(isExactMode ? "exact mode: every layer is on its grid and E = T*k, so the integer model equals the float model bit for bit"
                                 : "not exact mode: \(rounded.isEmpty ? "no layer rounded" : rounded.joined(separator: ", ") + " rounded"), \(decayFractionBits < settings.timeSteps ? "E = \(decayFractionBits) < T*k = \(settings.timeSteps) floors the decay" : "E = T*k")")
        if !skippedKeys.isEmpty {
            lines.append("skipped \(skippedKeys.count) tensors (num_batches_tracked, other parts): \(skippedKeys.prefix(8).joined(separator: ", "))\(skippedKeys.count > 8 ? ", ..." : "")")
        }
        return lines
    }

    static func layerLines(_ layers: [Layer], _ e: Int) -> [String] {
        layers.map { l in
            let f = l.quantization.fractionBits
            func grid(_ d: Int) -> String { f.min() == f.max() ? "2^-\(f[0] + d)" : "2^-\(f.min()! + d) to 2^-\(f.max()! + d)" }
            return "  \(l.name.padding(toLength: 4, withPad: " ", startingAt: 0)) \(l.weightKey): weight grid \(grid(0)), membrane grid \(grid(e)), largest rounding error \(l.quantization.maxError), \(l.quantization.isExact ? "exact" : "rounded")"
        }
    }

    /// The report as a JSON object.
    public var reportJSON: [String: Any] {
        [
            "layout": layout.rawValue, "prefix": prefix, "attention": "ssa", "exactMode": isExactMode, "weightBits": settings.weightBits,
            "perChannel": settings.perChannel, "decayFractionBits": decayFractionBits, "skipped": skippedKeys,
            "layers": layers.map { l -> [String: Any] in
                ["name": l.name, "weightKey": l.weightKey, "fractionBits": l.quantization.fractionBits,
                 "maxError": l.quantization.maxError, "exact": l.quantization.isExact]
            },
        ]
    }
}
