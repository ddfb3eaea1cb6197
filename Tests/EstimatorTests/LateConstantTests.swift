import Testing
import HDL
@testable import Estimator

/// Constants that Yosys learns only on the gate-level netlist, after its adders are CARRY4
/// cells (`BitNetlist`'s late constants), and comparisons against a constant that Yosys keeps on
/// a carry chain. Each expected count is what Yosys 0.23 `synth_xilinx -family xc7 -flatten`
/// gave for the same circuit written in Verilog (docs/estimate-accuracy.md, "Seed 3 re-measured").
@Suite struct LateConstantTests {
    /// A one-step time counter, as the blocks build it at T = 1: `t` is 0 after reset and its
    /// next value `t == 0 ? 0 : t + 1` is 0 again, so `first = t == 0` is always 1, the
    /// membrane `v` is never read back and goes, and `h = (first ? 0 : v) + a` is `0 + a`.
    /// Yosys (the same circuit in Verilog, `t` with a clock enable): no flip-flop, no LUT, and
    /// the adder's two CARRY4 stay, because the 0 is known only after they were built. Folding
    /// the 0 early, as a constant, would drop the chain (0 CARRY4).
    @Test func aLateConstantKeepsTheChainItFeeds() throws {
        let m = Module("late")
        let a = m.input("a", width: 8)
        let first = ConstantByInductionTests.oneStepCounter(m).first
        let v = m.reg("v", width: 8)
        let h = mux(first, .const(0, width: 8), v) +% a
        m.next(v, h)
        m.output("y", h)
        let e = ResourceModel.estimate(try Elaborate.run(m)).total
        #expect(e.flipFlops == 0)
        #expect(e.luts == 0)
        #expect(e.carry4 == 2)
    }

    /// A register compared with a constant: `r >= threshold`.
    static func registerCompared(width: Int, threshold: Int) throws -> ResourceCount {
        let m = Module("cmp\(width)")
        let r = m.reg("r", width: width)
        m.next(r, m.input("a", width: width))
        m.output("y", r.ge(.const(threshold, width: width)))
        return ResourceModel.estimate(try Elaborate.run(m)).total
    }

    /// `r >= 1 << 12` on a 13-bit register: Yosys keeps all 13 flops (a `cmp2lcu` chain reads
    /// every bit), where the logic alone needs only `r[12]`.
    @Test func aWideComparisonWithAConstantReadsEveryBit() throws {
        #expect(try Self.registerCompared(width: 13, threshold: 1 << 12).flipFlops == 13)
    }

    /// A signed `width`-bit register sign-extended by one bit, compared with 256: a T = 1 LIF
    /// bank's `H >= threshold`, where H is the bank's current extended.
    static func extendedRegisterCompared(width: Int) throws -> ResourceCount {
        let m = Module("ext\(width)")
        let r = m.reg("r", width: width, signed: true)
        m.next(r, m.input("a", width: width).asSigned())
        m.output("y", r.extend(to: width + 1).ge(.const(256, width: width + 1, signed: true)))
        return ResourceModel.estimate(try Elaborate.run(m)).total
    }

    /// `wreduce` drops the extension bit before `cmp2lcu` sees the width. Yosys 0.23 on the
    /// same circuits in Verilog (`$signed({r[w-1], r}) >= 256`): at w = 12, a 12-bit compare,
    /// logic, 4 flops (bits 11..8) and a LUT4; at w = 13, a 13-bit chain that keeps all 13 flops
    /// (4 LUT6 and a CARRY4).
    @Test func aSignExtensionDoesNotWidenTheComparison() throws {
        #expect(try Self.extendedRegisterCompared(width: 12).flipFlops == 4)
        #expect(try Self.extendedRegisterCompared(width: 13).flipFlops == 13)
    }

    /// `r >= 3 << 9` on a 12-bit register: Yosys maps it as logic and keeps the 3 flops that
    /// matter (and one LUT3).
    @Test func aNarrowComparisonWithAConstantReadsOnlyTheBitsThatMatter() throws {
        let e = try Self.registerCompared(width: 12, threshold: 3 << 9)
        #expect(e.flipFlops == 3)
        #expect(e.luts == 1)
    }
}

/// `opt_dff`'s synchronous reset from a constant arm of a register's next value, on the shape of
/// a pipelined LIF bank's stage-2 membrane register (`s2 <= first ? 0 : rd`, `rd` a 3:1 group
/// read). Expected counts are Yosys 0.23 `synth_xilinx -family xc7 -flatten` on the same
/// circuit in Verilog.
@Suite struct ConstantArmResetTests {
    static func circuit(enabled: Bool, groups: Int = 3) throws -> ResourceCount {
        let m = Module("arm")
        let gw = groups <= 4 ? 2 : 3
        let first = m.input("first", width: 1), g = m.input("g", width: gw), adv = m.input("adv", width: 1)
        let v = (0..<groups).map { m.input("v\($0)", width: 15) }
        // g[1] ? (g[0] ? v3 : v2) : (g[0] ? v1 : v0), and so on; a missing group reads 0.
        func read(_ base: Int, _ bit: Int) -> Expr {
            if bit < 0 { return base < groups ? v[base] : .const(0, width: 15) }
            return mux(g.bit(bit), read(base + (1 << bit), bit - 1), read(base, bit - 1))
        }
        let rd = read(0, gw - 1)
        let s2 = m.reg("s2", width: 15)
        m.next(s2, mux(first, .const(0, width: 15), rd), enable: enabled ? adv : nil)
        m.output("y", s2)
        return ResourceModel.estimate(try Elaborate.run(m)).total
    }

    /// With a clock enable the reset is `first & adv`, one LUT2 per bit (15), beside the read's
    /// LUT5 on D (15): 30 LUTs, where one LUT6 per bit would do.
    @Test func underAClockEnableTheResetCostsALUTPerBit() throws {
        let e = try Self.circuit(enabled: true)
        #expect(e.flipFlops == 15)
        #expect(e.luts == 30)
    }

    /// An 8:1 read is wider than a LUT: Yosys keeps `first` in the read's last LUT, 45 LUT6 and
    /// no LUT on R (and a 4:1 read, 6 inputs, is again 15 LUT6 + 15 LUT2).
    @Test func aReadWiderThanALUTKeepsTheConditionOnD() throws {
        #expect(try Self.circuit(enabled: true, groups: 8).luts == 45)
        #expect(try Self.circuit(enabled: true, groups: 4).luts == 30)
    }

    /// Without one, R is `first` itself: the 15 LUT5 of the read alone.
    @Test func withoutAClockEnableTheResetIsFree() throws {
        let e = try Self.circuit(enabled: false)
        #expect(e.flipFlops == 15)
        #expect(e.luts == 15)
    }
}
