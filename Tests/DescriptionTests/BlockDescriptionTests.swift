import Foundation
import Testing
@testable import Description

/// The description of a block: connections are checked when they are made, random weights
/// follow the seed and the grid, and bias calibration moves a measured rate to its target.
@Suite struct BlockDescriptionTests {
    static func config(_ json: String) throws -> BlockConfig { try BlockConfig.parse(json: Data(json.utf8)) }

    static func layer(_ name: String, _ outs: Int, _ ins: Int, bias: Int64 = 0) throws -> SpikingLayer {
        try SpikingLayer(name: name, weights: Array(repeating: Array(repeating: 1, count: ins), count: outs),
                         bias: Array(repeating: bias, count: outs), fractionBits: Array(repeating: 3, count: outs), decayFractionBits: 2)
    }

    @Test func aResidualAddsTheBranchCountsToItsInput() throws {
        let c = try Self.config(#"{"block": "qkformer-block", "dim": 4, "heads": 2, "tokens": 3, "timeSteps": 2}"#)
        let att = Part.attention(mask: .token, heads: 2, q: try Self.layer("q", 4, 4), k: try Self.layer("k", 4, 4), proj: try Self.layer("proj", 4, 4))
        let mlp = Part.mlp(fc1: try Self.layer("fc1", 8, 4), fc2: try Self.layer("fc2", 4, 8))
        let d = try BlockDescription(config: c, input: StreamFormat(channels: 4, tokens: 3, timeSteps: 2, maxCount: 2),
                                     body: .chain([.residual(att), .residual(mlp)]), origin: "test")
        // x: 0...2; x1 = x + spikes: 0...3; x2 = x1 + spikes: 0...4 (docs/arithmetic.md §5).
        #expect(d.output == StreamFormat(channels: 4, tokens: 3, timeSteps: 2, maxCount: 4))
        #expect(d.output.countWidth == 3)
        #expect(d.body.layers.map(\.name) == ["q", "k", "proj", "fc1", "fc2"])
    }

    @Test func connectingStreamsOfDifferentWidthsNamesBothEnds() throws {
        let c = try Self.config(#"{"block": "mlp", "dim": 4, "heads": 1, "tokens": 3, "timeSteps": 2}"#)
        let input = StreamFormat(channels: 4, tokens: 3, timeSteps: 2, maxCount: 1)
        // fc1 reads 5 channels from a 4-channel stream.
        #expect {
            try BlockDescription(config: c, input: input, body: .mlp(fc1: try Self.layer("fc1", 8, 5), fc2: try Self.layer("fc2", 4, 8)), origin: "t")
        } throws: { e in
            let text = "\(e)"
            return text.contains("block.fc1") && text.contains("reads 5 channels") && text.contains("input stream has 4")
        }
        // fc2 reads 7 of fc1's 8 outputs.
        #expect {
            try BlockDescription(config: c, input: input, body: .mlp(fc1: try Self.layer("fc1", 8, 4), fc2: try Self.layer("fc2", 4, 7)), origin: "t")
        } throws: { e in "\(e)".contains("reads 7 channels but fc1 writes 8") }
        // A residual branch that changes the channel count cannot be added to its input.
        #expect {
            try BlockDescription(config: c, input: input, body: .residual(.mlp(fc1: try Self.layer("fc1", 8, 4), fc2: try Self.layer("fc2", 6, 8))), origin: "t")
        } throws: { e in "\(e)".contains("keeps the stream's shape") && "\(e)".contains("C = 6") && "\(e)".contains("C = 4") }
    }

    @Test func randomWeightsFollowTheSeedAndTheGrid() throws {
        let c = try Self.config(#"{"block": "qkformer-block", "dim": 6, "heads": 2, "tokens": 4, "timeSteps": 3, "mlpRatio": 2, "quantization": {"weightBits": 5}}"#)
        let a = try BlockDescription.random(c, seed: 9), b = try BlockDescription.random(c, seed: 9), other = try BlockDescription.random(c, seed: 10)
        #expect(a == b)
        #expect(a.body != other.body)
        // 5-bit weights on 2^-4: integers in -16...15; biases in -0.25...1.25 -> -4...20; E = T = 3.
        for l in a.body.layers {
            #expect(l.weights.joined().allSatisfy { (-16...15).contains($0) })
            #expect(l.bias.allSatisfy { (-4...20).contains($0) })
            #expect(l.fractionBits.allSatisfy { $0 == 4 } && l.decayFractionBits == 3)
        }
        #expect(a.input.maxCount == 2, "block 0 of a stage reads counts up to 2 + 2*0")
        #expect(a.body.layers.map(\.outputs) == [6, 6, 6, 12, 6])
    }

    @Test func theLastStageOfANamedModelIsSSA() throws {
        let c = try BlockConfig.named("hst-4-384", stage: 3)
        #expect(c.block == .ssa && c.attention == .ssa)
        let d = try BlockDescription.random(c, seed: 1)
        guard case .selfAttention(let heads, _, _, _, _) = d.body else { Issue.record("stage 3 is \(d.body.name), not SSA"); return }
        #expect(heads == 8)
        #expect(d.body.layers.map(\.name) == ["q", "k", "v", "proj"])
        #expect(d.body.layers.allSatisfy { $0.inputs == 384 && $0.outputs == 384 })
        #expect(d.output == StreamFormat(channels: 384, tokens: 64, timeSteps: 4, maxCount: 1))
        // hst-2-256 has two stages; its second is the SSA one, and a QKFormer block there holds SSA.
        let b = try BlockConfig.named("hst-2-256", stage: 2, block: .qkformerBlock)
        guard case .chain(let parts) = try BlockDescription.random(b, seed: 1).body, case .residual(.selfAttention) = parts.first else {
            Issue.record("the stage-2 block of hst-2-256 does not start with an SSA residual"); return
        }
        #expect(try BlockConfig.named("hst-2-256", stage: 1).attention == .token)
    }

    @Test func attentionFieldNamesItsChoices() throws {
        #expect(try Self.config(#"{"block": "qkformer-block", "dim": 8, "heads": 2, "tokens": 4, "timeSteps": 2, "attention": "ssa"}"#).attention == .ssa)
        #expect { try Self.config(#"{"dim": 8, "heads": 2, "tokens": 4, "timeSteps": 2, "attention": "sdsa"}"#) } throws: { e in
            "\(e)".contains("attention") && "\(e)".contains("\"ssa\"")
        }
    }

    @Test func calibrationMovesTheMeasuredRateToItsTarget() throws {
        let c = try Self.config(#"{"block": "mlp", "dim": 4, "heads": 1, "tokens": 3, "timeSteps": 2}"#)
        let d = try BlockDescription.random(c, seed: 3)
        // A stand-in rate that grows with fc1's first bias: the bisection must land on the
        // smallest shift whose rate reaches the target, or the one below if that is closer.
        let start = d.body.layers[0].bias[0]
        let got = try d.calibratingBiases(to: [0.5]) { dd, layer in
            #expect(layer == 0)
            let shift = Double(dd.body.layers[0].bias[0] - start)
            return min(1, max(0, 0.25 + shift / 100))
        }
        #expect(got.body.layers[0].bias[0] - start == 25)
        #expect(got.body.layers[1] == d.body.layers[1], "only the calibrated layer moves")
        #expect(zip(got.body.layers[0].bias, d.body.layers[0].bias).allSatisfy { $0 - $1 == 25 }, "one constant for the whole layer")
    }

    @Test func randomSamplesFollowTheSeedAndTheCountRange() {
        let f = StreamFormat(channels: 5, tokens: 4, timeSteps: 3, maxCount: 3)
        let a = f.randomSamples(rate: 0.5, count: 2, seed: 4), b = f.randomSamples(rate: 0.5, count: 2, seed: 4)
        #expect(a == b && a[0] != a[1])
        #expect(a.allSatisfy { $0.shape == [3, 4, 5] && $0.scalars.allSatisfy { $0 <= 3 } })
        #expect(a.contains { $0.scalars.contains(3) } && a.contains { $0.scalars.contains(0) })
    }
}
