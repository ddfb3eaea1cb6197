import Foundation
import HDL
import Blocks
import Golden

/// One attention block with concrete integer weights, described twice from the same numbers:
/// once for the generator (`QKTAConfig`, whose weights and neurons a QKCA block uses too) and
/// once for the golden model
/// (`AttentionBlockParameters`). Neither side computes anything for the other.
public struct AttentionModel {
    public let block: BlockConfig
    public let hardware: QKTAConfig
    public let golden: AttentionBlockParameters
    /// `Fw` of random weights; for a bundle, the finest grid of any channel.
    public let weightFractionBits: Int
    public let decayFractionBits: Int
    /// Where the weights came from, for reports.
    public var origin: String = ""

    /// Random but seeded weights on the quantization grid (exact mode): every weight is an integer
    /// on the grid `2^-Fw` with `Fw = weightBits - 1` (so weights lie in [-1, 1)), the bias is on
    /// the same grid within `biasRange` (in real units), and every LIF is QKFormer's (tau 2, threshold 1.0, hard
    /// reset to 0) on the membrane grid `2^-(Fw + E)` with `E = T*k` unless the config says
    /// otherwise.
    public static func random(_ block: BlockConfig, lanes: Int, seed: UInt64, maxInputCount: Int = 1,
                              storage: LIFStateStorage = .registers,
                              biasRange: ClosedRange<Double> = -1...1) throws -> AttentionModel {
        guard block.block == .qkta || block.block == .qkca else {
            throw ConfigError(field: "block", "only qkta and qkca blocks can be generated so far, got \(block.block.rawValue); use --block qkta or qkca")
        }
        var rng = SplitMix64(seed: seed)
        let C = block.dim
        let wb = block.quantization.weightBits
        let fw = wb - 1
        let e = block.quantization.decayFractionBits ?? block.timeSteps
        let half = 1 << (wb - 1)
        func matrix() -> [[Int]] {
            (0..<C).map { _ in (0..<C).map { _ in Int.random(in: -half...(half - 1), using: &rng) } }
        }
        let biasLo = Int((biasRange.lowerBound * Double(half)).rounded(.up))
        let biasHi = Int((biasRange.upperBound * Double(half)).rounded(.down))
        guard biasLo <= biasHi else { throw ConfigError(field: "biasRange", "holds no value on the weight grid") }
        func vector() -> [Int] { (0..<C).map { _ in Int.random(in: biasLo...biasHi, using: &rng) } }
        let neuron = LIFNeuronConfig.qkformer(weightFractionBits: fw, extraFractionBits: e)
        let layers = (0..<3).map { _ in SpikingLayerWeights(weights: matrix(), bias: vector(), neuron: neuron) }
        return try assemble(block, layers, lanes: lanes, maxInputCount: maxInputCount, storage: storage, fw: fw, e: e)
    }

    /// A trained block from a bundle: the integers the importer folded and quantized, each
    /// output channel's LIF on its own membrane grid (per-channel thresholds when the grids
    /// differ). `block` must be the bundle's config.
    public static func fromBundle(_ block: BlockConfig, _ bundle: AttentionBundle, lanes: Int, maxInputCount: Int = 1,
                                  storage: LIFStateStorage = .registers) throws -> AttentionModel {
        guard block.block == .qkta || block.block == .qkca else {
            throw ConfigError(field: "block", "only qkta and qkca blocks can be imported so far, got \(block.block.rawValue)")
        }
        let e = bundle.decayFractionBits
        func hardwareLayer(_ l: AttentionBundle.Layer) throws -> SpikingLayerWeights {
            let fs = l.quantization.fractionBits
            func narrow(_ v: Int64) throws -> Int {
                guard let i = Int(exactly: v), abs(i) < 1 << 48 else {
                    throw ConfigError(field: l.weightKey, "a quantized value \(v) is too wide for the generator (48 bits); lower weightBits or check the tensors")
                }
                return i
            }
            let weights = try l.quantization.weights.map { try $0.map(narrow) }
            let bias = try l.quantization.bias.map(narrow)
            let neuron = LIFNeuronConfig.qkformer(weightFractionBits: fs.max()!, extraFractionBits: e)
            let thresholds = Set(fs).count > 1 ? fs.map { 1 << ($0 + e) } : nil
            return SpikingLayerWeights(weights: weights, bias: bias, neuron: neuron, thresholds: thresholds)
        }
        let hw = hardware(block, try bundle.layers.map(hardwareLayer), lanes: lanes, maxInputCount: maxInputCount, storage: storage)
        var model = AttentionModel(block: block, hardware: hw, golden: try bundle.parameters(),
                                   weightFractionBits: bundle.layers.flatMap(\.quantization.fractionBits).max()!,
                                   decayFractionBits: e)
        model.origin = "bundle \(bundle.directory.relativePath) (\(bundle.layout.rawValue) layout), \(block.quantization.weightBits)-bit per \(block.quantization.perChannel ? "channel" : "layer"); LIF E = \(e)\(bundle.isExactMode ? " (exact mode)" : "")"
        return model
    }

    /// The importer's settings for a block config.
    public static func bundleSettings(_ c: BlockConfig) -> AttentionBundle.Settings {
        AttentionBundle.Settings(dim: c.dim, heads: c.heads, timeSteps: c.timeSteps, stage: c.stage, index: c.index,
                                 layout: c.layout == .auto ? nil : AttentionBundle.Layout(rawValue: c.layout.rawValue),
                                 bnEps: c.bnEps, weightBits: c.quantization.weightBits, perChannel: c.quantization.perChannel,
                                 decayFractionBits: c.quantization.decayFractionBits)
    }

