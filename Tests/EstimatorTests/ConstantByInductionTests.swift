import Testing
import HDL
@testable import Estimator

/// Flops constant by induction from reset, on a tiny module worked out by hand and checked
/// against Yosys 0.23 `synth_xilinx -family xc7 -flatten` on the same circuit in Verilog.
@Suite struct ConstantByInductionTests {
    /// A time-step counter of one step as the blocks build it: `t` resets to 0 and, under a
    /// clock enable, takes `t == 0 ? 0 : t + 1`. Returns `t` and `first = t == 0`.
    static func oneStepCounter(_ m: Module) -> (t: Expr, first: Expr) {
        let en = m.input("en", width: 1)
        let t = m.reg("t", width: 1, reset: 0)
        let first = t.eq(.const(0, width: 1))
        m.next(t, mux(first, .const(0, width: 1), t +% .const(1, width: 1)), enable: en)
        return (t, first)
    }

    /// A one-step counter as the blocks build it at T = 1, with a clock enable: `t` starts at 0
    /// and its next value `t == 0 ? 0 : t + 1` is 0 whenever `t` is 0, so it is 0 forever. So
    /// `v`'s next value `t ? v + a : a` is just `a`: 8 flops with D = a, no adder, no LUT, and
    /// `t` is gone. Yosys gives exactly that (8 FDRE). Without the induction rule `t` would
    /// stay (1 flop) with the adder (8 LUTs, 2 CARRY4) and the multiplexer. (Yosys does not
    /// prove every such flop: `t <= t & a[0]` stays in Yosys, 9 FDRE, 17 LUTs, 2 CARRY4, while
    /// the model removes it; the blocks' counters are all of the form above.)
    @Test func counterOfOneStateIsRemovedWithWhatItGates() throws {
        let m = Module("ind")
        let a = m.input("a", width: 8)
        let t = Self.oneStepCounter(m).t
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
