import Foundation

/// A trained QKTA or QKCA block read from a model bundle (docs/formats.md): `tensors/<key>.npy` files
/// named as in the PyTorch state_dict, BatchNorm folded and quantized (docs/arithmetic.md §4) into the
/// integer parameters the golden model runs and the generator builds.
///
/// Two key layouts are recognised, with or without a module prefix (`stage1.0.attn.`):
/// - `qkformer`, the QKFormer authors' code: `q_conv.weight` `[C, C, 1]` (no bias), `q_bn.*`,
///   the same for `k_`, and `proj_conv.weight`/`proj_conv.bias`, `proj_bn.*`;
/// - `spikingjelly`, spikingjelly 2.0's `QKAttention`: `qk_conv_bn.0.weight` `[2C, C, 1]`
///   (rows `0..<C` are Q, `C..<2C` are K), `qk_conv_bn.1.*` (BatchNorm of `2C`),
///   `proj_conv_bn.0.weight`, `proj_conv_bn.1.*`.
///
/// In both layouts the quantized layers are `q`, `k` and `proj`: per-layer quantization gives Q
/// and K their own grids even when they share one fused conv. A conv bias is optional (a
/// missing one is zero); the four BatchNorm tensors are required. Other tensors (another
/// layer's, `num_batches_tracked`) are ignored.
public struct AttentionBundle: Sendable {
    public enum Layout: String, Sendable, CaseIterable { case qkformer, spikingjelly }

    /// What `config.json` says about the block and its quantization.
    public struct Settings: Sendable, Equatable {
        public var dim: Int
        public var heads: Int
        public var timeSteps: Int
        /// Which block of a whole-model export to take when several share the directory.
        public var stage: Int
        public var index: Int
        /// nil: detect.
        public var layout: Layout?
        public var bnEps: Double
        public var weightBits: Int
        public var perChannel: Bool
        /// `E`; nil means `T*k` with QKFormer's `k = 1` (exact decay).
        public var decayFractionBits: Int?

        public init(dim: Int, heads: Int, timeSteps: Int, stage: Int = 1, index: Int = 0, layout: Layout? = nil,
                    bnEps: Double = 1e-5, weightBits: Int = 8, perChannel: Bool = true, decayFractionBits: Int? = nil) {
            (self.dim, self.heads, self.timeSteps, self.stage, self.index) = (dim, heads, timeSteps, stage, index)
            (self.layout, self.bnEps, self.weightBits, self.perChannel) = (layout, bnEps, weightBits, perChannel)
            self.decayFractionBits = decayFractionBits
        }
    }

    /// One quantized layer and where it came from.
    public struct Layer: Sendable {
        /// `q`, `k` or `proj`.
        public let name: String
        /// The state_dict key of its conv weight.
        public let weightKey: String
        public let quantization: LayerQuantization

        /// The layer as the description holds it.
        public func spikingLayer(decayFractionBits e: Int) throws -> SpikingLayer {
            do {
                return try SpikingLayer(name: name, weights: quantization.weights, bias: quantization.bias,
                                        fractionBits: quantization.fractionBits, decayFractionBits: e)
            } catch let err as ConfigError { throw err.within(weightKey) }
        }
    }

    public let directory: URL
    public let settings: Settings
    public let layout: Layout
    /// The module prefix in front of every key (`""` when there is none).
    public let prefix: String
    /// `E`, the extra membrane fraction bits.
    public let decayFractionBits: Int
    public let q: Layer
    public let k: Layer
    public let proj: Layer

    public var layers: [Layer] { [q, k, proj] }
    /// Every layer exact: the integer model equals the float model bit for bit (with `E = T*k`).
    public var isExactMode: Bool { layers.allSatisfy { $0.quantization.isExact } && decayFractionBits >= settings.timeSteps }

    static let tensorsFolder = "tensors"

