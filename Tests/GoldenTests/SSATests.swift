import Description
import Foundation
import Testing
@testable import Golden

/// SSA (SPEC §4.2, docs/arithmetic.md §6) worked out by hand from the spec, never from the code.
///
/// C = 3, one head (d = 3), N = 3 tokens, T = 2, E = T = 2. Every layer's weights are on the grid
/// 2^0, so a LIF's threshold 1.0 is 1 << (0 + 2) = 4 and its current enters as I << 2.
/// - Q = LIF(2 x), K = LIF(2 x): a spike gives I << 2 = 8, H = 0 + (8 - 0) >>> 1 = 4 >= 4, fire,
///   V = 0; no spike gives H = 0. So Q = K = x, with no charge kept.
/// - V = LIF(2 P x) with P the cyclic shift: V[n][j] = x[n][(j + 1) % 3] (likewise no charge).
/// - proj = LIF(2 A): out = A.
/// The attention neuron: `U` the membrane in units of 1/8, fires iff U + c >= 8, then U = 0, else
/// U = (U + c) / 2. Its integer membrane is U * 2^E_a on the grid 2^-(3 + E_a), E_a = T = 2.
private func handSSA() throws -> BlockDescription {
    func layer(_ name: String, _ w: [[Int64]]) throws -> SpikingLayer {
        try SpikingLayer(name: name, weights: w, bias: [0, 0, 0], fractionBits: [0, 0, 0], decayFractionBits: 2)
    }
    let eye2: [[Int64]] = [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    let shift2: [[Int64]] = [[0, 2, 0], [0, 0, 2], [2, 0, 0]]   // row j reads x[(j + 1) % 3]
    let body = Part.selfAttention(heads: 1, q: try layer("q", eye2), k: try layer("k", eye2), v: try layer("v", shift2),
                                  proj: try layer("proj", eye2))
    let config = try BlockConfig.parse(json: Data(#"{"block": "ssa", "dim": 3, "heads": 1, "tokens": 3, "timeSteps": 2}"#.utf8))
    return try BlockDescription(config: config, input: StreamFormat(channels: 3, tokens: 3, timeSteps: 2, maxCount: 1),
                                body: body, origin: "by hand")
}

@Test func ssaByHand() throws {
    // x[t][n][c]:
    //   t0: n0 [1, 1, 1], n1 [1, 1, 0], n2 [0, 1, 1]
    //   t1: n0 [1, 1, 1], n1 [1, 1, 1], n2 [0, 0, 0]
    let x = try SpikeTensor(shape: [2, 3, 3], scalars: [1, 1, 1, 1, 1, 0, 0, 1, 1,
                                                    1, 1, 1, 1, 1, 1, 0, 0, 0])
    let trace = try GoldenBlock(try handSSA()).run(x)
    guard case .selfAttention(let t) = trace else {
        Issue.record("an SSA block traces as .selfAttention, got \(trace)")
        return
    }
    // t0: K = x; V = shifted x: n0 [1, 1, 1], n1 [x1, x2, x0] = [1, 0, 1], n2 [1, 1, 0].
    //   S[i][j] = sum_n K[n][i] V[n][j]:
    //     n0 adds [1, 1, 1] to rows 0, 1, 2; n1 adds [1, 0, 1] to rows 0, 1; n2 adds [1, 1, 0] to rows 1, 2.
    //     S = [[2, 1, 2], [3, 2, 2], [2, 2, 1]]
    //   c[n] = sum of the rows of S that Q[n] selects:
    //     n0 (rows 0, 1, 2) = [7, 5, 5]; n1 (rows 0, 1) = [5, 3, 4]; n2 (rows 1, 2) = [5, 4, 3].
    //   U = 0, and every c < 8: nothing fires; U = c / 2:
    //     n0 [3.5, 2.5, 2.5], n1 [2.5, 1.5, 2], n2 [2.5, 2, 1.5]  -> integers U * 4:
    //     n0 [14, 10, 10], n1 [10, 6, 8], n2 [10, 8, 6].
    // t1: K = V = Q = [1, 1, 1] for n0 and n1, zero for n2: S = 2 everywhere, c = 6 for n0 and
    //   n1, 0 for n2. U + c: n0 [9.5, 8.5, 8.5] all fire; n1 [8.5, 7.5, 8] fire, keep, fire
    //   (8 >= 8 fires); n2 [2.5, 2, 1.5] keep. A fresh neuron with c = 6 would not fire: the
    //   charge carried from t0 decides. Membranes: n0 [0, 0, 0]; n1 [0, (1.5 + 6) / 2 = 3.75
    //   -> 15, 0]; n2 U / 2 = [1.25, 1, 0.75] -> [5, 4, 3].
    #expect(t.q.spikes.scalars == x.scalars)
    #expect(t.k.spikes.scalars == x.scalars)
    #expect(t.v.spikes.scalars == [1, 1, 1, 1, 0, 1, 1, 1, 0,
                                   1, 1, 1, 1, 1, 1, 0, 0, 0])
    #expect(t.kv.shape == [2, 1, 3, 3])
    #expect(t.kv.scalars == [2, 1, 2, 3, 2, 2, 2, 2, 1,
                             2, 2, 2, 2, 2, 2, 2, 2, 2])
    #expect(t.attention.currents.scalars == [7, 5, 5, 5, 3, 4, 5, 4, 3,
                                             6, 6, 6, 6, 6, 6, 0, 0, 0])
    #expect(t.attention.membranes.scalars == [14, 10, 10, 10, 6, 8, 10, 8, 6,
                                              0, 0, 0, 0, 15, 0, 5, 4, 3])
    let a: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0,
                      1, 1, 1, 1, 0, 1, 0, 0, 0]
    #expect(t.attention.spikes.scalars == a)
    #expect(t.output.scalars == a)             // proj = LIF(2 A) = A
    #expect(trace.output.scalars == a)
    #expect(trace.layers.count == 4)            // q, k, v, proj, as Part.layers
    #expect(trace.streams.map(\.name) == ["ssa"])
}

