import Foundation

extension SpikingLayer {
    /// A random layer on the grid `2^-Fw`, `Fw = weightBits - 1` (weights in [-1, 1)), biases
    /// within `biasRange` (real units) on the same grid: weights row by row, then the biases.
    public static func random(name: String, outputs: Int, inputs: Int, weightBits wb: Int, biasRange range: ClosedRange<Double>,
                              decayFractionBits e: Int, using rng: inout SplitMix64) throws -> SpikingLayer {
        let fw = wb - 1, half = 1 << (wb - 1)
        let biasLo = Int((range.lowerBound * Double(half)).rounded(.up))
        let biasHi = Int((range.upperBound * Double(half)).rounded(.down))
        guard biasLo <= biasHi else { throw ConfigError(field: "biasRange", "\(range) holds no value on the weight grid 2^-\(fw)") }
        let w = (0..<outputs).map { _ in (0..<inputs).map { _ in Int64(Int.random(in: -half...(half - 1), using: &rng)) } }
        let b = (0..<outputs).map { _ in Int64(Int.random(in: biasLo...biasHi, using: &rng)) }
        return try SpikingLayer(name: name, weights: w, bias: b, fractionBits: Array(repeating: fw, count: outputs), decayFractionBits: e)
    }
}

/// The one place that turns a config's `block` into a composition of parts: random seeded
/// weights, a trained bundle, and the defaults of docs/arithmetic.md §5. Everything above the
/// description reads the `Part` tree, never the block's name.
extension BlockDescription {
    /// The largest count on the block's input by default (docs/arithmetic.md §5): 1 for an
    /// attention block alone (spikes), `2 + 2b` for QKFormer block `b` of a stage, one more for
    /// its MLP, which reads `x1`.
    public static func defaultMaxInputCount(_ c: BlockConfig) -> Int {
        if let m = c.maxInputCount { return m }
        switch c.block {
        case .qkta, .qkca, .ssa: return 1
        case .qkformerBlock: return 2 + 2 * c.index
        case .mlp: return 3 + 2 * c.index
        }
    }

    /// The real range random biases are drawn from by default: wide for an attention block alone
    /// (the firing rates are calibrated afterwards), positive for the blocks whose inputs are
    /// counts, so that their layers fire.
    public static func defaultBiasRange(_ c: BlockConfig) -> ClosedRange<Double> {
        switch c.block {
        case .qkta, .qkca, .ssa: return -1...1
        case .qkformerBlock: return -0.25...1.25
        case .mlp: return -0.25...1.0
        }
    }

    /// Random but seeded weights on the quantization grid (exact mode): every weight an integer
    /// on `2^-Fw`, `Fw = weightBits - 1` (weights in [-1, 1)), biases on the same grid within
    /// `biasRange` (real units), every LIF QKFormer's on `2^-(Fw + E)`, `E = T*k` unless the
    /// config says otherwise. The same seed gives the same weights.
    public static func random(_ c: BlockConfig, seed: UInt64, maxInputCount: Int? = nil,
                              biasRange: ClosedRange<Double>? = nil) throws -> BlockDescription {
        let wb = c.quantization.weightBits, fw = wb - 1
        let e = c.quantization.decayFractionBits ?? c.timeSteps
        let range = biasRange ?? defaultBiasRange(c)
        func layer(_ name: String, _ outs: Int, _ ins: Int, _ rng: inout SplitMix64) throws -> SpikingLayer {
            try SpikingLayer.random(name: name, outputs: outs, inputs: ins, weightBits: wb, biasRange: range,
                                    decayFractionBits: e, using: &rng)
        }
        func attention(_ a: BlockConfig.Attention, seed: UInt64) throws -> Part {
            var rng = SplitMix64(seed: seed)
            let C = c.dim
            let q = try layer("q", C, C, &rng), k = try layer("k", C, C, &rng)
            guard let mask = a.mask else {
                let v = try layer("v", C, C, &rng)
                return .selfAttention(heads: c.heads, q: q, k: k, v: v, proj: try layer("proj", C, C, &rng))
            }
            return .attention(mask: mask, heads: c.heads, q: q, k: k, proj: try layer("proj", C, C, &rng))
        }
        func mlp(seed: UInt64) throws -> Part {
            var rng = SplitMix64(seed: seed)
            let fc1 = try layer("fc1", c.mlpRatio * c.dim, c.dim, &rng)
            return .mlp(fc1: fc1, fc2: try layer("fc2", c.dim, c.mlpRatio * c.dim, &rng))
        }
        let body: Part
        switch c.block {
        case .qkta: body = try attention(.token, seed: seed)
        case .qkca: body = try attention(.channel, seed: seed)
        case .ssa: body = try attention(.ssa, seed: seed)
        case .mlp: body = try mlp(seed: seed)
        case .qkformerBlock: body = .chain([.residual(try attention(c.attention, seed: seed)), .residual(try mlp(seed: seed ^ 0x3A7F))])
        }
        let maxIn = maxInputCount ?? defaultMaxInputCount(c)
        let input = StreamFormat(channels: c.dim, tokens: c.tokens, timeSteps: c.timeSteps, maxCount: maxIn)
        return try BlockDescription(config: c, input: input, body: body,
                                    origin: "random on the grid 2^-\(fw), \(wb)-bit; seed \(seed); LIF E = \(e) (exact mode)")
    }

