import Description
import Foundation
import Testing
@testable import Golden

/// The MLP, the SEW residual add and the whole block, worked out by hand (docs/arithmetic.md §1, 3.3, 3.5,
/// 4.2). Every LIF here: k = 1, hard reset to 0, decayInput, E = 0, so one step is
/// `H = V + ((I - V) >>> 1)`, spike iff `H >= th`, then `V = spike ? 0 : H`.

/// C = 2, hidden = 2, T = 2. fc1: W1 = [[1, 2], [-1, 3]], b1 = [0, 1]; fc2: W2 = [[4, 0], [2, 2]],
/// b2 = [0, 1]; every threshold 2.
private func handMLP() throws -> MLPParameters {
    let n = LIFParameters(k: 1, threshold: 2)
    return try MLPParameters(
        dim: 2, hidden: 2, timeSteps: 2,
        fc1: SpikingLinearLayer(linear: LinearLayer(weights: [[1, 2], [-1, 3]], bias: [0, 1]), neuron: n),
        fc2: SpikingLinearLayer(linear: LinearLayer(weights: [[4, 0], [2, 2]], bias: [0, 1]), neuron: n))
}

/// QKTA, C = 2, one head, T = 2: W_q = W_k = W_p = 4 I, no bias, threshold 2; attn_lif F = 1.
private func handAttention() throws -> AttentionBlockParameters {
    let n = LIFParameters(k: 1, threshold: 2)
    let eye4 = try LinearLayer(weights: [[4, 0], [0, 4]])
    let layer = try SpikingLinearLayer(linear: eye4, neuron: n)
    return try AttentionBlockParameters(dim: 2, heads: 1, timeSteps: 2, q: layer, k: layer, proj: layer)
}

