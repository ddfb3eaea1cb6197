import Testing
@testable import Description

/// BatchNorm folding and quantization (docs/arithmetic.md §4), on values worked out by hand.
@Suite struct LayerQuantizationTests {
    @Test func finestGridThatFits() throws {
        // 4-bit weights hold -8...7. [0.5, -0.25, 0.125] on 2^-3 is [4, -2, 1]; on 2^-4 the 0.5
        // would be 8 > 7. So Fw = 3, and nothing was rounded.
        let q = try LayerQuantization.quantize(weights: [[0.5, -0.25, 0.125]], bias: [0.375], weightBits: 4, perChannel: true)
        #expect(q.fractionBits == [3])
        #expect(q.weights == [[4, -2, 1]])
        #expect(q.bias == [3])
        #expect(q.isExact)
    }

    @Test func mostNegativeValueUsesTheFullRange() throws {
        // -1.0 on 2^-3 is -8, which 4 bits hold; on 2^-4 it would be -16.
        let q = try LayerQuantization.quantize(weights: [[-1.0, 0.5]], bias: [0], weightBits: 4, perChannel: true)
        #expect(q.fractionBits == [3] && q.weights == [[-8, 4]])
    }

    @Test func roundingIsReported() throws {
        // 0.3: on 2^-4, 4.8 rounds to 5 (fits 7); on 2^-5, 9.6 -> 10 does not. Error |5/16 - 0.3| = 0.0125.
        let q = try LayerQuantization.quantize(weights: [[0.3]], bias: [0], weightBits: 4, perChannel: true)
        #expect(q.fractionBits == [4] && q.weights == [[5]])
        #expect(!q.isExact)
        #expect(abs(q.maxError - 0.0125) < 1e-12)
    }

    @Test func perLayerGridComesFromTheLargestWeight() throws {
        // 8 bits: 1.0 on 2^-6 is 64 (fits 127), on 2^-7 it is 128 (does not). Channel 2's 0.1
        // on 2^-6 is 6.4 -> 6, error 0.1 - 6/64 = 0.00625. Per channel it gets its own grid.
        let layer = try LayerQuantization.quantize(weights: [[1.0], [0.1]], bias: [0, 0], weightBits: 8, perChannel: false)
        #expect(layer.fractionBits == [6, 6] && layer.weights == [[64], [6]])
        #expect(abs(layer.maxError - 0.00625) < 1e-12)
        let chan = try LayerQuantization.quantize(weights: [[1.0], [0.1]], bias: [0, 0], weightBits: 8, perChannel: true)
        // 0.1 * 2^10 = 102.4 -> 102 fits 127; * 2^11 = 204.8 does not.
        #expect(chan.fractionBits == [6, 10] && chan.weights == [[64], [102]])
    }

    @Test func zeroChannelAndBadValues() throws {
        let q = try LayerQuantization.quantize(weights: [[0, 0]], bias: [0], weightBits: 8, perChannel: true)
        #expect(q.fractionBits == [7] && q.weights == [[0, 0]] && q.isExact)
        #expect(throws: ConfigError.self) { try LayerQuantization.quantize(weights: [[.nan]], bias: [0], weightBits: 8, perChannel: true) }
        #expect(throws: ConfigError.self) { try LayerQuantization.quantize(weights: [[1]], bias: [0, 1], weightBits: 8, perChannel: true) }
    }

    @Test func batchNormFoldsIntoWeightsAndBias() throws {
        // s = gamma / sqrt(var + eps) = -2 / sqrt(3 + 1) = -1; W' = -W; b' = s (b - mean) + beta
        // = -1 * (0.5 - 1.5) + 0.25 = 1.25. Channel 2: s = 0.5 / sqrt(0.25 + 0) = 1.
        let bn = LayerQuantization.BatchNorm(gamma: [-2, 0.5], beta: [0.25, 0], mean: [1.5, -1], variance: [3, 0.25], eps: 1)
        let bn0 = LayerQuantization.BatchNorm(gamma: bn.gamma, beta: bn.beta, mean: bn.mean, variance: [3, 0.25], eps: 0)
        let (w, b) = try LayerQuantization.fold(weights: [[1, -0.5], [0.25, 2]], bias: [0.5, 0], batchNorm: bn)
        #expect(w[0] == [-1, 0.5] && b[0] == 1.25)
        let (w0, b0) = try LayerQuantization.fold(weights: [[1, -0.5], [0.25, 2]], bias: nil, batchNorm: bn0)
        // eps 0: channel 1: s = -2/sqrt(3); channel 2: s = 1, b' = 1 * (0 - (-1)) + 0 = 1.
        #expect(w0[1] == [0.25, 2] && b0[1] == 1)
        #expect(throws: ConfigError.self) {
            try LayerQuantization.fold(weights: [[1]], bias: nil, batchNorm: .init(gamma: [1], beta: [0], mean: [0], variance: [-1], eps: 0))
        }
    }
}
