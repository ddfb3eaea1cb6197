import Testing
@testable import Golden

// Every expected value below was worked out by hand from docs/arithmetic.md §1:
//   decayInput:      H = V + ((I' - (V - vr)) >>> k)     I' = I << E
//   not decayInput:  H = V - ((V - vr) >>> k) + I'
//   S = H >= th;  hard: V = S ? vr : H;  soft: V = H - S*th;  >>> is floor division by 2^k.

private func run(_ p: LIFParameters, _ currents: [Int64]) -> (h: [Int64], s: [Int], v: [Int64]) {
    let steps = p.run(currents: currents)
    return (steps.map(\.hidden), steps.map { $0.spike ? 1 : 0 }, steps.map(\.membrane))
}

@Test func qkformerNeuronByHand() {
    // k=1, th=4, hard reset to 0, E=0. Currents 6, 2, 8, -4.
    // t1: V=0. H = 0 + ((6 - 0) >>> 1) = 3.  3 < 4, V = 3.
    // t2: H = 3 + ((2 - 3) >>> 1) = 3 + floor(-1/2) = 3 - 1 = 2.  V = 2.
    // t3: H = 2 + ((8 - 2) >>> 1) = 5 >= 4: spike, V = 0.
    // t4: H = 0 + ((-4 - 0) >>> 1) = -2.  V = -2.
    let p = LIFParameters(k: 1, threshold: 4)
    let r = run(p, [6, 2, 8, -4])
    #expect(r.h == [3, 2, 5, -2])
    #expect(r.s == [0, 0, 1, 0])
    #expect(r.v == [3, 2, 0, -2])
}

@Test func arithmeticShiftIsFloorOnNegatives() {
    // k=1, th=100. Currents -3, 0, 0, 0.
    // t1: H = 0 + (-3 >>> 1) = floor(-1.5) = -2 (truncation would give -1).
    // t2: H = -2 + ((0 + 2) >>> 1) = -1.
    // t3: H = -1 + ((0 + 1) >>> 1) = -1 + 0 = -1, and it stays at -1 (floor never reaches 0).
    let r = run(LIFParameters(k: 1, threshold: 100), [-3, 0, 0, 0])
    #expect(r.h == [-2, -1, -1, -1])
    #expect(r.s == [0, 0, 0, 0])
}

@Test func hardResetToNonZeroWithInputShift() {
    // k=2, vr=2, th=10, E=1. Currents 5, 5, 5, so I' = 10.
    // t1: V=2. H = 2 + ((10 - 0) >>> 2) = 2 + 2 = 4.
    // t2: H = 4 + ((10 - 2) >>> 2) = 4 + 2 = 6.
    // t3: H = 6 + ((10 - 4) >>> 2) = 6 + 1 = 7.   (never reaches 10)
    let p = LIFParameters(k: 2, threshold: 10, reset: .hard(2), inputShift: 1)
    let r = run(p, [5, 5, 5])
    #expect(r.h == [4, 6, 7])
    #expect(r.v == [4, 6, 7])
    #expect(r.s == [0, 0, 0])
    // A spike returns V to vr = 2, not 0: th = 4 fires at t1 (H = 4), then
    // t2: H = 2 + ((10 - 0) >>> 2) = 4 again.
    let q = LIFParameters(k: 2, threshold: 4, reset: .hard(2), inputShift: 1)
    let r2 = run(q, [5, 5])
    #expect(r2.h == [4, 4])
    #expect(r2.s == [1, 1])
    #expect(r2.v == [2, 2])
}

@Test func decayInputFalse() {
    // k=1, th=10, hard 0: H = V - (V >>> 1) + I. Currents 4, 4, 4, 4.
    // t1: 0 - 0 + 4 = 4.  t2: 4 - 2 + 4 = 6.  t3: 6 - 3 + 4 = 7.  t4: 7 - 3 + 4 = 8.
    let p = LIFParameters(k: 1, threshold: 10, decayInput: false)
    #expect(run(p, [4, 4, 4, 4]).h == [4, 6, 7, 8])
    // Negative membrane: t1: H = -3.  t2: H = -3 - (-3 >>> 1) + 0 = -3 - (-2) = -1.
    #expect(run(p, [-3, 0]).h == [-3, -1])
    // The same input with decayInput = true halves it: t1 H = 2, t2 H = 2 + (4-2)>>>1 = 3.
    #expect(run(LIFParameters(k: 1, threshold: 10, decayInput: true), [4, 4]).h == [2, 3])
}

