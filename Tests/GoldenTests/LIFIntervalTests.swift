import Description
import Testing
@testable import Golden

@Test func intervalByHandPositiveCurrent() throws {
    // k=1, th=4, hard 0, current [0, 8] (E = 0), u = V - vr.
    // step 1: H in [f(0,0), f(0,8)] = [0, 4]; non-firing [0, 3], firing {0}: u1 = [0, 3].
    // step 2: H in [f(0,0), f(3,8)] = [0, 3 + ((8-3) >>> 1)] = [0, 5]; u2 = [0, 3] = u1: settled.
    let p = LIFParameters(k: 1, threshold: 4)
    let r = try LIFIntervalAnalysis.analyze(current: 0...8, parameters: p)
    #expect(r.hidden == 0...5)
    #expect(r.membrane == 0...3)
    #expect(r.method == .iterated(steps: 2))
    #expect(r.width == 4)   // 5 needs 4 signed bits
    // One time step only: H in [0, 4], V in [0, 3].
    let one = try LIFIntervalAnalysis.analyze(current: 0...8, parameters: p, timeSteps: 1)
    #expect(one.hidden == 0...4)
    #expect(one.membrane == 0...3)
}

@Test func intervalByHandSignedCurrent() throws {
    // k=1, th=4, hard 0, current [-8, 8].
    // u1: H [-4, 4] -> [-4, 3].   u2: H [-4 + (-4 >>> 1), 5] = [-6, 5] -> [-6, 3].
    // u3: H [-6 + (-2 >>> 1), 5] = [-7, 5].   u4: H [-7 + (-1 >>> 1), 5] = [-8, 5].
    // u5: H [-8 + 0, 5] = [-8, 5] -> [-8, 3] = u4: settled after 5 steps.
    let p = LIFParameters(k: 1, threshold: 4)
    let r = try LIFIntervalAnalysis.analyze(current: -8...8, parameters: p)
    #expect(r.hidden == -8...5)
    #expect(r.membrane == -8...3)
    #expect(r.method == .iterated(steps: 5))
    #expect(r.width == 4)
    // T = 2 keeps only the first two steps: H in [-6, 5], V in [-6, 3].
    let t2 = try LIFIntervalAnalysis.analyze(current: -8...8, parameters: p, timeSteps: 2)
    #expect(t2.hidden == -6...5)
    #expect(t2.membrane == -6...3)
    // The closed form agrees here: L = min(0, -8) = -8, R = max(0, min(8, 3)) = 3.
    let cf = try LIFIntervalAnalysis.closedForm(a0: -8, a1: 8, thp: 4, p: p, c: .init())
    #expect(cf == (-8, 3))
}

@Test func intervalFallsBackToClosedForm() throws {
    // k = 20: the membrane creeps up by (2^40 - u) / 2^20 per step and does not settle in the
    // iteration budget, so the closed form bounds it: u in [0, min(2^40, th - 1)] = [0, 2^40].
    let p = LIFParameters(k: 20, threshold: Int64(1) << 50)
    let r = try LIFIntervalAnalysis.analyze(current: 0...(Int64(1) << 40), parameters: p)
    #expect(r.method == .closedForm)
    #expect(r.membrane == 0...(Int64(1) << 40))
    #expect(r.hidden == 0...(Int64(1) << 40))
    #expect(r.width == 42)
}

@Test func intervalThrowsPast64Bits() {
    #expect(throws: GoldenError.self) {
        try LIFIntervalAnalysis.analyze(current: 0...Int64.max, parameters: LIFParameters(k: 1, threshold: 1, inputShift: 2))
    }
}

/// A random unforced neuron with small values, for the soundness tests.
private func randomNeuron(_ rng: inout SplitMix64) -> LIFParameters {
    let hard = Bool.random(using: &rng)
    return LIFParameters(k: Int.random(in: 0...3, using: &rng), threshold: Int64.random(in: -6...9, using: &rng),
                         reset: hard ? .hard(Int64.random(in: -3...3, using: &rng)) : .soft,
                         decayInput: Bool.random(using: &rng), inputShift: Int.random(in: 0...1, using: &rng))
}

@Test func closedFormIsInductive() throws {
    // Exhaustively: every u in [L, R] and every current in range steps to a u' in [L, R], and
    // every H lands in the reported hidden range. That makes the closed form sound for any T.
    var rng = SplitMix64(seed: try TestSeed.named("closedFormIsInductive"))
    for _ in 0..<1500 {
        let p = randomNeuron(&rng)
        let a0 = Int64.random(in: -9...6, using: &rng), a1 = a0 + Int64.random(in: 0...10, using: &rng)
        let scale = Int64(1) << Int64(p.inputShift)
        let (l, r) = try LIFIntervalAnalysis.closedForm(a0: a0 * scale, a1: a1 * scale, thp: p.threshold - p.resetValue,
                                                        p: p, c: .init())
        #expect(l <= 0 && r >= 0)
        let range = try LIFIntervalAnalysis.analyze(current: a0...a1, parameters: p, timeSteps: nil)
        let kernel = LIFKernel(p)
        for u in l...r {
            for i in a0...a1 {
                let s = kernel.step(u + p.resetValue, i)
                let u2 = s.membrane - p.resetValue
                #expect(u2 >= l && u2 <= r, "closed form not inductive: \(p), current \(a0)...\(a1), u \(u) -> \(u2) outside [\(l), \(r)]")
                if range.method == .closedForm {
                    #expect(range.hidden.contains(s.hidden))
                }
            }
        }
    }
}

@Test func analysisContainsEverySimulatedValue() throws {
    // Random neurons and currents, simulated for T steps (and for many steps against T = nil):
    // every H and V must lie inside the analysed ranges.
    var rng = SplitMix64(seed: try TestSeed.named("analysisContainsEverySimulatedValue"))
    for _ in 0..<400 {
        let p = randomNeuron(&rng)
        let a0 = Int64.random(in: -12...8, using: &rng), a1 = a0 + Int64.random(in: 0...14, using: &rng)
        let t = Int.random(in: 1...6, using: &rng)
        let perT = try LIFIntervalAnalysis.analyze(current: a0...a1, parameters: p, timeSteps: t)
        let any = try LIFIntervalAnalysis.analyze(current: a0...a1, parameters: p)
        #expect(any.hidden.lowerBound <= perT.hidden.lowerBound && any.hidden.upperBound >= perT.hidden.upperBound)
        let kernel = LIFKernel(p)
        for _ in 0..<30 {
            var v = p.resetValue
            for step in 0..<(t * 8) {
                let s = kernel.step(v, Int64.random(in: a0...a1, using: &rng))
                v = s.membrane
                if step < t {
                    #expect(perT.hidden.contains(s.hidden) && perT.membrane.contains(s.membrane), "\(p) T=\(t) current \(a0)...\(a1): H \(s.hidden) V \(s.membrane) outside \(perT)")
                }
                #expect(any.hidden.contains(s.hidden) && any.membrane.contains(s.membrane), "\(p) current \(a0)...\(a1): H \(s.hidden) V \(s.membrane) outside \(any)")
            }
        }
    }
}

@Test func analysisIsTightAtTheEnds() throws {
    // For a single time step the bounds are attained: H = f(0, A0) and f(0, A1) with V = vr.
    // k=2, vr=0, current [-20, 20], th = 100: H in [-20 >>> 2, 20 >>> 2] = [-5, 5].
    let r = try LIFIntervalAnalysis.analyze(current: -20...20, parameters: LIFParameters(k: 2, threshold: 100), timeSteps: 1)
    #expect(r.hidden == -5...5)
    #expect(r.membrane == -5...5)
}
