import Testing
import HDL
@testable import Estimator

/// Constants that Yosys learns only on the gate-level netlist, after its adders are CARRY4
/// cells (`BitNetlist`'s late constants), and comparisons against a constant that Yosys keeps on
/// a carry chain. Each expected count is what Yosys 0.23 `synth_xilinx -family xc7 -flatten`
/// gave for the same circuit written in Verilog (docs/estimate-accuracy.md, "Held-out rounds").
@Suite struct LateConstantTests {
    /// A one-step time counter, as the blocks build it at T = 1: `t` is 0 after reset and its
    /// next value `t == 0 ? 0 : t + 1` is 0 again, so `first = t == 0` is always 1, the
    /// membrane `v` is never read back and goes, and `h = (first ? 0 : v) + a` is `0 + a`.
    /// Yosys (the same circuit in Verilog, `t` with a clock enable): no flip-flop, no LUT, and
    /// the adder's two CARRY4 stay, because the 0 is known only after they were built. Folding
    /// the 0 early, as a constant, would drop the chain (0 CARRY4).
    @Test func aLateConstantKeepsTheChainItFeeds() throws {
        let m = Module("late")
        let a = m.input("a", width: 8), en = m.input("en", width: 1)
        let t = m.reg("t", width: 1, reset: 0)
        let first = t.eq(.const(0, width: 1))
        m.next(t, mux(first, .const(0, width: 1), t +% .const(1, width: 1)), enable: en)
        let v = m.reg("v", width: 8)
        let h = mux(first, .const(0, width: 8), v) +% a
        m.next(v, h)
        m.output("y", h)
        let e = ResourceModel.estimate(try Elaborate.run(m)).total
        #expect(e.flipFlops == 0)
        #expect(e.luts == 0)
        #expect(e.carry4 == 2)
    }

    /// `r >= 1 << 12` on a 13-bit register: Yosys keeps all 13 flops (a `cmp2lcu` chain reads
    /// every bit), where the logic alone needs only `r[12]`.
    @Test func aWideComparisonWithAConstantReadsEveryBit() throws {
        let m = Module("cmp13")
        let a = m.input("a", width: 13)
        let r = m.reg("r", width: 13)
        m.next(r, a)
        m.output("y", r.ge(.const(1 << 12, width: 13)))
        #expect(ResourceModel.estimate(try Elaborate.run(m)).total.flipFlops == 13)
    }

    /// `r >= 3 << 9` on a 12-bit register: Yosys maps it as logic and keeps the 3 flops that
    /// matter (and one LUT3).
    @Test func aNarrowComparisonWithAConstantReadsOnlyTheBitsThatMatter() throws {
        let m = Module("cmp12")
        let a = m.input("a", width: 12)
        let r = m.reg("r", width: 12)
        m.next(r, a)
        m.output("y", r.ge(.const(3 << 9, width: 12)))
        let e = ResourceModel.estimate(try Elaborate.run(m)).total
        #expect(e.flipFlops == 3)
        #expect(e.luts == 1)
    }
}