@Test func softReset() {
    // k=1, th=4, soft. Currents 10, 10, 0.
    // t1: H = (10 - 0) >>> 1 = 5 >= 4: spike, V = 5 - 4 = 1.
    // t2: H = 1 + ((10 - 1) >>> 1) = 1 + 4 = 5: spike, V = 1.
    // t3: H = 1 + ((0 - 1) >>> 1) = 1 - 1 = 0: no spike, V = 0.
    let p = LIFParameters(k: 1, threshold: 4, reset: .soft)
    let r = run(p, [10, 10, 0])
    #expect(r.h == [5, 5, 0])
    #expect(r.s == [1, 1, 0])
    #expect(r.v == [1, 1, 0])
    // Hard reset on the same input: t1 V = 0, t2 H = (10 - 0) >>> 1 = 5, t3 H = 0.
    let hard = run(LIFParameters(k: 1, threshold: 4, reset: .hard(0)), [10, 10, 0])
    #expect(hard.h == [5, 5, 0])
    #expect(hard.v == [0, 0, 0])
}

@Test func thresholdZeroFiresOnEquality() {
    // th = 0, k=1. Currents 0, -1, 1.
    // t1: H = 0 >= 0: spike (>=, as spikingjelly's heaviside), V = 0.
    // t2: H = 0 + (-1 >>> 1) = -1: no spike, V = -1.
    // t3: H = -1 + ((1 + 1) >>> 1) = 0: spike, V = 0.
    let r = run(LIFParameters(k: 1, threshold: 0), [0, -1, 1])
    #expect(r.h == [0, -1, 0])
    #expect(r.s == [1, 0, 1])
    #expect(r.v == [0, -1, 0])
}

@Test func negativeThresholdSoftReset() {
    // th = -2, k=1, soft. Currents 0, 0, 0.
    // t1: H = 0 >= -2: spike, V = 0 - (-2) = 2.
    // t2: H = 2 + ((0 - 2) >>> 1) = 1: spike, V = 3.
    // t3: H = 3 + ((0 - 3) >>> 1) = 3 - 2 = 1: spike, V = 3 (steady).
    let r = run(LIFParameters(k: 1, threshold: -2, reset: .soft), [0, 0, 0])
    #expect(r.h == [0, 1, 1])
    #expect(r.s == [1, 1, 1])
    #expect(r.v == [2, 3, 3])
    // Hard reset, th = -2: always fires from 0, so V stays 0 and H = I >>> 1.
    let h = run(LIFParameters(k: 1, threshold: -2), [0, -4, -6])
    // t1: H = 0 spike.  t2: H = -2 >= -2 spike.  t3: H = -3 < -2, V = -3.
    #expect(h.h == [0, -2, -3])
    #expect(h.s == [1, 1, 0])
    #expect(h.v == [0, 0, -3])
}

@Test func kZeroHasNoMemory() {
    // k = 0 (tau = 1): H = V + (I - (V - vr)) = I + vr; also H = V - (V - vr) + I = I + vr.
    // vr = 1, th = 5. Currents 3, 7, 2: H = 4, 8, 3; spikes 0, 1, 0; V = 4, 1, 3.
    for decay in [true, false] {
        let r = run(LIFParameters(k: 0, threshold: 5, reset: .hard(1), decayInput: decay), [3, 7, 2])
        #expect(r.h == [4, 8, 3])
        #expect(r.s == [0, 1, 0])
        #expect(r.v == [4, 1, 3])
    }
}

