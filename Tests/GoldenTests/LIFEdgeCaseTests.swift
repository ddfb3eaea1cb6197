import Testing
@testable import Golden

@Test func wideIntermediateIsExact() {
    // V = Int64.min, I = Int64.max, k = 1, th = 0, vr = 0: I - (V - vr) = 2^64 - 1 overflows
    // Int64, so the 128-bit path runs: H = -2^63 + floor((2^64 - 1) / 2) = -2^63 + 2^63 - 1 = -1.
    let p = LIFParameters(k: 1, threshold: 0)
    let s = p.step(membrane: Int64.min, current: Int64.max)
    #expect(s == LIFStep(hidden: -1, spike: false, membrane: -1))
    var forced = p
    forced.membraneWidth = 64
    #expect(forced.step(membrane: Int64.min, current: Int64.max) == s)
}

@Test func wideIntermediateSaturates() {
    // Wv = 64, k = 0, E = 2, I = 2^62: I' = 2^64 overflows; H = I' + vr = 2^64 saturates to
    // Int64.max, which reaches th = Int64.max: spike, V = 0.
    let p = LIFParameters(k: 0, threshold: Int64.max, inputShift: 2, membraneWidth: 64)
    #expect(p.step(membrane: 0, current: Int64(1) << 62) == LIFStep(hidden: Int64.max, spike: true, membrane: 0))
    // Wv = 8, E = 62, k = 1, I = 3: I' = 3 * 2^62 overflows; H = 3 * 2^61 saturates to 127.
    let q = LIFParameters(k: 1, threshold: 100, inputShift: 62, membraneWidth: 8)
    #expect(q.step(membrane: 0, current: 3) == LIFStep(hidden: 127, spike: true, membrane: 0))
    // Soft reset with a very negative threshold: H - th overflows; V saturates at 127.
    let r = LIFParameters(k: 0, threshold: -128, reset: .soft, membraneWidth: 8)
    #expect(r.step(membrane: 0, current: 127) == LIFStep(hidden: 127, spike: true, membrane: 127))
}

@Test func unforcedOverflowTraps() async {
    // A membrane that needs more than 64 bits without a forced width must trap, never wrap.
    await #expect(processExitsWith: .failure) {
        // k = 0, vr = 1: H = I + vr = 2^63.
        _ = LIFParameters(k: 0, threshold: 1, reset: .hard(1)).step(membrane: 1, current: Int64.max)
    }
    await #expect(processExitsWith: .failure) {
        _ = LIFParameters(k: 0, threshold: 1, inputShift: 4).step(membrane: 0, current: Int64.max / 2)
    }
}

@Test func selfCheckingBankTrapsOnOutOfRangeCurrent() async {
    await #expect(processExitsWith: .failure) {
        var bank = try! LIFBank(count: 1, channelParameters: [LIFParameters(k: 1, threshold: 4)],
                                currentRanges: [0...8])
        _ = bank.step(neuron: 0, current: 9)
    }
}

@Test func validationNamesTheField() {
    func field(_ p: LIFParameters) -> String? {
        do { try p.validate(); return nil } catch let e as GoldenError { return e.field } catch { return "?" }
    }
    #expect(field(LIFParameters(k: -1, threshold: 1)) == "k")
    #expect(field(LIFParameters(k: 1, threshold: 1, inputShift: 63)) == "inputShift")
    #expect(field(LIFParameters(k: 1, threshold: 8, membraneWidth: 4)) == "threshold")      // 8 > 7
    #expect(field(LIFParameters(k: 1, threshold: -8, membraneWidth: 4)) == nil)             // -8 fits
    #expect(field(LIFParameters(k: 1, threshold: 1, reset: .hard(-9), membraneWidth: 4)) == "reset")
    #expect(field(LIFParameters(k: 1, threshold: 1, membraneWidth: 0)) == "membraneWidth")
    #expect(field(LIFParameters(k: 1, threshold: 1, membraneWidth: 65)) == "membraneWidth")
}

@Test func signedWidthHelpers() {
    #expect(SignedWidth.required(0) == 1)
    #expect(SignedWidth.required(-1) == 1)
    #expect(SignedWidth.required(1) == 2)
    #expect(SignedWidth.required(7) == 4)
    #expect(SignedWidth.required(8) == 5)
    #expect(SignedWidth.required(-8) == 4)
    #expect(SignedWidth.required(-9) == 5)
    #expect(SignedWidth.required(Int64.max) == 64)
    #expect(SignedWidth.required(Int64.min) == 64)
    #expect(SignedWidth.range(4) == -8...7)
    #expect(SignedWidth.range(1) == -1...0)
    #expect(SignedWidth.range(64) == Int64.min...Int64.max)
    #expect(SignedWidth.saturate(100, 4) == 7)
    #expect(SignedWidth.saturate(-100, 4) == -8)
}
