import Testing
import HDL
@testable import Estimator

/// The Fmax fit (`calibrate --fmax`) on tiny designs "measured" with delays chosen here: a fit
/// started from the calibrated ECP5 delays must find delays that reproduce those Fmax values.
@Suite struct FmaxFitTests {
    /// The hidden truth: slower LUT levels and a cheaper chain entry than `Delays.ecp5`.
    static let truth: LogicDepth.Delays = {
        var d = LogicDepth.Delays(clockToQ: 0.5, setup: 0.3, lut: 1.15, routeFanout: 0, carryEntry: 1.9, carryBit: 0.04, dsp: 4.5)
        d.blockRAM = 3.0
        return d
    }()

    static func module(_ name: String, _ body: (Module, Expr, Expr, Expr) -> Expr) -> Module {
        let m = Module(name)
        let a = m.input("a", width: 24), b = m.input("b", width: 24), c = m.input("c", width: 64)
        let r = m.reg("r", width: 1)
        m.next(r, body(m, a, b, c))
        m.output("y", r)
        return m
    }

    @Test func fitRecoversTheDelaysOfItsMeasurements() throws {
        let designs: [(String, Module)] = [
            // Three LUT4 levels, no chain.
            ("and64", Self.module("and64") { _, _, _, c in LogicDepthTests.andTree(c, 64) }),
            // One 24-bit chain into the register (its top sum bit).
            ("sum24", Self.module("sum24") { _, a, b, _ in (a +% b).bit(23) }),
            // A chain, then two LUT4 levels over its 24 sum bits and 8 more inputs.
            ("sum_and", Self.module("sum_and") { m, a, b, c in
                let s = m.wire("s", a +% b)
                return LogicDepthTests.andTree(cat([c.slice(7, 0), s]), 32)
            }),
        ]
        let samples = try designs.map { name, m in
            let d = try Elaborate.run(m)
            return FmaxFit.Sample(name: name, design: d, measuredMHz: LogicDepth.analyze(d, lutInputs: 4, delays: Self.truth).fmaxMHz)
        }
        #expect(FmaxFit.errors(samples, Self.truth).worst < 1e-9)
        let before = FmaxFit.errors(samples, .ecp5)
        #expect(before.worst > 10, "the start must be off for the fit to show anything: \(before)")
        let fit = FmaxFit.fit(samples, from: .ecp5)
        #expect(fit.worst < 1.0, "fitted \(FmaxFit.swiftSource(fit.delays)): worst \(fit.worst)%")
        #expect(fit.delays.clockToQ == LogicDepth.Delays.ecp5.clockToQ && fit.delays.setup == LogicDepth.Delays.ecp5.setup)
    }
}