    /// Reads, folds and quantizes the block. Errors are `ConfigError`s (or `NPYError`s for a
    /// damaged file) whose one-line description names the file and the fix.
    public static func load(directory: URL, settings s: Settings) throws -> AttentionBundle {
        guard s.dim >= 1, s.heads >= 1, s.dim % s.heads == 0 else {
            throw ConfigError(field: "config.json", "heads \(s.heads) must divide dim \(s.dim)")
        }
        guard (1...64).contains(s.timeSteps) else { throw ConfigError(field: "config.json", "timeSteps must be 1...64, got \(s.timeSteps)") }
        guard s.bnEps >= 0, s.bnEps.isFinite else { throw ConfigError(field: "bnEps", "must be a finite number >= 0, got \(s.bnEps)") }
        let e = s.decayFractionBits ?? s.timeSteps
        guard (0...32).contains(e) else { throw ConfigError(field: "quantization.decayFractionBits", "must be 0...32, got \(e)") }
        let store = try TensorStore(directory: directory)
        let (layout, prefix) = try store.locate(settings: s)
        if store.keys.contains(prefix + "v_conv.weight") {
            throw ConfigError(field: "bundle", "'\(prefix)' holds v_conv.weight: it is an SSA block (Q, K and V), not a Q-K attention block; use --block ssa (or attention \"ssa\")")
        }
        let C = s.dim
        /// A conv (`<stem>.weight`, optional `<stem>.bias`) and its BatchNorm (`<bnStem>*`),
        /// `outputs` rows, each file read once (spikingjelly's Q and K share one fused conv).
        struct Conv { let weightKey: String; let w: [[Double]]; let b: [Double]?; let bn: [[Double]] }
        func conv(_ stem: String, bnStem: String, outputs: Int) throws -> Conv {
            Conv(weightKey: stem + ".weight", w: try store.matrix(stem + ".weight", rows: outputs, columns: C),
                 b: try store.optionalVector(stem + ".bias", count: outputs),
                 bn: try ["weight", "bias", "running_mean", "running_var"].map { try store.vector(bnStem + $0, count: outputs) })
        }
        func layer(_ name: String, _ c: Conv, rows: Range<Int>) throws -> Layer {
            try quantizedLayer(name: name, weightKey: c.weightKey, weights: c.w, bias: c.b, batchNorm: c.bn, rows: rows,
                               settings: s, decayFractionBits: e)
        }
        let p = prefix
        let layers: [Layer]
        switch layout {
        case .qkformer:
            layers = try [("q", "q_conv", "q_bn."), ("k", "k_conv", "k_bn."), ("proj", "proj_conv", "proj_bn.")].map {
                try layer($0.0, conv(p + $0.1, bnStem: p + $0.2, outputs: C), rows: 0..<C)
            }
        case .spikingjelly:
            let qk = try conv(p + "qk_conv_bn.0", bnStem: p + "qk_conv_bn.1.", outputs: 2 * C)
            layers = [try layer("q", qk, rows: 0..<C), try layer("k", qk, rows: C..<(2 * C)),
                      try layer("proj", conv(p + "proj_conv_bn.0", bnStem: p + "proj_conv_bn.1.", outputs: C), rows: 0..<C)]
        }
        return AttentionBundle(directory: directory, settings: s, layout: layout, prefix: prefix, decayFractionBits: e,
                               q: layers[0], k: layers[1], proj: layers[2])
    }

    /// Rows `rows` of a conv (`weights`, optional `bias`) and its BatchNorm (`batchNorm`: gamma,
    /// beta, running mean, running var), folded and quantized as `s` says (docs/arithmetic.md §4). Errors
    /// name the tensor and the layer; `var + eps <= 0` names the channel (eps itself may be 0).
    static func quantizedLayer(name: String, weightKey: String, weights: [[Double]], bias: [Double]?, batchNorm bn: [[Double]],
                               rows: Range<Int>, settings s: Settings, decayFractionBits e: Int) throws -> Layer {
        let norm = LayerQuantization.BatchNorm(gamma: Array(bn[0][rows]), beta: Array(bn[1][rows]),
                                               mean: Array(bn[2][rows]), variance: Array(bn[3][rows]), eps: s.bnEps)
        do {
            let folded = try LayerQuantization.fold(weights: Array(weights[rows]), bias: bias.map { Array($0[rows]) }, batchNorm: norm)
            let quant = try LayerQuantization.quantize(weights: folded.weights, bias: folded.bias,
                                                       weightBits: s.weightBits, perChannel: s.perChannel)
            for (o, fw) in quant.fractionBits.enumerated() where !(0...60).contains(fw + e) {
                throw ConfigError(field: "\(name) channel \(o)",
                                  "its weights need the grid 2^-\(fw); with decayFractionBits \(e) the threshold 1.0 is not an integer in 0...2^60 on the membrane grid 2^-\(fw + e); \(fw + e < 0 ? "raise decayFractionBits or weightBits" : "the weights are too small: check the exported tensors")")
            }
            return Layer(name: name, weightKey: weightKey, quantization: quant)
        } catch let err as ConfigError {
            throw err.within("\(tensorsFolder)/\(weightKey) (layer \(name))")
        }
    }

