import Foundation
import Testing
@testable import HDL

/// Two child modules built alike are emitted once; one that differs keeps its own file.
@Suite struct IdenticalModulesTests {
    static func inverter(_ name: String, width: Int) -> Module {
        let m = Module(name, doc: "Inverts its input.")
        _ = m.output("y", ~m.input("a", width: width))
        return m
    }

    @Test func aliasesAlikeChildrenAndKeepsDifferentOnes() throws {
        let top = Module("top", doc: "Three inverters, two of them alike.")
        let a = top.input("a", width: 4)
        var outs: [Expr] = []
        for (i, w) in [4, 4, 3].enumerated() {
            // Separate Module objects with the same name: elaboration names them inv, inv_1, inv_2.
            let u = top.instance(Self.inverter("inv", width: w), "u\(i)")
            u.connect("a", w == 4 ? a : a.truncate(to: 3))
            outs.append(u.output("y"))
        }
        _ = top.output("y", cat(outs))
        let design = try Elaborate.run(top)
        #expect(design.modules.count == 4, "elaboration keeps every module (the estimator needs them)")
        let emitted = VerilogEmitter.emit(design)
        #expect(emitted.verilog.map(\.name) == ["inv.v", "inv_2.v", "top.v"])
        let topText = try #require(emitted.verilog.last?.contents)
        #expect(topText.contains("inv u0 (") && topText.contains("inv u1 (") && topText.contains("inv_2 u2 ("), "\(topText)")
        #expect(!topText.contains("inv_1"))
        #expect(emitted.verilog[1].contents.contains("module inv_2 ("))
    }
}
