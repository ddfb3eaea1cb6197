import Description
import Testing
@testable import Golden

/// The tiny block worked out by hand below: C = 2, T = 2, N = 2; every LIF k = 1, hard 0,
/// th = 2, E = 0; attention LIF `.attention()` (F = 1: I' = 2s, th = 1).
/// W_q = [[4, 0], [0, 3]], W_k = [[0, 4], [4, 0]], W_p = [[4, 4], [-4, 4]], biases 0.
private func tinyBlock(heads: Int) throws -> AttentionBlockParameters {
    let n = LIFParameters(k: 1, threshold: 2)
    return try AttentionBlockParameters(
        dim: 2, heads: heads, timeSteps: 2,
        q: SpikingLinearLayer(linear: LinearLayer(weights: [[4, 0], [0, 3]]), neuron: n),
        k: SpikingLinearLayer(linear: LinearLayer(weights: [[0, 4], [4, 0]]), neuron: n),
        proj: SpikingLinearLayer(linear: LinearLayer(weights: [[4, 4], [-4, 4]]), neuron: n))
}

/// x[t][n][c]: t0 = [[1, 1], [0, 1]], t1 = [[0, 1], [0, 0]].
private let tinyInput = try! SpikeTensor([[[1, 1], [0, 1]], [[0, 1], [0, 0]]])

// Q and K do not depend on the attention kind. Per (token, channel), over t0, t1:
//  token 0: q currents [4, 3] then [0, 3].
//    Q ch0: H = 4 >>> 1 = 2 spike (V 0); then H = 0.                      -> 1, 0
//    Q ch1: H = 3 >>> 1 = 1 (V 1); then H = 1 + ((3 - 1) >>> 1) = 2 spike. -> 0, 1
//    k currents [4, 4] then [4, 0]. K ch0: H = 2 spike, H = 2 spike -> 1, 1.
//                                   K ch1: H = 2 spike, then H = 0 -> 1, 0.
//  token 1: q currents [0, 3] then [0, 0].
//    Q ch0: 0, 0.  Q ch1: H = 1 (V 1), then H = 1 + ((0 - 1) >>> 1) = 0 -> 0, 0.
//    k currents [4, 0] then [0, 0]: K ch0 1, 0;  K ch1 0, 0.
private let expectedQ: [[[UInt8]]] = [[[1, 0], [0, 0]], [[0, 1], [0, 0]]]
private let expectedK: [[[UInt8]]] = [[[1, 1], [1, 0]], [[1, 0], [0, 0]]]

@Test func qktaSingleHeadByHand() throws {
    // h = 1 (d = 2). Token 0:
    //  t0: s = 1 + 0 = 1 -> attn H = (2 - 0) >>> 1 = 1 >= 1 spike. X' = K = [1, 1].
    //      proj currents W_p [1, 1] = [8, 0]: ch0 H = 4 spike; ch1 H = 0.       out [1, 0]
    //  t1: s = 0 + 1 = 1 -> spike. X' = [1, 0]. proj currents [4, -4]:
    //      ch0 H = 2 spike; ch1 H = -4 >>> 1 = -2, V = -2.                     out [1, 0]
    // Token 1: s = 0, 0 -> no mask; X' = 0; out 0.
    let trace = try QKTA.run(try tinyBlock(heads: 1), input: tinyInput)
    #expect(trace.q.spikes.nested3 == expectedQ)
    #expect(trace.k.spikes.nested3 == expectedK)
    #expect(trace.attentionSums.shape == [2, 2, 1])
    #expect(trace.attentionSums.scalars == [1, 0, 1, 0])
    #expect(trace.attentionMask.scalars == [1, 0, 1, 0])
    #expect(trace.maskedKeys.nested3 == [[[1, 1], [0, 0]], [[1, 0], [0, 0]]])
    #expect(trace.proj.currents.nested3 == [[[8, 0], [0, 0]], [[4, -4], [0, 0]]])
    #expect(trace.proj.membranes[1, 0, 1] == -2)
    #expect(trace.output.nested3 == [[[1, 0], [0, 0]], [[1, 0], [0, 0]]])
    // Q's membranes: token 0 ch1 keeps 1 after t0 (no spike).
    #expect(trace.q.membranes[0, 0, 1] == 1)
    // Work: input events t0 = 2 + 1, t1 = 1 + 0 -> 4 events, 8 adds, for q and for k.
    // proj events: X' has 2 + 1 non-zeros -> 3 events, 6 adds.
    #expect(trace.q.ops == SynapticOps(events: 4, adds: 8, countSum: 4))
    #expect(trace.k.ops == trace.q.ops)
    #expect(trace.proj.ops == SynapticOps(events: 3, adds: 6, countSum: 3))
}