    /// The block's three layers as the description holds them: each output channel on its own
    /// weight grid `2^-Fw` and membrane grid `2^-(Fw + E)`.
    public func spikingLayers() throws -> [SpikingLayer] {
        try layers.map { try $0.spikingLayer(decayFractionBits: decayFractionBits) }
    }

    /// The per-layer report of docs/arithmetic.md §4 as text lines.
    public var reportLines: [String] {
        var lines = ["bundle \(directory.relativePath): \(layout.rawValue) layout\(prefix.isEmpty ? "" : ", prefix '\(prefix)'"), \(settings.weightBits)-bit weights per \(settings.perChannel ? "output channel" : "layer"), E = \(decayFractionBits)"]
        for l in layers {
            let f = l.quantization.fractionBits
            let grid = f.min() == f.max() ? "2^-\(f[0])" : "2^-\(f.min()!) to 2^-\(f.max()!)"
            lines.append("  \(l.name.padding(toLength: 4, withPad: " ", startingAt: 0)) \(l.weightKey): weight grid \(grid), membrane grid \(f.min() == f.max() ? "2^-\(f[0] + decayFractionBits)" : "2^-\(f.min()! + decayFractionBits) to 2^-\(f.max()! + decayFractionBits)"), largest rounding error \(l.quantization.maxError), \(l.quantization.isExact ? "exact" : "rounded")")
        }
        lines.append(isExactMode ? "exact mode: every layer is on its grid and E = T*k, so the integer model equals the float model bit for bit"
                                 : "not exact mode: \(layers.filter { !$0.quantization.isExact }.map(\.name).joined(separator: ", ").ifEmpty("no layer rounded")), \(decayFractionBits < settings.timeSteps ? "E = \(decayFractionBits) < T*k = \(settings.timeSteps) floors the decay" : "E = T*k")")
        return lines
    }

    /// The report as a JSON object (keys sorted by the encoder).
    public var reportJSON: [String: Any] {
        [
            "layout": layout.rawValue, "prefix": prefix, "exactMode": isExactMode, "weightBits": settings.weightBits,
            "perChannel": settings.perChannel, "decayFractionBits": decayFractionBits,
            "layers": layers.map { l -> [String: Any] in
                ["name": l.name, "weightKey": l.weightKey, "fractionBits": l.quantization.fractionBits,
                 "maxError": l.quantization.maxError, "exact": l.quantization.isExact]
            },
        ]
    }
}

private extension String {
    func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}

/// The `tensors/` folder of a bundle: which keys exist, and typed, shape-checked reads.
struct TensorStore {
    let folder: URL
    let keys: Set<String>

