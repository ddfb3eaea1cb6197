import Description
import Foundation
import Testing
import HDL
import Cosim

/// The IR simulator and Verilator, running the emitted Verilog, must agree on every output of
/// every cycle: random circuits (every operator, registers, memories, widths 1 to 200, signed
/// and unsigned) and the example circuits.
@Suite(.serialized) struct DifferentialTests {
    static func workDirectory(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-diff-\(name)-\(getpid())")
    }

    static let circuitsPerBatch = 50
    static let batches = 4
    static let cycles = 1_000

    @Test(arguments: 0..<batches)
    func randomCircuitsAgree(batch: Int) throws {
        let seed = TestSeed.value(default: 0xD1FF_0000) &+ UInt64(batch)
        print("DifferentialTests.randomCircuitsAgree batch \(batch) seed \(seed) (replay with QKFORGE_SEED=\(seed &- UInt64(batch)))")
        var rng = SplitMix64(seed: seed)
        let seeds = (0..<Self.circuitsPerBatch).map { _ in rng.next() }
        let top = RandomCircuit.batch(name: "diff_batch\(batch)", seeds: seeds)
        let dir = Self.workDirectory("batch\(batch)")
        let result = try DifferentialTest.run(top, cycles: Self.cycles, seed: seed, workDirectory: dir)
        #expect(result.mismatches.isEmpty,
                "\(result.mismatches.count) mismatches, first: \(result.mismatches.first.map(String.init(describing:)) ?? ""); replay: \(result.replayDirectory?.path ?? "-")")
        #expect(result.outputs >= Self.circuitsPerBatch * 4)
        let findings = try Lint.check(directory: dir.appendingPathComponent("rtl"), top: "diff_batch\(batch)")
        #expect(findings.isEmpty, "the emitted batch must lint clean: \(findings)")
        print("batch \(batch): \(Self.circuitsPerBatch) circuits x \(Self.cycles) cycles, \(result.outputs) outputs compared every cycle, \(result.mismatches.count) disagreements; IR sim \(String(format: "%.2f", result.simulatorSeconds)) s, Verilator \(String(format: "%.3f", result.verilatorSeconds)) s")
        if result.mismatches.isEmpty { try? FileManager.default.removeItem(at: dir) }
    }

    @Test(arguments: ExampleCircuits.all.map(\.name))
    func exampleCircuitsAgree(name: String) throws {
        let seed = TestSeed.value(default: 0xE8A)
        print("DifferentialTests.exampleCircuitsAgree \(name) seed \(seed)")
        let m = ExampleCircuits.all.first { $0.name == name }!.build()
        let dir = Self.workDirectory(name)
        let result = try DifferentialTest.run(m, cycles: 2_000, seed: seed, workDirectory: dir)
        #expect(result.mismatches.isEmpty, "\(result.mismatches.first.map(String.init(describing:)) ?? "")")
        #expect(try Lint.check(directory: dir.appendingPathComponent("rtl"), top: m.name).isEmpty)
        if result.mismatches.isEmpty { try? FileManager.default.removeItem(at: dir) }
    }
}
