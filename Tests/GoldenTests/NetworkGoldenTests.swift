import Description
import Foundation
import Testing
@testable import Golden

/// The whole-network golden model (docs/arithmetic.md §8, SPEC 3.8-3.9): image quantization, the
/// static-image stem, the head's integers and logits, and random networks end to end.

/// A network of one 1x1 stem conv (W = [1], [2]; Fw = 1, E = 0: threshold 2) on a 1-channel
/// 2x2 image of 8-bit integer pixels, no sections, and a 3-class head on the grid 2^-2.
private func tinyNetwork(headWeights: [[Int64]] = [[1, -1], [3, 2], [-2, 5]], headBias: [Int64] = [1, -4, 0]) throws -> NetworkDescription {
    let stem = try convLayer("conv1", weights: [[1], [2]], cin: 1, k: 1)
    let image = ImageFormat(channels: 1, height: 2, width: 2, timeSteps: 2, kind: .pixels(bits: 8, fractionBits: 0))
    let head = try HeadLayer(weights: headWeights, bias: headBias, fractionBits: Array(repeating: 2, count: headWeights.count))
    return try NetworkDescription(config: NetworkConfig.named("hst-4-384"), image: image, stem: stem, sections: [], head: head,
                                  origin: "by hand")
}

/// Small configs of each embedding, for random end-to-end runs.
private func smallConfig(_ json: String) throws -> NetworkConfig { try NetworkConfig.parse(json: Data(json.utf8)) }