@Test func qktaOneChannelPerHeadByHand() throws {
    // h = 2 (d = 1): the sums are Q itself. Token 0:
    //  t0: Q = [1, 0] -> A = [1, 0]; K = [1, 1] -> X' = [1, 0]. proj currents [4, -4]:
    //      ch0 H = 2 spike; ch1 H = -2, V = -2.                                 out [1, 0]
    //  t1: Q = [0, 1] -> head 0: H = 0; head 1: spike. A = [0, 1]; K = [1, 0] -> X' = [0, 0].
    //      proj currents [0, 0]: ch0 H = 0; ch1 H = -2 + ((0 + 2) >>> 1) = -1.  out [0, 0]
    let trace = try QKTA.run(try tinyBlock(heads: 2), input: tinyInput)
    #expect(trace.attentionMask.nested3 == [[[1, 0], [0, 0]], [[0, 1], [0, 0]]])
    #expect(trace.maskedKeys.nested3 == [[[1, 0], [0, 0]], [[0, 0], [0, 0]]])
    #expect(trace.proj.hidden[1, 0, 1] == -1)
    #expect(trace.output.nested3 == [[[1, 0], [0, 0]], [[0, 0], [0, 0]]])
}

@Test func qkcaByHand() throws {
    // Column sums over the 2 tokens:
    //  t0: Q = [[1,0],[0,0]] -> s = [1, 0] -> A_c = [1, 0].
    //      X' = A_c AND K = [[1,0],[1,0]]. proj currents [4, -4] for both tokens:
    //      ch0 H = 2 spike; ch1 H = -2, V = -2.                      out [[1,0],[1,0]]
    //  t1: Q = [[0,1],[0,0]] -> s = [0, 1] -> ch0 H = 0; ch1 spike: A_c = [0, 1].
    //      X' = [[0 AND 1, 1 AND 0], [0, 0]] = 0. proj currents 0: ch1 H = -1.  out 0
    let trace = try QKCA.run(try tinyBlock(heads: 1), input: tinyInput)
    #expect(trace.q.spikes.nested3 == expectedQ)
    #expect(trace.k.spikes.nested3 == expectedK)
    #expect(trace.attentionSums.shape == [2, 2])
    #expect(trace.attentionSums.scalars == [1, 0, 0, 1])
    #expect(trace.attentionMask.scalars == [1, 0, 0, 1])
    #expect(trace.maskedKeys.nested3 == [[[1, 0], [1, 0]], [[0, 0], [0, 0]]])
    #expect(trace.proj.membranes.nested3 == [[[0, -2], [0, -2]], [[0, -1], [0, -1]]])
    #expect(trace.output.nested3 == [[[1, 0], [1, 0]], [[0, 0], [0, 0]]])
    #expect(trace.proj.ops == SynapticOps(events: 2, adds: 4, countSum: 2))
}

@Test func blockRejectsBadInput() throws {
    let p = try tinyBlock(heads: 1)
    #expect(throws: GoldenError.self) { try QKTA.run(p, input: SpikeTensor(shape: [3, 2, 2], repeating: 0)) }
    #expect(throws: GoldenError.self) { try QKCA.run(p, input: SpikeTensor(shape: [2, 2, 3], repeating: 0)) }
    #expect(throws: ConfigError.self) { try SpikeTensor([[[1, 0], [1]]]) }
}

// MARK: - An independent, naive reference of the blocks, layer by layer as PyTorch computes them.

