import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The QKTA blocks of the named models, end to end: full samples (all tokens, all time steps)
/// in Verilator against the golden model under random input and output stalls, and the
/// committed reference designs in rtl/ linted in all three tools.
@Suite(.serialized) struct NamedModelTests {
    static let cases: [(model: String, stage: Int, samples: Int)] = [
        ("hst-4-384", 1, 2), ("hst-4-384", 2, 2), ("hst-2-256", 1, 2), ("hst-2-256", 2, 2), ("hst-10-384", 2, 1),
    ]

    @Test(arguments: 0..<cases.count)
    func fullSamplesMatchGolden(index: Int) throws {
        let (name, stage, samples) = Self.cases[index]
        let seed = TestSeed.value(default: 1)
        let block = try BlockConfig.named(name, stage: stage, block: .qkta)
        let model = try BlockModel.random(block, lanes: max(1, block.dim / 8), seed: seed)
        var o = BlockCosim.Options()
        o.samples = samples
        o.seed = seed
        o.inputStall = 0.1
        o.outputStall = 0.1
        print("NamedModelTests \(name) stage \(stage): \(samples) samples, seed \(seed)")
        let r = try BlockCosim.run(model, options: o)
        #expect(r.mismatches.isEmpty, "first: \(r.mismatches.first.map(String.init(describing:)) ?? "")")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors.first ?? "")")
        #expect(r.vectors == samples * block.tokens * block.timeSteps)
        print("  \(r.vectors) vectors, \(r.cycles) cycles, bound \(r.boundCycles), utilisation \(String(format: "%.3f", r.utilization)), \(String(format: "%.1f", r.seconds)) s")
    }

    @Test func qkcaFullSamplesMatchGolden() throws {
        let seed = TestSeed.value(default: 1)
        let block = try BlockConfig.named("hst-4-384", stage: 1, block: .qkca)
        let model = try BlockModel.random(block, lanes: block.dim / 8, seed: seed)
        var o = BlockCosim.Options()
        o.samples = 2
        o.seed = seed
        print("NamedModelTests hst-4-384 stage 1 QKCA: 2 samples, seed \(seed)")
        let r = try BlockCosim.run(model, options: o)
        #expect(r.mismatches.isEmpty, "first: \(r.mismatches.first.map(String.init(describing:)) ?? "")")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors.first ?? "")")
        #expect(r.vectors == 2 * block.tokens * block.timeSteps)
        print("  \(r.vectors) vectors, \(r.cycles) cycles, buffers \(r.buffers.map { "\($0)" } ?? "-"), \(String(format: "%.1f", r.seconds)) s")
    }

    static let rtlDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("rtl")

    @Test func committedReferenceDesignsLintClean() throws {
        let fm = FileManager.default
        var designs: [URL] = []
        for model in try fm.contentsOfDirectory(atPath: Self.rtlDirectory.path).sorted() {
            let dir = Self.rtlDirectory.appendingPathComponent(model)
            for d in try fm.contentsOfDirectory(atPath: dir.path).sorted() { designs.append(dir.appendingPathComponent(d)) }
        }
        #expect(designs.count >= 13, "rtl/ should hold QKTA of stages 1 and 2 of every named model, one QKCA, one block from a bundle and a small network")
        for d in designs {
            let files = try String(contentsOf: d.appendingPathComponent("files.f"), encoding: .utf8).split(separator: "\n")
            let top = String(files.last!.dropLast(2))
            let findings = try Lint.check(directory: d, top: top)
            #expect(findings.isEmpty, "\(d.lastPathComponent): \(findings)")
        }
    }
}
