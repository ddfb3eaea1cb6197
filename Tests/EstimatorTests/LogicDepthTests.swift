import Testing
import HDL
@testable import Estimator

/// The logic depth between flip-flops (`LogicDepth`) on tiny modules worked out by hand, with
/// round delays chosen here (not the calibrated ones) so that each path's delay is a sum one can
/// do on paper.
@Suite struct LogicDepthTests {
    /// 1 ns per LUT level, no fanout term, 1 ns into a chain, 0.1 ns per carry bit, no clock-to-Q
    /// or setup: a path's delay is levels + chains + 0.1 x ripple bits.
    static let unit = LogicDepth.Delays(clockToQ: 0, setup: 0, lut: 1, routeFanout: 0, carryEntry: 1, carryBit: 0.1, dsp: 5)

    func depth(_ m: Module, k: Int) throws -> LogicDepth.Path {
        LogicDepth.analyze(try Elaborate.run(m), lutInputs: k, delays: Self.unit)
    }

    /// A balanced tree of 2-input ANDs over the bits of `x`.
    static func andTree(_ x: Expr, _ n: Int) -> Expr {
        var level = (0..<n).map { x.bit($0) }
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: 2).map { level[$0] & level[$0 + 1] }
        }
        return level[0]
    }

    /// Wide ANDs, registered. ABC balances a tree of one operator before mapping, so however
    /// the netlist chains it, an n-input AND maps to the least depth of a K-ary tree:
    /// 4 inputs 1 level either way; 8: 2 and 2; 16: 2 LUT4 levels (4 x 4) and 2 LUT6 (6 x 3);
    /// 64: 3 LUT4 levels (4^3) and 3 LUT6 (36 < 64 <= 216).
    @Test func andTreeLevels() throws {
        func tree(_ n: Int) -> Module {
            let m = Module("and\(n)")
            let a = m.input("a", width: n)
            let r = m.reg("r", width: 1)
            m.next(r, Self.andTree(a, n))
            m.output("y", r)
            return m
        }
        for (n, l4, l6) in [(4, 1, 1), (8, 2, 2), (16, 2, 2), (64, 3, 3)] {
            let p4 = try depth(tree(n), k: 4), p6 = try depth(tree(n), k: 6)
            #expect(p4.lutLevels == l4, "AND\(n): \(p4.lutLevels) LUT4 levels")
            #expect(p6.lutLevels == l6, "AND\(n): \(p6.lutLevels) LUT6 levels")
            #expect(p4.carryBits == 0 && p4.chains == 0)
            #expect(abs(p4.ns - Double(l4)) < 1e-9, "AND\(n): \(p4.ns) ns")
        }
    }

    /// `Delays.levels` picks the path with the most LUT levels, not the slowest one: beside a
    /// 24-bit registered sum (one chain, the slowest path with delays where a chain entry costs
    /// as much as four LUT levels) a registered 64-input AND has 3 LUT6 levels
    /// (36 < 64 <= 216), the count xc7 is judged by.
    @Test func levelsDelaysCountLUTLevelsOnly() throws {
        let m = Module("sum_and")
        let a = m.input("a", width: 24), b = m.input("b", width: 24), c = m.input("c", width: 64)
        let s = m.reg("s", width: 24), r = m.reg("r", width: 1)
        m.next(s, a +% b)
        m.next(r, Self.andTree(c, 64))
        m.output("y", cat([s, r]))
        let design = try Elaborate.run(m)
        let chainHeavy = LogicDepth.Delays(clockToQ: 0, setup: 0, lut: 1, routeFanout: 0, carryEntry: 4, carryBit: 0, dsp: 5)
        let slowest = LogicDepth.analyze(design, lutInputs: 6, delays: chainHeavy)
        #expect(slowest.chains == 1 && slowest.lutLevels == 0, "\(slowest)")
        let deepest = LogicDepth.analyze(design, lutInputs: 6, delays: .levels)
        #expect(deepest.lutLevels == 3 && deepest.chains == 0, "\(deepest)")
        #expect(abs(deepest.ns - 3) < 1e-9)
    }

    /// A 12-bit registered sum of two ports: no LUT level, one chain entered at bit 0 and rippled
    /// through the other 11 bits to the top sum bit: 1 + 11 x 0.1 = 2.1 ns.
    @Test func adderIsOneChain() throws {
        let m = Module("add12")
        let a = m.input("a", width: 12), b = m.input("b", width: 12)
        let r = m.reg("r", width: 12)
        m.next(r, a +% b)
        m.output("y", r)
        let p = try depth(m, k: 4)
        #expect(p.lutLevels == 0)
        #expect(p.chains == 1)
        #expect(p.carryBits == 12)
        #expect(p.longestCarry == 12)
        #expect(abs(p.ns - 2.1) < 1e-9, "\(p.ns) ns")
        #expect(abs(p.fmaxMHz - 1000 / 2.1) < 1e-6)
    }

    /// Logic before a chain and after it: s = (a & c) feeds an 8-bit adder whose sum is ANDed
    /// with d before the register. One LUT level (the AND; the adder's propagate XOR is the
    /// chain's own), the chain (1 + 7 x 0.1), one LUT level after: 3.7 ns, 2 levels, 8 bits.
    @Test func levelsAroundAChain() throws {
        let m = Module("around")
        let a = m.input("a", width: 8), c = m.input("c", width: 8), b = m.input("b", width: 8), d = m.input("d", width: 8)
        let r = m.reg("r", width: 8)
        m.next(r, ((a & c) +% b) & d)
        m.output("y", r)
        let p = try depth(m, k: 4)
        #expect(p.lutLevels == 2, "\(p.lutLevels) levels")
        #expect(p.carryBits == 8 && p.chains == 1)
        #expect(abs(p.ns - 3.7) < 1e-9, "\(p.ns) ns")
    }

    /// A path through registers is cut at each register: a 4-input AND per bit into r1 (one
    /// LUT4 level), then the 16-input AND of r1 into r2 (two LUT4 levels, as above): the
    /// deepest path is 2, not 3.
    @Test func registersCutPaths() throws {
        let m = Module("two")
        let a = m.input("a", width: 64)
        let r1 = m.reg("r1", width: 16), r2 = m.reg("r2", width: 1)
        m.next(r1, a.slice(15, 0) & a.slice(31, 16) & a.slice(47, 32) & a.slice(63, 48))
        m.next(r2, Self.andTree(r1, 16))
        m.output("y", r2)
        let p = try depth(m, k: 4)
        #expect(p.lutLevels == 2)
        #expect(abs(p.ns - 2) < 1e-9)
    }

    /// On ECP5 a comparison against a constant is a carry chain over its variable bits and then
    /// the two LUT levels `synth_ecp5` forms the result in: a 12-bit `a >= 1000` into a register
    /// is 1 + 12 x 0.1 (the chain) + 2 x 1 (the LUTs) = 4.2 ns. On xc7 it is plain logic.
    @Test func constantCompareIsAChainAndTwoLUTs() throws {
        let m = Module("ge_const")
        let a = m.input("a", width: 12)
        let r = m.reg("r", width: 1)
        m.next(r, a.ge(.const(1000, width: 12)))
        m.output("y", r)
        let p = try depth(m, k: 4)
        #expect(p.chains == 1 && p.carryBits == 12, "\(p)")
        #expect(p.lutLevels == 2, "\(p.lutLevels) levels")
        #expect(abs(p.ns - 4.2) < 1e-9, "\(p.ns) ns")
        let x = try depth(m, k: 6)
        #expect(x.chains == 0 && x.lutLevels >= 1, "\(x)")
    }

    /// Routing into a hard multiplier grows with the multipliers in the design (`dspSpread`):
    /// `n` registered 9 x 9 products of one shared register and `n` others, each into its own
    /// register. With `dsp` 5 and `dspSpread` 0.25 the path is 5 + 0.25 n: 6 ns at n = 4, 7 at 8;
    /// with the spread capped at 6 multipliers (`dspSpreadCap`; 156, a full LFE5U-85F, in
    /// `.ecp5`), eight are charged as six: 6.5 ns.
    @Test func aDSPPathGrowsWithTheDesignsMultipliers() throws {
        func products(_ n: Int, cap: Int = 156) throws -> LogicDepth.Path {
            let m = Module("mul\(n)")
            let c = m.reg("c", width: 9, signed: true)
            m.next(c, m.input("cin", width: 9).asSigned())
            for i in 0..<n {
                let w = m.reg("w\(i)", width: 9, signed: true)
                m.next(w, m.input("win\(i)", width: 9).asSigned())
                let p = m.reg("p\(i)", width: 18, signed: true)
                m.next(p, c * w)
                m.output("y\(i)", p)
            }
            var d = Self.unit
            (d.dspSpread, d.dspSpreadCap) = (0.25, cap)
            return LogicDepth.analyze(try Elaborate.run(m), lutInputs: 4, delays: d)
        }
        let four = try products(4), eight = try products(8), capped = try products(8, cap: 6)
        #expect(abs(four.ns - 6) < 1e-9, "\(four)")
        #expect(abs(eight.ns - 7) < 1e-9, "\(eight)")
        #expect(abs(capped.ns - 6.5) < 1e-9, "\(capped)")
    }
}
