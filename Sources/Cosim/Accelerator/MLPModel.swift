import Foundation
import HDL
import Blocks
import Golden

/// One MLP with concrete integer weights, described twice from the same numbers: for the
/// generator (`MLPConfig`) and for the golden model (`MLPParameters`). Neither side computes
/// anything for the other.
public struct MLPModel {
    public let hardware: MLPConfig
    public let golden: MLPParameters

    /// Random but seeded weights on the grid `2^-Fw`, `Fw = weightBits - 1` (exact mode), biases
    /// within `biasRange` (real units) on the same grid, and QKFormer's LIF (tau 2, threshold
    /// 1.0, hard reset to 0) on the membrane grid `2^-(Fw + E)`, `E = decayFractionBits ?? T`.
    public static func random(channels C: Int, hidden H: Int, timeSteps T: Int, lanes: Int, hiddenLanes: Int? = nil,
                              inputChunk: Int? = nil, seed: UInt64, maxInputCount: Int = 1, weightBits: Int = 8,
                              decayFractionBits: Int? = nil, storage: LIFStateStorage = .registers,
                              biasRange: ClosedRange<Double> = -0.25...1.0, name: String = "mlp") throws -> MLPModel {
        var rng = SplitMix64(seed: seed)
        let fw = weightBits - 1, e = decayFractionBits ?? T
        let half = 1 << (weightBits - 1)
        let biasLo = Int((biasRange.lowerBound * Double(half)).rounded(.up))
        let biasHi = Int((biasRange.upperBound * Double(half)).rounded(.down))
        guard biasLo <= biasHi else { throw ConfigError(field: "biasRange", "holds no value on the weight grid") }
        func layer(_ outputs: Int, _ inputs: Int) -> SpikingLayerWeights {
            let w = (0..<outputs).map { _ in (0..<inputs).map { _ in Int.random(in: -half...(half - 1), using: &rng) } }
            let b = (0..<outputs).map { _ in Int.random(in: biasLo...biasHi, using: &rng) }
            return SpikingLayerWeights(weights: w, bias: b, neuron: .qkformer(weightFractionBits: fw, extraFractionBits: e))
        }
        let fc1 = layer(H, C), fc2 = layer(C, H)
        let hw = MLPConfig(channels: C, hidden: H, timeSteps: T, lanes: lanes, hiddenLanes: hiddenLanes, inputChunk: inputChunk,
                           maxInputCount: maxInputCount, fc1: fc1, fc2: fc2, storage: storage, name: name)
        return MLPModel(hardware: hw, golden: try goldenParameters(hw, fw: fw, e: e))
    }

    /// The golden parameters of `hw`, whose layers all use QKFormer's LIF on `2^-(fw + e)`.
    public static func goldenParameters(_ hw: MLPConfig, fw: Int, e: Int) throws -> MLPParameters {
        let neuron = LIFParameters.qkformer(weightFractionBits: fw, extraFractionBits: e)
        func golden(_ l: SpikingLayerWeights) throws -> SpikingLinearLayer {
            try SpikingLinearLayer(linear: LinearLayer(weights: l.weights.map { $0.map(Int64.init) }, bias: l.bias.map(Int64.init)),
                                   neuron: neuron)
        }
        return try MLPParameters(dim: hw.channels, hidden: hw.hidden, timeSteps: hw.timeSteps,
                                 fc1: golden(hw.fc1), fc2: golden(hw.fc2))
    }
}
