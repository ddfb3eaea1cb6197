import Testing
import HDL
@testable import Estimator

@Suite struct IRResourcesTests {
    @Test func countsRegisterBitsAndMemoryBitsThroughInstances() throws {
        let leaf = Module("leaf")
        let a = leaf.input("a", width: 5)
        let r = leaf.reg("r", width: 5, reset: 0)
        leaf.next(r, a)
        leaf.output("y", r)
        let top = Module("top")
        let x = top.input("x", width: 5)
        let u0 = top.instance(leaf, "u0"), u1 = top.instance(leaf, "u1")
        u0.connect("a", x)
        u1.connect("a", x)
        top.output("y0", u0.output("y"))
        top.output("y1", u1.output("y"))
        let res = IRResources(try Elaborate.run(top))
        #expect(res.flipFlops == 10)
        #expect(res.memoryBits == 0)
    }
}
