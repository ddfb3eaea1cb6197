import Description
import Testing
@testable import Golden

private func randomNeuron(_ rng: inout SplitMix64, forcedWidth: Bool) -> LIFParameters {
    let hard = Bool.random(using: &rng)
    let width: Int? = forcedWidth ? Int.random(in: 4...8, using: &rng) : nil
    let th = Int64.random(in: -8...7, using: &rng), vr = Int64.random(in: -4...3, using: &rng)
    return LIFParameters(k: Int.random(in: 0...3, using: &rng), threshold: th, reset: hard ? .hard(vr) : .soft,
                         decayInput: Bool.random(using: &rng), inputShift: Int.random(in: 0...2, using: &rng),
                         membraneWidth: width)
}

@Test func bulkBankStepEqualsPerNeuronSteps() throws {
    // The bulk path (shared parameters hoisted, unsafe buffers) must equal stepping each neuron
    // through LIFParameters.step, with and without forced widths.
    var rng = SplitMix64(seed: try TestSeed.named("bulkBankStepEqualsPerNeuronSteps"))
    for _ in 0..<200 {
        let channels = Int.random(in: 1...4, using: &rng), groups = Int.random(in: 1...5, using: &rng)
        let forced = Bool.random(using: &rng)
        let params = (0..<channels).map { _ in randomNeuron(&rng, forcedWidth: forced) }
        var bank = LIFBank(count: channels * groups, channelParameters: params)
        var v = (0..<(channels * groups)).map { params[$0 % channels].resetValue }
        for _ in 0..<6 {
            let currents = (0..<(channels * groups)).map { _ in Int64.random(in: -40...40, using: &rng) }
            let spikes = bank.step(currents: currents)
            for i in currents.indices {
                let s = params[i % channels].step(membrane: v[i], current: currents[i])
                v[i] = s.membrane
                #expect(spikes[i] == (s.spike ? 1 : 0) && bank.membrane[i] == s.membrane && bank.hidden[i] == s.hidden)
                if let w = params[i % channels].membraneWidth {
                    #expect(SignedWidth.fits(s.hidden, w) && SignedWidth.fits(s.membrane, w))
                }
            }
        }
    }
}

@Test func forcedWidthsHoldInsideABlock() throws {
    // A block whose q accumulator is forced to 4 bits and whose proj membrane is forced to 3 bits:
    // every q current stays in [-8, 7] and every proj H and V in [-4, 3].
    var rng = SplitMix64(seed: try TestSeed.named("forcedWidthsHoldInsideABlock"))
    let c = 4, t = 3, n = 5
    func weights() -> [[Int64]] { (0..<c).map { _ in (0..<c).map { _ in Int64.random(in: -6...6, using: &rng) } } }
    let neuron = LIFParameters(k: 1, threshold: 2)
    let p = try AttentionBlockParameters(
        dim: c, heads: 2, timeSteps: t,
        q: SpikingLinearLayer(linear: LinearLayer(weights: weights(), accumulatorWidth: 4), neuron: neuron),
        k: SpikingLinearLayer(linear: LinearLayer(weights: weights()), neuron: neuron),
        proj: SpikingLinearLayer(linear: LinearLayer(weights: weights()),
                                 neuron: LIFParameters(k: 1, threshold: 2, inputShift: 2, membraneWidth: 3)),
        attentionSumWidth: 2)
    let x = (0..<t).map { _ in (0..<n).map { _ in (0..<c).map { _ in UInt8.random(in: 0...2, using: &rng) } } }
    for kind in AttentionMask.allCases {
        let trace = try runAttention(kind, p, SpikeTensor(x))
        #expect(trace.q.currents.scalars.allSatisfy { (-8...7).contains($0) })
        #expect(trace.proj.hidden.scalars.allSatisfy { (-4...3).contains($0) })
        #expect(trace.proj.membranes.scalars.allSatisfy { (-4...3).contains($0) })
        #expect(trace.attentionSums.scalars.allSatisfy { (0...1).contains($0) })   // 2-bit signed: max 1
    }
}