/// The LIF written out again from docs/arithmetic.md, over T for one element (no forced widths).
private func naiveLIF(_ p: LIFParameters, _ currents: [Int64]) -> [UInt8] {
    var v: Int64 = p.resetValue
    let vr = p.resetValue
    return currents.map { i in
        let x = i << Int64(p.inputShift)
        let h = p.decayInput ? v + ((x - (v - vr)) >> Int64(p.k)) : v - ((v - vr) >> Int64(p.k)) + x
        let s = h >= p.threshold
        switch p.reset {
        case .hard(let r): v = s ? r : h
        case .soft: v = s ? h - p.threshold : h
        }
        return s ? 1 : 0
    }
}

/// `LIF(W x + b)` on `[T][N][C]`, each (token, channel) over T.
private func naiveLayer(_ layer: SpikingLinearLayer, _ x: [[[UInt8]]]) -> [[[UInt8]]] {
    let (t, n) = (x.count, x[0].count)
    let c = layer.linear.outputs
    var cur = [[[Int64]]](repeating: [[Int64]](repeating: [Int64](repeating: 0, count: c), count: n), count: t)
    for a in 0..<t { for b in 0..<n { for o in 0..<c {
        var s = layer.linear.bias[o]
        for i in 0..<layer.linear.inputs { s += Int64(x[a][b][i]) * layer.linear.weight(output: o, input: i) }
        cur[a][b][o] = s
    } } }
    var out = [[[UInt8]]](repeating: [[UInt8]](repeating: [UInt8](repeating: 0, count: c), count: n), count: t)
    for b in 0..<n { for o in 0..<c {
        let spikes = naiveLIF(layer.neurons[o], (0..<t).map { cur[$0][b][o] })
        for a in 0..<t { out[a][b][o] = spikes[a] }
    } }
    return out
}

private func naiveBlock(_ p: AttentionBlockParameters, _ kind: AttentionMask, _ x: [[[UInt8]]]) -> (mask: [UInt8], out: [[[UInt8]]]) {
    let (t, n, c, d) = (x.count, x[0].count, p.dim, p.dim / p.heads)
    let q = naiveLayer(p.q, x), k = naiveLayer(p.k, x)
    var xp = k
    var maskFlat: [UInt8] = []
    if kind == .token {
        var a = [[[UInt8]]](repeating: [[UInt8]](repeating: [UInt8](repeating: 0, count: p.heads), count: n), count: t)
        for b in 0..<n { for j in 0..<p.heads {
            let sums = (0..<t).map { s in Int64((j * d..<(j + 1) * d).reduce(0) { $0 + Int(q[s][b][$1]) }) }
            let spikes = naiveLIF(p.attention, sums)
            for s in 0..<t { a[s][b][j] = spikes[s] }
        } }
        for s in 0..<t { for b in 0..<n { for ch in 0..<c { xp[s][b][ch] = a[s][b][ch / d] & k[s][b][ch] } } }
        maskFlat = a.flatMap { $0.flatMap { $0 } }
    } else {
        var a = [[UInt8]](repeating: [UInt8](repeating: 0, count: c), count: t)
        for ch in 0..<c {
            let sums = (0..<t).map { s in Int64((0..<n).reduce(0) { $0 + Int(q[s][$1][ch]) }) }
            let spikes = naiveLIF(p.attention, sums)
            for s in 0..<t { a[s][ch] = spikes[s] }
        }
        for s in 0..<t { for b in 0..<n { for ch in 0..<c { xp[s][b][ch] = a[s][ch] & k[s][b][ch] } } }
        maskFlat = a.flatMap { $0 }
    }
    return (maskFlat, naiveLayer(p.proj, xp))
}

private func randomNeuron(_ rng: inout SplitMix64) -> LIFParameters {
    let hard = Bool.random(using: &rng)
    return LIFParameters(k: Int.random(in: 0...2, using: &rng), threshold: Int64.random(in: -3...12, using: &rng),
                         reset: hard ? .hard(Int64.random(in: -2...2, using: &rng)) : .soft,
                         decayInput: Bool.random(using: &rng), inputShift: Int.random(in: 0...2, using: &rng))
}

private func randomLayer(_ c: Int, _ rng: inout SplitMix64) throws -> SpikingLinearLayer {
    let w = (0..<c).map { _ in (0..<c).map { _ in Int64.random(in: -4...6, using: &rng) } }
    let b = (0..<c).map { _ in Int64.random(in: -3...3, using: &rng) }
    return try SpikingLinearLayer(linear: LinearLayer(weights: w, bias: b),
                                  neurons: (0..<c).map { _ in randomNeuron(&rng) })
}

