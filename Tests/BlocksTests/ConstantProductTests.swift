import Testing
import HDL
@testable import Blocks

/// `timesConst`: `x * k` by shifts, adds and subtracts. Every `x` of a 7-bit input against Swift's
/// product for every `k` up to 70 in the IR simulator, at the exact width, and no `*` in the Verilog.
@Suite struct ConstantProductTests {
    @Test func everyProductIsExactAndNeedsNoMultiplier() throws {
        let w = 7
        for k in 1...70 {
            let m = Module("times_\(k)")
            let a = m.input("a", width: w)
            let y = timesConst(a, k)
            #expect(y.width == Int.bitWidth - (((1 << w) - 1) * k).leadingZeroBitCount, "k = \(k): width \(y.width)")
            m.output("y", y)
            let design = try Elaborate.run(m)
            let sim = try Simulator(design)
            for x in 0..<(1 << w) {
                try sim.poke("a", UInt64(x))
                sim.eval()
                let got = try sim.peek("y").low64
                if got != UInt64(x * k) {
                    Issue.record("k = \(k), x = \(x): \(got), expected \(x * k)")
                    break
                }
            }
            let verilog = VerilogEmitter.emit(design).verilog.map(\.contents).joined()
            #expect(!verilog.contains(" * "), "k = \(k): the Verilog multiplies")
        }
    }
}