@Test func ssaTwoHeadsKeepTheirOwnS() throws {
    // C = 4, two heads (d = 2): channels 0, 1 are head 0, channels 2, 3 head 1. Q = K = V = x
    // (weights 2, as above), N = 3, T = 1.
    //   x: n0 [1, 1, 0, 1], n1 [1, 0, 1, 1], n2 [1, 1, 1, 1]
    //   head 0 lanes (x0, x1): n0 [1, 1], n1 [1, 0], n2 [1, 1]
    //     S0[i][j] = sum_n x[n][i] x[n][j] = [[3, 2], [2, 2]]
    //     c: n0 rows 0 + 1 = [5, 4]; n1 row 0 = [3, 2]; n2 [5, 4]
    //   head 1 lanes (x2, x3): n0 [0, 1], n1 [1, 1], n2 [1, 1]
    //     S1 = [[2, 2], [2, 3]]; c: n0 row 1 = [2, 3]; n1 [4, 5]; n2 [4, 5]
    //   c < 8 everywhere (d N = 6): nothing fires at T = 1.
    func layer(_ name: String) throws -> SpikingLayer {
        try SpikingLayer(name: name, weights: (0..<4).map { o in (0..<4).map { $0 == o ? 2 : 0 } }, bias: [0, 0, 0, 0],
                         fractionBits: [0, 0, 0, 0], decayFractionBits: 1)
    }
    let config = try BlockConfig.parse(json: Data(#"{"block": "ssa", "dim": 4, "heads": 2, "tokens": 3, "timeSteps": 1}"#.utf8))
    let d = try BlockDescription(config: config, input: StreamFormat(channels: 4, tokens: 3, timeSteps: 1, maxCount: 1),
                                 body: .selfAttention(heads: 2, q: layer("q"), k: layer("k"), v: layer("v"), proj: layer("proj")),
                                 origin: "by hand")
    let x = try SpikeTensor(shape: [1, 3, 4], scalars: [1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1])
    guard case .selfAttention(let t) = try GoldenBlock(d).run(x) else { Issue.record("not SSA"); return }
    #expect(t.kv.scalars == [3, 2, 2, 2, 2, 2, 2, 3])
    #expect(t.attention.currents.scalars == [5, 4, 2, 3, 3, 2, 4, 5, 5, 4, 4, 5])
    #expect(t.output.scalars.allSatisfy { $0 == 0 })
}

/// The attention neuron against the spec's rule, on long random sequences: with `U` the
/// membrane in units of 1/8 (a rational, kept exactly as a multiple of 2^-T), it fires iff
/// U + c >= 8; then U = 0, else U = (U + c) / 2 (attn_lif(0.125 c): H = V + (0.125 c - V) / 2
/// >= 0.5 with V = U / 8). E_a = T extra bits hold every U exactly.
@Test func ssaAttentionNeuronFiresIffUPlusCReachesEight() throws {
    var rng = SplitMix64(seed: 11)
    for t in 1...8 {
        let p = LIFParameters.selfAttention(extraFractionBits: t)
        #expect(p.threshold == 4 << t && p.inputShift == t && p.fractionBits == 3 + t)
        for _ in 0..<200 {
            var bank = try LIFBank(count: 1, channelParameters: [p], currentRanges: [0...40])
            var u2 = Int64(0)                         // U * 2^t, exact
            for _ in 0..<t {
                let c = Int64(Int.random(in: 0...12, using: &rng))
                let fires = u2 + (c << t) >= (8 << t)
                let s = bank.step(neuron: 0, current: c)
                #expect(s.spike == fires, "U = \(Double(u2) / Double(1 << t)), c = \(c)")
                u2 = fires ? 0 : (u2 + (c << t)) / 2    // exact: U has at most t - 1 bits below 1 before the step
                #expect(s.membrane == u2)
            }
        }
    }
    // U < 4 always (V < 0.5), so c <= 4 never fires and c >= 8 always does.
    var bank = try LIFBank(count: 1, channelParameters: [.selfAttention(extraFractionBits: 4)], currentRanges: [0...40])
    for _ in 0..<4 { #expect(!bank.step(neuron: 0, current: 4).spike) }   // U: 2, 3, 3.5, 3.75
    #expect(bank.membrane[0] == 60)                                      // 3.75 * 16
}

/// A QKFormer block whose attention is SSA (`x + SSA(x)`, then `x1 + MLP(x1)`) runs end to end,
/// from random weights and from a named model's last stage, with counts up to 6 on its input.
@Test func qkformerBlockWithSSARunsEndToEnd() throws {
    let c = try BlockConfig.parse(json: Data(#"{"block": "qkformer-block", "attention": "ssa", "dim": 6, "heads": 2, "tokens": 13, "timeSteps": 3, "mlpRatio": 2, "index": 2}"#.utf8))
    let d = try BlockDescription.random(c, seed: 5)
    #expect(d.input.maxCount == 6 && d.body.layers.map(\.name) == ["q", "k", "v", "proj", "fc1", "fc2"])
    let g = try GoldenBlock(d)
    var fired = 0
    for x in d.input.randomSamples(rate: 0.5, count: 4, seed: 9) {
        let trace = try g.run(x)
        #expect(trace.layers.count == 6)
        #expect(trace.streams.map(\.name) == ["ssa", "residual", "mlp", "residual"])
        guard case .chain(let parts) = trace, case .residual(.selfAttention(let s), let x1) = parts[0] else {
            Issue.record("expected x + SSA(x) first, got \(trace)")
            return
        }
        // x1 = x + SSA(x), counts add.
        #expect(x1.scalars == zip(x.scalars, s.output.scalars).map { $0 + $1 })
        #expect(trace.output.scalars.allSatisfy { $0 <= 8 })
        fired += s.attention.spikes.scalars.reduce(0) { $0 + Int($1) }
    }
    #expect(fired > 0, "the attention neuron never fired; the random block tests nothing")
    // A named model's last stage is SSA.
    var named = try BlockConfig.named("hst-4-384", stage: 3, block: .qkformerBlock)
    named.tokens = 4
    named.dim = 16
    named.heads = 2
    let nd = try BlockDescription.random(named, seed: 1)
    guard case .chain(let ps) = nd.body, case .residual(.selfAttention) = ps[0] else {
        Issue.record("hst-4-384 stage 3 should hold SSA, got \(nd.body)")
        return
    }
    _ = try GoldenBlock(nd).run(nd.input.randomSample(rate: 0.3, seed: 2))
}

/// `--block ssa` with random seeded weights: the golden model runs it, the same seed gives the
/// same spikes, and every layer's trace is where `Part.layers` says.
@Test func randomSSABlockRuns() throws {
    let c = try BlockConfig.parse(json: Data(#"{"block": "ssa", "dim": 9, "heads": 3, "tokens": 11, "timeSteps": 4}"#.utf8))
    let d = try BlockDescription.random(c, seed: 7)
    #expect(d.body.layers.map(\.name) == ["q", "k", "v", "proj"] && d.input.maxCount == 1)
    let x = d.input.randomSample(rate: 0.5, seed: 1)
    let a = try GoldenBlock(d).run(x), b = try GoldenBlock(try BlockDescription.random(c, seed: 7)).run(x)
    #expect(a == b)
    guard case .selfAttention(let t) = a else { Issue.record("not SSA: \(a)"); return }
    #expect(t.kv.shape == [4, 3, 3, 3] && t.attention.currents.shape == [4, 11, 9])
    // S counts tokens, c is at most d*N.
    #expect(t.kv.scalars.allSatisfy { (0...11).contains($0) } && t.attention.currents.scalars.allSatisfy { (0...33).contains($0) })
}

@Test func ssaRangeErrors() throws {
    let d = try handSSA()
    // An input count above the declared largest count is refused in one line.
    let x = try SpikeTensor(shape: [2, 3, 3], scalars: [2] + [UInt8](repeating: 0, count: 17))
    expectGoldenError("input", "exceeds the block's largest input count 1") { try GoldenBlock(d).run(x) }
    // A wrong token count.
    expectGoldenError("input", "has shape [2, 4, 3]") { try GoldenBlock(d).run(SpikeTensor(shape: [2, 4, 3], repeating: 0)) }
    // c = Q S reaches d*N; a membrane that cannot hold it in 64 bits is refused up front.
    let p = try SSAParameters(dim: 3, heads: 1, timeSteps: 2,
                              q: SpikingLinearLayer(linear: LinearLayer(weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]), neuron: .qkformer(weightFractionBits: 0, extraFractionBits: 2)),
                              k: SpikingLinearLayer(linear: LinearLayer(weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]), neuron: .qkformer(weightFractionBits: 0, extraFractionBits: 2)),
                              v: SpikingLinearLayer(linear: LinearLayer(weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]), neuron: .qkformer(weightFractionBits: 0, extraFractionBits: 2)),
                              proj: SpikingLinearLayer(linear: LinearLayer(weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]), neuron: .qkformer(weightFractionBits: 0, extraFractionBits: 2)),
                              attentionExtraFractionBits: 2)
    let r = try p.ranges(tokens: 196)
    #expect(r.s == 196 && r.c == 588)   // S counts up to N; c up to d N = 3 * 196
    expectGoldenError("attention", "d*N = 3*", "lower the tokens N") { try p.ranges(tokens: 1 << 62) }
}
