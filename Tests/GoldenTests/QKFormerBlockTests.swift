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

/// Expects a `GoldenError` whose one-line description contains every fragment (shared by the
/// block and bundle tests).
func expectGoldenError(_ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation,
                               _ body: () throws -> Any) {
    do {
        let v = try body()
        Issue.record("expected a GoldenError, got \(v)", sourceLocation: sourceLocation)
    } catch let e as GoldenError {
        #expect(!e.description.contains { $0.isNewline }, "not one line: \(e)", sourceLocation: sourceLocation)
        for f in fragments { #expect(e.description.contains(f), "\(e) lacks '\(f)'", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected a GoldenError, got \(error)", sourceLocation: sourceLocation)
    }
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
    let p = try QKFormerBlockParameters(attentionKind: .token, attention: try handAttention(), mlp: try handMLP(), maxInputCount: 2)
    let x = try SpikeTensor([[[2, 0]], [[0, 1]]])
    let trace = try QKFormerBlock.run(p, input: x)
    #expect(trace.attention.output.nested3 == [[[1, 0]], [[0, 1]]])
    #expect(trace.x1.nested3 == [[[3, 0]], [[0, 2]]])
    #expect(trace.mlp.fc1.hidden.nested3 == [[[1, -1]], [[2, 3]]])
    #expect(trace.mlp.output.nested3 == [[[0, 0]], [[1, 1]]])
    #expect(trace.output.nested3 == [[[3, 0]], [[1, 3]]])
    // The same block with channel attention: with one token, the column sum over N = 1 tokens
    // is the channel's own Q spike, so the mask is Q per channel: t0 [1, 0], t1 [0, 1];
    // X' = mask AND K = K here too, and the outputs are the same.
    let pc = try QKFormerBlockParameters(attentionKind: .channel, attention: try handAttention(), mlp: try handMLP(), maxInputCount: 2)
    let tc = try QKFormerBlock.run(pc, input: x)
    #expect(tc.attention.kind == .channel)
    #expect(tc.attention.attentionMask.scalars == [1, 0, 0, 1])
    #expect(tc.output == trace.output)
}

@Test func blockRangeErrors() throws {
    let p = try QKFormerBlockParameters(attentionKind: .token, attention: try handAttention(), mlp: try handMLP(), maxInputCount: 2)
    // A count above maxInputCount is rejected, naming where it is.
    expectGoldenError("input", "count 3", "time step 1, token 0, channel 1", "exceeds maxInputCount 2") {
        try QKFormerBlock.run(p, input: try SpikeTensor([[[2, 0]], [[0, 3]]]))
    }
    expectGoldenError("input", "has 3 time steps") { try QKFormerBlock.run(p, input: try SpikeTensor([[[0, 0]], [[0, 0]], [[0, 0]]])) }
    expectGoldenError("input", "has 3 channels") { try QKFormerBlock.run(p, input: try SpikeTensor([[[0, 0, 0]], [[0, 0, 0]]])) }
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
    expectGoldenError("mlp.timeSteps", "T = 2") {
        let m = try handMLP()
        return try QKFormerBlockParameters(attentionKind: .token, attention: try handAttention(),
                                           mlp: try MLPParameters(dim: 2, hidden: 2, timeSteps: 3, fc1: m.fc1, fc2: m.fc2), maxInputCount: 2)
    }
    expectGoldenError("maxInputCount", "0...253") {
        try QKFormerBlockParameters(attentionKind: .token, attention: try handAttention(), mlp: try handMLP(), maxInputCount: 254)
    }
    // fc1 sized for x1 (maxInputCount + 1 = 3): a weight of 2^62 times a count of 3 leaves 64
    // bits, which the range analysis reports when the block is built, not while it runs.
    let huge = try SpikingLinearLayer(linear: try LinearLayer(weights: [[Int64(1) << 62, 0], [0, 1]]), neuron: n)
    expectGoldenError("mlp.fc1.weights[0]", "64 bits") {
        try QKFormerBlockParameters(attentionKind: .token, attention: try handAttention(),
                                    mlp: try MLPParameters(dim: 2, hidden: 2, timeSteps: 2, fc1: huge, fc2: try handMLP().fc2),
                                    maxInputCount: 2)
    }
}

@Test func randomBlocksStayInTheirRanges() throws {
    // Random small blocks and inputs up to maxInputCount: the run never throws (x1 and x2 stay
    // within maxInputCount + 1 and + 2 by construction), every self-checking LIF bank holds,
    // and x2 - x1 and x1 - x are 0/1 spikes.
    var rng = SplitMix64(seed: try testSeed("randomBlocksStayInTheirRanges"))
    for _ in 0..<20 {
        let c = Int(rng.next() % 5) + 1, t = Int(rng.next() % 4) + 1, n = Int(rng.next() % 4) + 1, hidden = Int(rng.next() % 6) + 1
        let maxIn = Int(rng.next() % 5)
        func layer(_ o: Int, _ i: Int) throws -> SpikingLinearLayer {
            let w = (0..<o).map { _ in (0..<i).map { _ in Int64(rng.next() % 17) - 8 } }
            let b = (0..<o).map { _ in Int64(rng.next() % 9) - 4 }
            return try SpikingLinearLayer(linear: try LinearLayer(weights: w, bias: b),
                                          neuron: .qkformer(weightFractionBits: 2, extraFractionBits: t))
        }
        let attn = try AttentionBlockParameters(dim: c, heads: 1, timeSteps: t, q: try layer(c, c), k: try layer(c, c), proj: try layer(c, c),
                                                attention: .attention(fractionBits: t))
        let mlp = try MLPParameters(dim: c, hidden: hidden, timeSteps: t, fc1: try layer(hidden, c), fc2: try layer(c, hidden))
        let kind: AttentionKind = rng.next() % 2 == 0 ? .token : .channel
        let p = try QKFormerBlockParameters(attentionKind: kind, attention: attn, mlp: mlp, maxInputCount: maxIn)
        let x = try SpikeTensor(shape: [t, n, c], scalars: (0..<(t * n * c)).map { _ in UInt8(rng.next() % UInt64(maxIn + 1)) })
        let trace = try QKFormerBlock.run(p, input: x)
        for i in x.scalars.indices {
            #expect(trace.x1.scalars[i] - x.scalars[i] == trace.attention.output.scalars[i])
            #expect(trace.output.scalars[i] - trace.x1.scalars[i] == trace.mlp.output.scalars[i])
            #expect(Int(trace.output.scalars[i]) <= maxIn + 2)
        }
    }
}
