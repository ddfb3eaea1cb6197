import Description
import Foundation
import Testing
import HDL
import Cosim

/// Everything the emitter writes must be clean in Verilator `-Wall`, Yosys and Icarus.
@Suite struct LintTests {
    static func emitAndLint(_ m: Module) throws -> [Lint.Finding] {
        let emitted = VerilogEmitter.emit(try Elaborate.run(m))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-lint-\(UUID().uuidString)")
        try emitted.write(to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        return try Lint.check(directory: dir, top: emitted.top)
    }

    @Test(arguments: ExampleCircuits.all.map(\.name))
    func exampleCircuitsLintClean(name: String) throws {
        let m = ExampleCircuits.all.first { $0.name == name }!.build()
        let findings = try Self.emitAndLint(m)
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test func randomCircuitsLintClean() throws {
        let seed = TestSeed.value(default: 0x51A7)
        print("LintTests.randomCircuitsLintClean seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let seeds = (0..<40).map { _ in rng.next() }
        let findings = try Self.emitAndLint(RandomCircuit.batch(name: "lint_batch", seeds: seeds))
        #expect(findings.isEmpty, "\(findings)")
    }
}