@Suite("Golden network (SPEC 3.8-3.9)")
struct NetworkGoldenTests {
    /// Pixels [4, 0, 1, -3], currents I0 = p and I1 = 2p, T = 2 (H = V + ((I - V) >>> 1), fire at
    /// H >= 2): channel 0 spikes only at position 0, at both steps (H = 2, 2); channel 1 likewise
    /// (H = 4, 4); position 3's membrane goes -2 -> -3 (ch 0) and -3 -> -5 (ch 1). So S = [2, 2],
    /// N*T = 8, z = [8 + 2 - 2, -32 + 6 + 4, 0 - 4 + 10] = [8, -22, 6], logits z / 4 / 8.
    @Test func staticImageStemAndHeadByHand() throws {
        let g = try GoldenNetwork(try tinyNetwork())
        let r = try g.run(image: try Tensor(shape: [1, 2, 2], scalars: [4, 0, 1, -3]))
        let stem = try #require(r.stem)
        #expect(stem.layer.hidden.scalars == [2, 4, 0, 0, 0, 1, -2, -3,
                                               2, 4, 0, 0, 0, 1, -3, -5])
        #expect(stem.output.scalars == [1, 1, 0, 0, 0, 0, 0, 0,
                                        1, 1, 0, 0, 0, 0, 0, 0])
        #expect(r.sums == [2, 2])
        #expect(r.z == [8, -22, 6])
        #expect(r.logits == [0.25, -0.6875, 0.1875])
        #expect(r.predictedClass == 0)
        #expect(r.streams.map(\.name) == ["stem"])
    }

    @Test func argmaxTakesTheLowestIndexOnATieAndComparesGridsExactly() {
        #expect(ImageInput.predictedClass([5, 7, 7]) == 1)
        #expect(ImageInput.predictedClass([-3, -3]) == 0)
        // 3 * 2^0 = 3 beats 5 * 2^-1 = 2.5; 6 * 2^-1 = 3 ties with 3 and loses on index.
        #expect(ImageInput.predictedClass([3, 5], fractionBits: [0, 1]) == 0)
        #expect(ImageInput.predictedClass([3, 7], fractionBits: [0, 1]) == 1)
        #expect(ImageInput.predictedClass([3, 6], fractionBits: [0, 1]) == 0)
        #expect(ImageInput.logits([12, -3], fractionBits: [2, 0], tokens: 3, timeSteps: 1) == [1.0, -1.0])
    }

    /// Fin = 5, 8 bits: 0.5 -> 16, 0.09375 -> 3 (on the grid), 1/64 -> 0.5 -> 0 and 3/64 -> 1.5 -> 2
    /// (ties to even, rounded), 100 -> 3200 -> 127 and -5 -> -160 -> -128 (saturated).
    @Test func imageQuantizationRoundsTiesToEvenAndSaturates() throws {
        let q = try ImageInput.quantize([0.5, 0.09375, 1.0 / 64, 3.0 / 64, 100, -5], shape: [1, 2, 3], bits: 8, fractionBits: 5)
        #expect(q.pixels.scalars == [16, 3, 0, 2, 127, -128])
        #expect(q.rounded == 2)
        #expect(q.saturated == 2)
        expectOneLineError(ConfigError.self, ["image", "channel 0, row 1, column 2", "NaN"], sourceLocation: #_sourceLocation) {
            try ImageInput.quantize([0, 0, 0, 0, 0, .nan], shape: [1, 2, 3], bits: 8, fractionBits: 5)
        }
    }

    /// [T = 1][C = 2][H = 1][W = 2] frames [[1, 2], [3, 0]] become tokens (c0, c1) = (1, 3), (2, 0).
    @Test func dvsFramesBecomeATokenStream() throws {
        let f = try ImageInput.frames([1, 2, 3, 0], shape: [1, 2, 1, 2], maxCount: 3)
        #expect(f.shape == [1, 2, 2])
        #expect(f.scalars == [1, 3, 2, 0])
        expectOneLineError(ConfigError.self, ["frames", "time step 0, channel 1, row 0, column 0", "0...3"], sourceLocation: #_sourceLocation) {
            try ImageInput.frames([1, 2, 3.5, 0], shape: [1, 2, 1, 2], maxCount: 3)
        }
    }

    @Test func errorsNameTheField() throws {
        let g = try GoldenNetwork(try tinyNetwork())
        expectOneLineError(GoldenError.self, ["image", "[1, 2, 2]"], sourceLocation: #_sourceLocation) {
            try g.run(image: Tensor(shape: [1, 3, 2], repeating: 0))
        }
        expectOneLineError(GoldenError.self, ["input", "not DVS frames"], sourceLocation: #_sourceLocation) {
            try g.run(frames: SpikeTensor(shape: [2, 4, 1], repeating: 0))
        }
        // |z| can reach N*T * 2^61 = 2^64: beyond int64.
        expectOneLineError(GoldenError.self, ["head", "int64"], sourceLocation: #_sourceLocation) {
            try GoldenNetwork(try tinyNetwork(headWeights: [[Int64(1) << 61, 0]], headBias: [0]))
        }
    }

    /// A random network of each embedding runs end to end; its head agrees with a naive sum over
    /// the final stream, the first embedding conv with the naive conv loop, and every QKFormer
    /// block section with the block golden model run alone.
    @Test(arguments: [
        #"{"embedding": "cifar", "dims": [8, 16], "heads": [2, 2], "depths": [1, 1], "image": [8, 6], "classes": 3, "timeSteps": 2}"#,
        #"{"embedding": "imagenet", "dims": [8, 16], "heads": [2, 4], "depths": [1, 0], "image": [16, 8], "classes": 4, "timeSteps": 2}"#,
        #"{"embedding": "dvs", "dims": [16, 8], "heads": [2, 2], "depths": [0, 1], "image": [16, 16], "classes": 5, "timeSteps": 2, "maxInputCount": 3}"#,
    ])
    func randomNetworkRunsEndToEnd(json: String) throws {
        let c = try smallConfig(json)
        let seed = try TestSeed.named("randomNetworkRunsEndToEnd \(c.embedding)")
        let d = try NetworkDescription.random(c, seed: seed)
        let g = try GoldenNetwork(d)
        var rng = SplitMix64(seed: seed ^ 0xA5A5)
        let r: NetworkTrace
        if c.embedding == .dvs {
            let values = (0..<(c.timeSteps * c.inChannels * c.image[0] * c.image[1])).map { _ in Double(Int.random(in: 0...3, using: &rng)) }
            r = try g.run(frames: ImageInput.frames(values, shape: [c.timeSteps, c.inChannels, c.image[0], c.image[1]], maxCount: 3))
        } else {
            r = try g.run(image: try randomImage(c, seed))
        }
        // Stream names and shapes follow the description.
        #expect(r.sections.map(\.name) == d.sections.map(\.name), "seed \(seed)")
        for (s, t) in zip(d.sections, r.sections) {
            #expect(t.trace.output.shape == [s.output.timeSteps, s.output.tokens, s.output.channels], "\(s.name), seed \(seed)")
        }
        // The head, naively.
        let last = r.sections.last!.trace.output
        let (T, N, C) = (last.shape[0], last.shape[1], last.shape[2])
        var sums = [Int64](repeating: 0, count: C)
        for t in 0..<T { for n in 0..<N { for ch in 0..<C { sums[ch] += Int64(last[t, n, ch]) } } }
        #expect(r.sums == sums, "seed \(seed)")
        #expect(sums.contains { $0 > 0 } && sums.contains { $0 < Int64(N * T * d.output.maxCount) }, "a degenerate final stream, seed \(seed)")
        for k in 0..<c.classes {
            var z = Int64(N * T) * d.head.bias[k]
            for ch in 0..<C { z += d.head.weights[k][ch] * sums[ch] }
            #expect(r.z[k] == z, "class \(k), seed \(seed)")
            #expect(r.logits[k] == Double(z) / Double(1 << d.head.fractionBits[k]) / Double(N * T), "class \(k), seed \(seed)")
        }
        #expect(r.z[r.predictedClass] == r.z.max(), "seed \(seed)")
        #expect(r.predictedClass == r.z.firstIndex(of: r.z.max()!), "seed \(seed)")
        // The first embedding conv against the naive loop.
        let embed = d.sections[0]
        if let input = r.stem?.output, case .fork(let main, _) = embed.body, case .conv(let conv) = main, let h = embed.input.height, let w = embed.input.width {
            let ref = naiveConv(conv, input, h: h, w: w)
            guard case .fork(let mt, _, _) = r.sections[0].trace else { Issue.record("not a fork trace"); return }
            let ow = ref.spikes[0][0][0].count
            for t in 0..<T { for o in 0..<conv.outChannels { for y in 0..<ref.spikes[0][0].count { for x in 0..<ow {
                #expect(mt.output[t, y * ow + x, o] == ref.spikes[t][o][y][x], "seed \(seed)")
            } } } }
        }
        // Block sections agree with the block golden model alone.
        var x = r.stem?.output
        for (s, t) in zip(d.sections, r.sections) {
            if let b = s.blockDescription(origin: "test"), let xin = x {
                #expect(try GoldenBlock(b).run(xin).output == t.trace.output, "\(s.name), seed \(seed)")
            }
            x = t.trace.output
        }
        #expect(r.firstMismatch(against: r.streams) == nil)
        // Runs are deterministic.
        let again = try GoldenNetwork(try NetworkDescription.random(c, seed: seed))
        if c.embedding != .dvs { #expect(try again.run(image: try randomImage(c, seed)).z == r.z, "seed \(seed)") }
    }
}

/// A random image in [-2, 2] on the 8-bit grid 2^-5, drawn from `seed`.
private func randomImage(_ c: NetworkConfig, _ seed: UInt64) throws -> Tensor<Int64> {
    var rng = SplitMix64(seed: seed ^ 0xA5A5)
    let values = (0..<(3 * c.image[0] * c.image[1])).map { _ in Double.random(in: -2...2, using: &rng) }
    return try ImageInput.quantize(values, shape: [3, c.image[0], c.image[1]], bits: 8, fractionBits: 5).pixels
}
