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
    public let weightFractionBits: Int
    public let decayFractionBits: Int

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
        let name = "\(block.block.rawValue)_\((block.model ?? "custom").replacingOccurrences(of: "-", with: "_"))_s\(block.stage)"
        let hw = QKTAConfig(channels: C, heads: block.heads, timeSteps: block.timeSteps, lanes: lanes,
                            maxInputCount: maxInputCount, q: layers[0], k: layers[1], proj: layers[2],
                            storage: storage, name: name)
        let goldenNeuron = LIFParameters.qkformer(weightFractionBits: fw, extraFractionBits: e)
        func goldenLayer(_ l: SpikingLayerWeights) throws -> SpikingLinearLayer {
            try SpikingLinearLayer(linear: LinearLayer(weights: l.weights.map { $0.map(Int64.init) }, bias: l.bias.map(Int64.init)),
                                   neuron: goldenNeuron)
        }
        let g = try AttentionBlockParameters(dim: C, heads: block.heads, timeSteps: block.timeSteps,
                                             q: goldenLayer(layers[0]), k: goldenLayer(layers[1]), proj: goldenLayer(layers[2]))
        return AttentionModel(block: block, hardware: hw, golden: g, weightFractionBits: fw, decayFractionBits: e)
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