@Test func blocksMatchNaiveLayerwiseReference() throws {
    var rng = SplitMix64(seed: try TestSeed.named("blocksMatchNaiveLayerwiseReference"))
    for _ in 0..<150 {
        let c = Int.random(in: 1...6, using: &rng)
        let divisors = (1...c).filter { c % $0 == 0 }
        let h = divisors.randomElement(using: &rng)!
        let t = Int.random(in: 1...4, using: &rng), n = Int.random(in: 1...5, using: &rng)
        let attention = Bool.random(using: &rng) ? LIFParameters.attention(fractionBits: Int.random(in: 1...3, using: &rng))
                                                 : randomNeuron(&rng)
        let p = try AttentionBlockParameters(dim: c, heads: h, timeSteps: t, q: randomLayer(c, &rng),
                                             k: randomLayer(c, &rng), proj: randomLayer(c, &rng), attention: attention)
        let maxCount = UInt8.random(in: 1...3, using: &rng)   // SEW residual counts, not only 0/1
        let x = (0..<t).map { _ in (0..<n).map { _ in (0..<c).map { _ in UInt8.random(in: 0...maxCount, using: &rng) } } }
        for kind in AttentionMask.allCases {
            let trace = try runAttention(kind, p, SpikeTensor(x))
            let naive = naiveBlock(p, kind, x)
            #expect(trace.attentionMask.scalars == naive.mask, "\(kind) mask, C=\(c) h=\(h) T=\(t) N=\(n)")
            #expect(trace.output.nested3 == naive.out, "\(kind) output, C=\(c) h=\(h) T=\(t) N=\(n)")
        }
    }
}

@Test func qktaAndQkcaAgreeOnOneTokenOneChannelPerHead() throws {
    // With N = 1 and d = 1 the row sum of (token, head c) and the column sum of channel c are both
    // Q[c], and both attention neurons evolve over T: the two blocks must agree.
    var rng = SplitMix64(seed: try TestSeed.named("qktaAndQkcaAgreeOnOneTokenOneChannelPerHead"))
    for _ in 0..<50 {
        let c = Int.random(in: 1...5, using: &rng), t = Int.random(in: 1...4, using: &rng)
        let p = try AttentionBlockParameters(dim: c, heads: c, timeSteps: t, q: randomLayer(c, &rng),
                                             k: randomLayer(c, &rng), proj: randomLayer(c, &rng))
        let x = (0..<t).map { _ in [(0..<c).map { _ in UInt8.random(in: 0...1, using: &rng) }] }
        let a = try QKTA.run(p, input: SpikeTensor(x)), b = try QKCA.run(p, input: SpikeTensor(x))
        #expect(a.output == b.output)
        #expect(a.attentionMask.scalars == b.attentionMask.scalars)
    }
}

@Test func qktaIsTokenLocal() throws {
    // Every output of a token depends only on that token: running each token alone gives the
    // same spikes as running the whole sample.
    var rng = SplitMix64(seed: try TestSeed.named("qktaIsTokenLocal"))
    for _ in 0..<30 {
        let c = 4, t = 3, n = Int.random(in: 2...6, using: &rng)
        let p = try AttentionBlockParameters(dim: c, heads: 2, timeSteps: t, q: randomLayer(c, &rng),
                                             k: randomLayer(c, &rng), proj: randomLayer(c, &rng))
        let x = (0..<t).map { _ in (0..<n).map { _ in (0..<c).map { _ in UInt8.random(in: 0...1, using: &rng) } } }
        let whole = try QKTA.run(p, input: SpikeTensor(x)).output.nested3
        for j in 0..<n {
            let alone = try QKTA.run(p, input: SpikeTensor((0..<t).map { [x[$0][j]] })).output.nested3
            #expect(alone == (0..<t).map { [whole[$0][j]] })
        }
    }
}

/// QKTA or QKCA on one sample.
func runAttention(_ mask: AttentionMask, _ p: AttentionBlockParameters, _ x: SpikeTensor) throws -> AttentionTrace {
    try mask == .token ? QKTA.run(p, input: x) : QKCA.run(p, input: x)
}