    /// The generator's config for the block's three layers (QKCA reuses it with a token count).
    static func hardware(_ block: BlockConfig, _ layers: [SpikingLayerWeights], lanes: Int, maxInputCount: Int,
                         storage: LIFStateStorage) -> QKTAConfig {
        let name = "\(block.block.rawValue)_\((block.model ?? "custom").replacingOccurrences(of: "-", with: "_"))_s\(block.stage)"
        return QKTAConfig(channels: block.dim, heads: block.heads, timeSteps: block.timeSteps, lanes: lanes,
                          maxInputCount: maxInputCount, q: layers[0], k: layers[1], proj: layers[2],
                          storage: storage, name: name)
    }

    /// Both descriptions of the block from the same integer layers.
    static func assemble(_ block: BlockConfig, _ layers: [SpikingLayerWeights], lanes: Int, maxInputCount: Int,
                         storage: LIFStateStorage, fw: Int, e: Int) throws -> AttentionModel {
        let C = block.dim
        let hw = hardware(block, layers, lanes: lanes, maxInputCount: maxInputCount, storage: storage)
        let goldenNeuron = LIFParameters.qkformer(weightFractionBits: fw, extraFractionBits: e)
        func goldenLayer(_ l: SpikingLayerWeights) throws -> SpikingLinearLayer {
            try SpikingLinearLayer(linear: LinearLayer(weights: l.weights.map { $0.map(Int64.init) }, bias: l.bias.map(Int64.init)),
                                   neuron: goldenNeuron)
        }
        let g = try AttentionBlockParameters(dim: C, heads: block.heads, timeSteps: block.timeSteps,
                                             q: goldenLayer(layers[0]), k: goldenLayer(layers[1]), proj: goldenLayer(layers[2]))
        return AttentionModel(block: block, hardware: hw, golden: g, weightFractionBits: fw, decayFractionBits: e,
                              origin: "random on the grid 2^-\(fw), \(block.quantization.weightBits)-bit; LIF E = \(e) (exact mode)")
    }

    /// QKFormer's measured firing rates (seed 001, Table 7: trained on ImageNet, stage 1 and 2):
    /// Q, K, and the block output X''.
    public static func qkformerRates(stage: Int) -> (q: Double, k: Double, out: Double) {
        stage == 1 ? (0.0432, 0.1784, 0.1478) : (0.0231, 0.0847, 0.0577)
    }

    /// The same model with each layer's biases shifted by one constant (on the weight grid),
    /// chosen by bisection on the golden model so that Q, K and the output fire at `targets` on
    /// random inputs of rate `inputRate`. The weights stay as they are; the result is still exact.
    public func calibrated(to targets: (q: Double, k: Double, out: Double), inputRate: Double,
                           seed: UInt64) throws -> (model: AttentionModel, rates: (q: Double, k: Double, out: Double)) {
        var calib = block
        calib.tokens = min(block.tokens, 64)
        let x = AttentionModel.randomInput(calib, rate: inputRate, maxCount: hardware.maxInputCount, seed: seed ^ 0xCA1B)
        var layers = [hardware.q, hardware.k, hardware.proj]
        func rates(_ ls: [SpikingLayerWeights]) throws -> (q: Double, k: Double, out: Double) {
            let m = try AttentionModel.assemble(calib, ls, lanes: hardware.lanes, maxInputCount: hardware.maxInputCount,
                                                storage: hardware.storage, fw: weightFractionBits, e: decayFractionBits)
            let t = try (block.block == .qkca ? QKCA.run(m.golden, input: x) : QKTA.run(m.golden, input: x))
            func r(_ s: SpikeTensor) -> Double { Double(s.scalars.reduce(0) { $0 + Int($1) }) / Double(s.scalars.count) }
            return (r(t.q.spikes), r(t.k.spikes), r(t.output))
        }
        let span = 16 << weightFractionBits
        let targetList = [targets.q, targets.k, targets.out]
        for layer in 0..<3 {
            let base = layers[layer].bias
            func rate(_ delta: Int) throws -> Double {
                var ls = layers
                ls[layer].bias = base.map { $0 + delta }
                let r = try rates(ls)
                return [r.q, r.k, r.out][layer]
            }
            // Smallest shift reaching the target (the rate grows with the bias), then the closer
            // of it and the one below.
            var lo = -span, hi = span
            while lo < hi {
                let mid = (lo + hi) >> 1
                if try rate(mid) >= targetList[layer] { hi = mid } else { lo = mid + 1 }
            }
            var best = lo
            if lo > -span, abs(try rate(lo - 1) - targetList[layer]) < abs(try rate(lo) - targetList[layer]) { best = lo - 1 }
            layers[layer].bias = base.map { $0 + best }
        }
        let full = try AttentionModel.assemble(block, layers, lanes: hardware.lanes, maxInputCount: hardware.maxInputCount,
                                               storage: hardware.storage, fw: weightFractionBits, e: decayFractionBits)
        return (full, try rates(layers))
    }

    /// A random input sample `[T][N][C]`: each count is non-zero with probability `rate`, and
    /// then uniform in 1...maxCount.
    public static func randomInput(_ block: BlockConfig, rate: Double, maxCount: Int, seed: UInt64) -> SpikeTensor {
        var rng = SplitMix64(seed: seed)
        let n = block.timeSteps * block.tokens * block.dim
        var scalars = [UInt8](repeating: 0, count: n)
        for i in 0..<n where Double.random(in: 0..<1, using: &rng) < rate {
            scalars[i] = UInt8(Int.random(in: 1...maxCount, using: &rng))
        }
        var t = SpikeTensor(shape: [block.timeSteps, block.tokens, block.dim], repeating: 0)
        t.scalars = scalars
        return t
    }
}
