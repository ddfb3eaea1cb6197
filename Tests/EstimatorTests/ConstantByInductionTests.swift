import Testing
import HDL
@testable import Estimator

/// Flops constant by induction from reset (what Yosys `opt_dff -sat` removes), on a tiny module
/// worked out by hand.
@Suite struct ConstantByInductionTests {
    /// `t` starts at 0 and its next value `t & a0` is 0 whenever `t` is 0: it is 0 forever. So
    /// `v`'s next value `t ? v + a : a` is just `a`: 8 flops with D = a, no adder, no LUT, and
    /// `t` is gone. Without the induction rule `t` would stay (1 flop) with the adder (8 LUTs,
    /// 2 CARRY4) and the multiplexer.
    @Test func counterOfOneStateIsRemovedWithWhatItGates() throws {
        let m = Module("ind")
        let a = m.input("a", width: 8)
        let t = m.reg("t", width: 1, reset: 0)
        m.next(t, t & a.bit(0))
        let v = m.reg("v", width: 8, reset: 0)
        m.next(v, mux(t, v +% a, a))
        m.output("y", v)
        let e = ResourceModel.estimate(try Elaborate.run(m)).total
        #expect(e.flipFlops == 8)
        #expect(e.luts == 0)
        #expect(e.carry4 == 0)
    }

    /// A flop whose next value at its reset value differs (a toggle) is kept.
    @Test func toggleIsKept() throws {
        let m = Module("tog")
        let t = m.reg("t", width: 1, reset: 0)
        m.next(t, ~t)
        m.output("y", t)
        let e = ResourceModel.estimate(try Elaborate.run(m)).total
        #expect(e.flipFlops == 1)
    }
}