    /// A trained block from the bundle in `directory` (docs/formats.md), `c` its config: folded
    /// and quantized by the importer, each output channel on its own grid. Returns the importer's
    /// report lines too.
    public static func bundle(_ c: BlockConfig, directory: URL, maxInputCount: Int? = nil) throws -> (BlockDescription, report: [String], json: [String: Any], exact: Bool) {
        let layout = c.layout == .auto ? nil : AttentionBundle.Layout(rawValue: c.layout.rawValue)
        let body: Part, lines: [String], json: [String: Any], exact: Bool, bundleMax: Int?, e: Int, found: String
        switch c.block {
        case .qkta, .qkca:
            let s = AttentionBundle.Settings(dim: c.dim, heads: c.heads, timeSteps: c.timeSteps, stage: c.stage, index: c.index,
                                             layout: layout, bnEps: c.bnEps, weightBits: c.quantization.weightBits,
                                             perChannel: c.quantization.perChannel, decayFractionBits: c.quantization.decayFractionBits)
            let b = try AttentionBundle.load(directory: directory, settings: s)
            let l = try b.spikingLayers()
            body = .attention(mask: c.block == .qkca ? .channel : .token, heads: c.heads, q: l[0], k: l[1], proj: l[2])
            (lines, json, exact, bundleMax, e, found) = (b.reportLines, b.reportJSON, b.isExactMode, nil, b.decayFractionBits, b.layout.rawValue)
        case .ssa:
            let s = AttentionBundle.Settings(dim: c.dim, heads: c.heads, timeSteps: c.timeSteps, stage: c.stage, index: c.index,
                                             layout: layout, bnEps: c.bnEps, weightBits: c.quantization.weightBits,
                                             perChannel: c.quantization.perChannel, decayFractionBits: c.quantization.decayFractionBits)
            let b = try SSABundle.load(directory: directory, settings: s)
            body = try b.part()
            (lines, json, exact, bundleMax, e, found) = (b.reportLines, b.reportJSON, b.isExactMode, nil, b.decayFractionBits, b.layout.rawValue)
        case .qkformerBlock:
            let s = BlockBundle.Settings(dim: c.dim, heads: c.heads, timeSteps: c.timeSteps, mlpRatio: c.mlpRatio,
                                         attention: c.attention.mask ?? .token,
                                         stage: c.stage, index: c.index, layout: layout, bnEps: c.bnEps,
                                         weightBits: c.quantization.weightBits, perChannel: c.quantization.perChannel,
                                         decayFractionBits: c.quantization.decayFractionBits, maxInputCount: c.maxInputCount,
                                         selfAttention: c.attention == .ssa)
            let b = try BlockBundle.load(directory: directory, settings: s)
            body = try b.body()
            (lines, json, exact, bundleMax, e, found) = (b.reportLines, b.reportJSON, b.isExactMode, b.maxInputCount, b.decayFractionBits, b.layout.rawValue)
        case .mlp:
            throw ConfigError(field: "block", "a bundle of --block mlp cannot be read yet; export the whole QKFormer block (--block qkformer-block) or its attention (qkta, qkca, ssa)")
        }
        let maxIn = maxInputCount ?? bundleMax ?? defaultMaxInputCount(c)
        let input = StreamFormat(channels: c.dim, tokens: c.tokens, timeSteps: c.timeSteps, maxCount: maxIn)
        let origin = "bundle \(directory.relativePath) (\(found) layout), \(c.quantization.weightBits)-bit per \(c.quantization.perChannel ? "channel" : "layer"); LIF E = \(e)\(exact ? " (exact mode)" : "")"
        return (try BlockDescription(config: c, input: input, body: body, origin: origin), lines, json, exact)
    }

    /// QKFormer's measured firing rates (seed 001, Table 7: trained on ImageNet, stage 1 and 2):
    /// Q, K, and the block output X''.
    public static func qkformerRates(stage: Int) -> (q: Double, k: Double, out: Double) {
        stage == 1 ? (0.0432, 0.1784, 0.1478) : (0.0231, 0.0847, 0.0577)
    }

    /// The same block with each layer's biases shifted by one constant (on the weight grid),
    /// chosen layer by layer in stream order by bisection so that `rate(block, layer)`, the
    /// firing rate of layer `layer` that the caller measures (the golden model on a sample),
    /// reaches `targets[layer]`. Weights stay as they are, so the result is still exact. `span`
    /// bounds the shift (real units).
    public func calibratingBiases(to targets: [Double], span: Double = 16,
                                  rate: (BlockDescription, Int) throws -> Double) throws -> BlockDescription {
        var current = self
        let layerCount = body.layers.count
        guard targets.count <= layerCount else {
            throw ConfigError(field: "targets", "gives \(targets.count) firing rates for \(layerCount) layers")
        }
        for (index, target) in targets.enumerated() {
            let fw = body.layers[index].fractionBits.max() ?? 0
            let limit = Int64(span * Double(1 << fw))
            let base = current
            func shifted(_ delta: Int64) throws -> BlockDescription {
                var i = -1
                return try base.mapLayers { l in i += 1; return i == index ? l.shiftingBias(by: delta) : l }
            }
            func r(_ delta: Int64) throws -> Double { try rate(try shifted(delta), index) }
            // Smallest shift reaching the target (the rate grows with the bias), then the closer
            // of it and the one below.
            var lo = -limit, hi = limit
            while lo < hi {
                let mid = (lo + hi) >> 1
                if try r(mid) >= target { hi = mid } else { lo = mid + 1 }
            }
            var best = lo
            if lo > -limit, abs(try r(lo - 1) - target) < abs(try r(lo) - target) { best = lo - 1 }
            current = try shifted(best)
        }
        return current
    }
}