/// Expects an error of type `E` whose one-line description contains every fragment.
func expectOneLineError<E: Error & CustomStringConvertible>(_ type: E.Type, _ fragments: [String], sourceLocation: SourceLocation,
                                                            _ body: () throws -> Any) {
    do {
        let v = try body()
        Issue.record("expected a \(E.self), got \(v)", sourceLocation: sourceLocation)
    } catch let e as E {
        #expect(!e.description.contains { $0.isNewline }, "not one line: \(e)", sourceLocation: sourceLocation)
        for f in fragments { #expect(e.description.contains(f), "\(e) lacks '\(f)'", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected a \(E.self), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects a `GoldenError` (parameters or an input the golden model refuses).
func expectGoldenError(_ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any) {
    expectOneLineError(GoldenError.self, fragments, sourceLocation: sourceLocation, body)
}

/// Expects a `ConfigError` (a config, description or bundle the importer refuses).
func expectConfigError(_ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any) {
    expectOneLineError(ConfigError.self, fragments, sourceLocation: sourceLocation, body)
}

@Test func mlpByHand() throws {
    // One token. x: t0 = [2, 1], t1 = [0, 3] (counts: each adds its weight row count times).
    // fc1, t0: h0 = 2*1 + 1*2 + 0 = 4 -> H = 4 >>> 1 = 2 >= 2 spike, V 0.
    //          h1 = 2*(-1) + 1*3 + 1 = 2 -> H = 1, V 1.                         fc1 = [1, 0]
    // fc2, t0: o0 = 4 + 0 = 4 -> H = 2 spike.  o1 = 2 + 0 + 1 = 3 -> H = 1, V 1.  out = [1, 0]
    // fc1, t1: h0 = 3*2 = 6 -> H = 0 + (6 >>> 1) = 3 spike.
    //          h1 = 3*3 + 1 = 10 -> H = 1 + ((10 - 1) >>> 1) = 1 + 4 = 5 spike.  fc1 = [1, 1]
    // fc2, t1: o0 = 4 -> H = 2 spike.  o1 = 2 + 2 + 1 = 5 -> H = 1 + ((5 - 1) >>> 1) = 3 spike.
    //                                                                            out = [1, 1]
    let x = try SpikeTensor([[[2, 1]], [[0, 3]]])
    let trace = try MLP.run(try handMLP(), input: x)
    #expect(trace.fc1.currents.nested3 == [[[4, 2]], [[6, 10]]])
    #expect(trace.fc1.hidden.nested3 == [[[2, 1]], [[3, 5]]])
    #expect(trace.fc1.spikes.nested3 == [[[1, 0]], [[1, 1]]])
    #expect(trace.fc2.currents.nested3 == [[[4, 3]], [[4, 5]]])
    #expect(trace.fc2.hidden.nested3 == [[[2, 1]], [[2, 3]]])
    #expect(trace.output.nested3 == [[[1, 0]], [[1, 1]]])
    #expect(trace.output == trace.fc2.spikes)
    // Work: fc1 sees events (0,1) at t0 and (1) at t1: 3 events, 3 * 2 adds, counts 2+1+3 = 6.
    // fc2 sees fc1's spikes: 1 + 2 = 3 events, 6 adds, count sum 3.
    #expect(trace.fc1.ops == SynapticOps(events: 3, adds: 6, countSum: 6))
    #expect(trace.fc2.ops == SynapticOps(events: 3, adds: 6, countSum: 3))
}

@Test func mlpTokensAreIndependent() throws {
    // Every token's LIFs start at V = 0. Token 0: t0 [2, 1] as in mlpByHand (fc1 [1, 0], h1
    // V 1; out [1, 0], o1 V 1), then t1 [0, 0]: h1 = 1 -> H = 1 + ((1 - 1) >>> 1) = 1, V 1;
    // fc1 [0, 0]; o1 = 1 -> H = 1, V 1; out [0, 0]. Token 0 ends with o1 at V = 1.
    // Token 1 repeats mlpByHand's input and must repeat its output [1, 0], [1, 1]; a membrane
    // carried over from token 0 would make o1 fire at t0 (H = 1 + ((3 - 1) >>> 1) = 2).
    let x = try SpikeTensor([[[2, 1], [2, 1]], [[0, 0], [0, 3]]])
    let trace = try MLP.run(try handMLP(), input: x)
    #expect(trace.fc2.membranes[1, 0, 1] == 1)
    #expect(trace.output.nested3 == [[[1, 0], [1, 0]], [[0, 0], [1, 1]]])
}

@Test func residualAddByHand() throws {
    // [[1, 2], [0, 3]] + [[1, 0], [1, 1]] = [[2, 2], [1, 4]]: integers, no saturation.
    let a = try SpikeTensor([[[1, 2], [0, 3]]]), b = try SpikeTensor([[[1, 0], [1, 1]]])
    #expect(try SEWResidual.add(a, b, maxCount: 4).nested3 == [[[2, 2], [1, 4]]])
    // 3 + 1 = 4 at [0, 1, 1] exceeds 3: an error, never a wrap (4 would read as 0 in 2 bits).
    expectGoldenError("3 + 1 = 4", "[0, 1, 1]", "exceeds maxCount 3") { try SEWResidual.add(a, b, maxCount: 3) }
    expectGoldenError("shapes [1, 2, 2] and [1, 1, 2]") { try SEWResidual.add(a, try SpikeTensor([[[1, 1]]]), maxCount: 9) }
    expectGoldenError("maxCount must be in 0...255") { try SEWResidual.add(a, b, maxCount: 256) }
}

/// The block of `blockByHand` as a description: the hand attention and MLP on the weight grid
/// `2^-1` with `E = 0`, so that every threshold is 2 (QKFormer's LIF: `1 << (Fw + E)`).
private func handBlock(_ mask: AttentionMask, maxInputCount: Int = 2, fc1Weights: [[Int64]] = [[1, 2], [-1, 3]]) throws -> GoldenBlock {
    func layer(_ name: String, _ w: [[Int64]], _ b: [Int64]) throws -> SpikingLayer {
        try SpikingLayer(name: name, weights: w, bias: b, fractionBits: Array(repeating: 1, count: w.count), decayFractionBits: 0)
    }
    let eye = [[Int64(4), 0], [0, 4]]
    let body = Part.chain([
        .residual(.attention(mask: mask, heads: 1, q: try layer("q", eye, [0, 0]), k: try layer("k", eye, [0, 0]), proj: try layer("proj", eye, [0, 0]))),
        .residual(.mlp(fc1: try layer("fc1", fc1Weights, [0, 1]), fc2: try layer("fc2", [[4, 0], [2, 2]], [0, 1]))),
    ])
    let config = try BlockConfig.parse(json: Data(#"{"block": "qkformer-block", "dim": 2, "heads": 1, "tokens": 1, "timeSteps": 2}"#.utf8))
    return try GoldenBlock(try BlockDescription(config: config, input: StreamFormat(channels: 2, tokens: 1, timeSteps: 2, maxCount: maxInputCount),
                                                body: body, origin: "by hand"))
}

/// The parts of a QKFormer block's trace: Attn(x), x1, MLP(x1), x2.
private func blockParts(_ t: PartTrace) -> (attention: AttentionTrace, x1: SpikeTensor, mlp: MLPTrace, output: SpikeTensor)? {
    guard case .chain(let parts) = t, parts.count == 2,
          case .residual(.attention(let a), let x1) = parts[0], case .residual(.mlp(let m), let x2) = parts[1] else { return nil }
    return (a, x1, m, x2)
}

@Test func blockByHand() throws {
    // x: t0 = [2, 0], t1 = [0, 1]; maxInputCount 2.
    // Attention. Q currents 4x: t0 [8, 0] -> q0 H = 4 spike; q1 H = 0.    Q t0 = [1, 0]
    //                           t1 [0, 4] -> q0 H = 0; q1 H = 2 spike.    Q t1 = [0, 1]
    //   K = Q (same weights). One head: sums 1, 1 -> attn_lif (I' = 2, H = 1 >= 1) fires both.
    //   X' = K. proj currents 4 X': t0 [4, 0] -> [1, 0]; t1 [0, 4] -> p0 H = 0, p1 spike: [0, 1].
    // x1 = x + Attn(x): t0 [3, 0], t1 [0, 2].
    // MLP on x1 (handMLP):
    //   t0: h0 = 3*1 = 3 -> H = 1, V 1.  h1 = 3*(-1) + 1 = -2 -> H = -2 >>> 1 = -1, V -1.  fc1 [0, 0]
    //       o0 = 0 -> H 0.  o1 = 1 -> H = 1 >>> 1 = 0.                                   out [0, 0]
    //   t1: h0 = 2*2 = 4 -> H = 1 + ((4 - 1) >>> 1) = 2 spike.
    //       h1 = 2*3 + 1 = 7 -> H = -1 + ((7 + 1) >>> 1) = 3 spike.                        fc1 [1, 1]
    //       o0 = 4 -> H = 2 spike.  o1 = 5 -> H = 0 + (5 >>> 1) = 2 spike.                 out [1, 1]
    // x2 = x1 + MLP(x1): t0 [3, 0], t1 [1, 3].
    let x = try SpikeTensor([[[2, 0]], [[0, 1]]])
    let run = try handBlock(.token).run(x)
    let trace = try #require(blockParts(run))
    #expect(trace.attention.output.nested3 == [[[1, 0]], [[0, 1]]])
    #expect(trace.x1.nested3 == [[[3, 0]], [[0, 2]]])
    #expect(trace.mlp.fc1.hidden.nested3 == [[[1, -1]], [[2, 3]]])
    #expect(trace.mlp.output.nested3 == [[[0, 0]], [[1, 1]]])
    #expect(trace.output.nested3 == [[[3, 0]], [[1, 3]]])
    #expect(run.output == trace.output)
    // The same block with channel attention: with one token, the column sum over N = 1 tokens
    // is the channel's own Q spike, so the mask is Q per channel: t0 [1, 0], t1 [0, 1];
    // X' = mask AND K = K here too, and the outputs are the same.
    let tc = try #require(blockParts(try handBlock(.channel).run(x)))
    #expect(tc.attention.kind == .channel)
    #expect(tc.attention.attentionMask.scalars == [1, 0, 0, 1])
    #expect(tc.output == trace.output)
}

@Test func blockRangeErrors() throws {
    let p = try handBlock(.token)
    // A count above the block's largest input count is rejected, naming where it is.
    expectGoldenError("input", "count 3", "time step 1, token 0, channel 1", "exceeds the block's largest input count 2") {
        try p.run(try SpikeTensor([[[2, 0]], [[0, 3]]]))
    }
    expectGoldenError("input", "has shape [3, 1, 2]") { try p.run(try SpikeTensor([[[0, 0]], [[0, 0]], [[0, 0]]])) }
    expectGoldenError("input", "has shape [2, 1, 3]") { try p.run(try SpikeTensor([[[0, 0, 0]], [[0, 0, 0]]])) }
    // The MLP alone, sized for counts up to 1, rejects a 2.
    expectGoldenError("count 2", "exceeds maxCount 1") { try MLP.run(try handMLP(), input: try SpikeTensor([[[2, 0]], [[0, 0]]]), maxCount: 1) }
    // Parameters that do not fit together.
    let n = LIFParameters(k: 1, threshold: 2)
    expectGoldenError("fc1.weights", "expected 2x2") {
        try MLPParameters(dim: 2, hidden: 2, timeSteps: 2,
                          fc1: try SpikingLinearLayer(linear: try LinearLayer(weights: [[1, 2, 3], [1, 2, 3]]), neuron: n),
                          fc2: try handMLP().fc2)
    }
    expectGoldenError("fc2.weights", "expected 2x3") {
        try MLPParameters(dim: 2, hidden: 3, timeSteps: 2,
                          fc1: try SpikingLinearLayer(linear: try LinearLayer(weights: [[1, 2], [1, 2], [1, 2]]), neuron: n),
                          fc2: try handMLP().fc2)
    }
    // x2 reaches maxInputCount + 2, beyond uint8 for 254.
    expectGoldenError("residual", "beyond uint8") { try handBlock(.token, maxInputCount: 254) }
    // fc1 sized for x1 (maxInputCount + 1 = 3): a weight of 2^62 times a count of 3 leaves 64
    // bits, which the range analysis reports when the block is built, not while it runs.
    expectGoldenError("fc1.weights[0]", "64 bits") { try handBlock(.token, fc1Weights: [[Int64(1) << 62, 0], [0, 1]]) }
}

@Test func randomBlocksStayInTheirRanges() throws {
    // Random small blocks and inputs up to their largest input count: the run never throws (x1
    // and x2 stay within maxInputCount + 1 and + 2 by construction), every self-checking LIF
    // bank holds, and x2 - x1 and x1 - x are 0/1 spikes.
    var rng = SplitMix64(seed: try TestSeed.named("randomBlocksStayInTheirRanges"))
    for _ in 0..<20 {
        let c = Int(rng.next() % 5) + 1, t = Int(rng.next() % 4) + 1, n = Int(rng.next() % 4) + 1, hidden = Int(rng.next() % 6) + 1
        let maxIn = Int(rng.next() % 5)
        func layer(_ name: String, _ o: Int, _ i: Int) throws -> SpikingLayer {
            let w = (0..<o).map { _ in (0..<i).map { _ in Int64(rng.next() % 17) - 8 } }
            let b = (0..<o).map { _ in Int64(rng.next() % 9) - 4 }
            return try SpikingLayer(name: name, weights: w, bias: b, fractionBits: Array(repeating: 2, count: o), decayFractionBits: t)
        }
        let mask: AttentionMask = rng.next() % 2 == 0 ? .token : .channel
        let body = Part.chain([
            .residual(.attention(mask: mask, heads: 1, q: try layer("q", c, c), k: try layer("k", c, c), proj: try layer("proj", c, c))),
            .residual(.mlp(fc1: try layer("fc1", hidden, c), fc2: try layer("fc2", c, hidden))),
        ])
        let config = try BlockConfig.parse(json: Data(#"{"block": "qkformer-block", "dim": \#(c), "heads": 1, "tokens": \#(n), "timeSteps": \#(t)}"#.utf8))
        let g = try GoldenBlock(try BlockDescription(config: config, input: StreamFormat(channels: c, tokens: n, timeSteps: t, maxCount: maxIn),
                                                     body: body, origin: "random"))
        let x = try SpikeTensor(shape: [t, n, c], scalars: (0..<(t * n * c)).map { _ in UInt8(rng.next() % UInt64(maxIn + 1)) })
        let trace = try #require(blockParts(try g.run(x)))
        for i in x.scalars.indices {
            #expect(trace.x1.scalars[i] - x.scalars[i] == trace.attention.output.scalars[i])
            #expect(trace.output.scalars[i] - trace.x1.scalars[i] == trace.mlp.output.scalars[i])
            #expect(Int(trace.output.scalars[i]) <= maxIn + 2)
        }
    }
}