@Test func forcedNarrowWidthSaturates() {
    // Wv = 4: range [-8, 7]. th = 7, k=1, hard 0, E = 2. Currents 10, -10, 0 -> I' = 40, -40, 0.
    // t1: H = (40 - 0) >>> 1 = 20, clamped to 7; 7 >= 7: spike, V = 0.
    // t2: H = (-40 - 0) >>> 1 = -20, clamped to -8; V = -8.
    // t3: H = -8 + ((0 + 8) >>> 1) = -4; V = -4.
    let p = LIFParameters(k: 1, threshold: 7, inputShift: 2, membraneWidth: 4)
    let r = run(p, [10, -10, 0])
    #expect(r.h == [7, -8, -4])
    #expect(r.s == [1, 0, 0])
    #expect(r.v == [0, -8, -4])
    // Without the forced width the same neuron computes exactly: H = 20, -20, then
    // -20 + ((0 + 20) >>> 1) = -10.
    var unforced = p
    unforced.membraneWidth = nil
    #expect(run(unforced, [10, -10, 0]).h == [20, -20, -10])
}

@Test func forcedWidthClampsPostResetMembrane() {
    // Wv = 4 ([-8, 7]), th = -4, soft, k=1. Currents 14, 14.
    // t1: H = 14 >>> 1 = 7 (in range) >= -4: spike, V = 7 + 4 = 11, clamped to 7.
    // t2: H = 7 + ((14 - 7) >>> 1) = 10, clamped to 7: spike, V = 11 -> 7.
    let p = LIFParameters(k: 1, threshold: -4, reset: .soft, membraneWidth: 4)
    let r = run(p, [14, 14])
    #expect(r.h == [7, 7])
    #expect(r.s == [1, 1])
    #expect(r.v == [7, 7])
    // Unforced: t1 V = 11; t2 H = 11 + ((14 - 11) >>> 1) = 12, V = 16.
    var unforced = p
    unforced.membraneWidth = nil
    #expect(run(unforced, [14, 14]).v == [11, 16])
}

@Test func exactModeMatchesRealArithmetic() {
    // QKFormer neuron with Fw = 0, T = 2, k = 1: E = T*k = 2, F = 2, threshold 1.0 = 4.
    // Currents 1.0, 1.0 (integers 1 on the weight grid) enter as I' = 4.
    // t1: H = (4 - 0) >>> 1 = 2 (0.5, as the float 0 + (1 - 0)/2).
    // t2: H = 2 + ((4 - 2) >>> 1) = 3 (0.75, as 0.5 + (1 - 0.5)/2); no spike.
    let p = LIFParameters.qkformer(weightFractionBits: 0, extraFractionBits: 2)
    #expect(p.threshold == 4 && p.fractionBits == 2 && p.inputShift == 2)
    let r = run(p, [1, 1])
    #expect(r.h == [2, 3])
    #expect(r.s == [0, 0])
}

@Test func attentionNeuronIsOrOfNonNegativeSums() {
    // docs/arithmetic.md §2: tau = 2, th = 0.5, hard reset 0 and non-negative integer sums: the neuron never
    // keeps charge, so it fires iff s >= 1. With F = 1: H = V + ((2s - V) >>> 1); from V = 0,
    // H = s; s = 0 leaves V = 0, s >= 1 fires and resets V to 0. Checked for several grids.
    for f in 1...4 {
        let p = LIFParameters.attention(fractionBits: f)
        #expect(p.threshold == Int64(1) << Int64(f - 1))
        let sums: [Int64] = [0, 1, 0, 0, 3, 2, 0, 5]
        let r = p.run(currents: sums)
        #expect(r.map { $0.spike } == sums.map { $0 >= 1 })
        #expect(r.allSatisfy { $0.membrane == 0 })
    }
}

@Test func bankStepsNeuronsIndependentlyAndResets() {
    // Two channels with different thresholds, 4 neurons (2 groups x 2 channels).
    let a = LIFParameters(k: 1, threshold: 2), b = LIFParameters(k: 1, threshold: 100)
    var bank = LIFBank(count: 4, channelParameters: [a, b])
    // Currents 4 everywhere: H = 2 for all; channel 0 (th 2) fires, channel 1 keeps 2.
    #expect(bank.step(currents: [4, 4, 4, 4]) == [1, 0, 1, 0])
    #expect(bank.membrane == [0, 2, 0, 2])
    bank.reset()
    #expect(bank.membrane == [0, 0, 0, 0])
}