    init(directory: URL) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw ConfigError(field: "bundle", "\(directory.path) is not a directory; give the bundle folder that holds config.json and tensors/")
        }
        folder = directory.appendingPathComponent(AttentionBundle.tensorsFolder)
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else {
            throw ConfigError(field: "bundle", "\(folder.path) is missing; a bundle keeps one <state_dict key>.npy per tensor there (tools/export_bundle.py writes it)")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        keys = Set(names.filter { $0.hasSuffix(".npy") }.map { String($0.dropLast(4)) })
    }

    /// The layout and prefix of the attention tensors in the folder.
    func locate(settings s: AttentionBundle.Settings) throws -> (AttentionBundle.Layout, String) {
        let marks: [(AttentionBundle.Layout, String)] = [(.qkformer, "q_conv.weight"), (.spikingjelly, "qk_conv_bn.0.weight")]
        var found: [(AttentionBundle.Layout, String)] = []
        for (layout, mark) in marks where s.layout == nil || s.layout == layout {
            for key in keys.sorted() where key == mark || key.hasSuffix("." + mark) {
                found.append((layout, String(key.dropLast(mark.count))))
            }
        }
        if found.count == 1 { return found[0] }
        let wanted = s.layout.map { $0 == .qkformer ? "q_conv.weight.npy" : "qk_conv_bn.0.weight.npy" }
            ?? "q_conv.weight.npy (QKFormer layout) or qk_conv_bn.0.weight.npy (spikingjelly 2.0 layout)"
        guard !found.isEmpty else {
            throw ConfigError(field: "bundle", "\(folder.path) has no attention block: expected [prefix]\(wanted); export one with tools/export_bundle.py\(s.layout != nil ? " or set \"layout\": \"auto\"" : "")")
        }
        // A whole-model export: take the block config.json names by stage and index.
        let tag = "stage\(s.stage).\(s.index)."
        let chosen = found.filter { $0.1.hasPrefix(tag) || $0.1.contains("." + tag) }
        if chosen.count == 1 { return chosen[0] }
        throw ConfigError(field: "bundle", "\(folder.path) holds \(found.count) attention blocks (\(found.map { "'\($0.1)'" }.joined(separator: ", "))) and stage \(s.stage), index \(s.index) does not pick exactly one; set \"stage\" and \"index\" in config.json or keep one block's tensors")
    }

    private func read(_ key: String) throws -> NPYArray {
        guard keys.contains(key) else {
            throw ConfigError(field: "bundle", "tensor '\(key)' is missing: expected \(folder.appendingPathComponent(key + ".npy").path); export the full state_dict of the block")
        }
        return try NPYArray(contentsOf: folder.appendingPathComponent(key + ".npy"))
    }

    private func values(_ a: NPYArray, _ key: String) throws -> [Double] {
        let v: [Double]
        do { v = try a.asDouble() } catch let e as NPYError {
            throw NPYError(e.kind, "\(e.message); weights must be float32, float64 or integers", path: folder.appendingPathComponent(key + ".npy").path)
        }
        if let i = v.firstIndex(where: { !$0.isFinite }) {
            throw ConfigError(field: "bundle", "\(folder.appendingPathComponent(key + ".npy").path): element \(i) is \(v[i]); export a trained model without NaN or infinity")
        }
        return v
    }

    private func shapeError(_ key: String, _ a: NPYArray, _ expected: String) -> ConfigError {
        ConfigError(field: "bundle", "\(folder.appendingPathComponent(key + ".npy").path): shape \(npyShapeText(a.shape)), expected \(expected); check dim and heads in config.json against the exported model")
    }

    /// A conv weight `[rows, columns, 1]` (Conv1d, kernel 1), `[rows, columns, 1, 1]` (Conv2d,
    /// kernel 1, as the QKFormer authors' MLP) or `[rows, columns]` (Linear).
    func matrix(_ key: String, rows: Int, columns: Int) throws -> [[Double]] {
        let a = try read(key)
        guard [[rows, columns, 1], [rows, columns, 1, 1], [rows, columns]].contains(a.shape) else {
            throw shapeError(key, a, "\(npyShapeText([rows, columns, 1])) (a kernel-1 Conv1d), \(npyShapeText([rows, columns, 1, 1])) (a kernel-1 Conv2d) or \(npyShapeText([rows, columns]))")
        }
        let flat = try values(a, key)
        return (0..<rows).map { Array(flat[($0 * columns)..<(($0 + 1) * columns)]) }
    }

    func vector(_ key: String, count: Int) throws -> [Double] {
        let a = try read(key)
        guard a.shape == [count] else { throw shapeError(key, a, npyShapeText([count])) }
        return try values(a, key)
    }

    func optionalVector(_ key: String, count: Int) throws -> [Double]? {
        keys.contains(key) ? try vector(key, count: count) : nil
    }
}
