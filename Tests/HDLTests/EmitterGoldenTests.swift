import Foundation
import Testing
@testable import HDL

/// The emitter's output for each example circuit is committed under `Golden/` and must be
/// reproduced byte for byte. Set `QKFORGE_UPDATE_GOLDEN=1` to rewrite the files after an
/// intended change, then review the diff.
@Suite struct EmitterGoldenTests {
    static let goldenDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    @Test(arguments: ExampleCircuits.all.map(\.name))
    func matchesGoldenFiles(name: String) throws {
        let build = ExampleCircuits.all.first { $0.name == name }!.build
        let emitted = VerilogEmitter.emit(try Elaborate.run(build()))
        let dir = Self.goldenDir.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["QKFORGE_UPDATE_GOLDEN"] == "1" {
            try emitted.write(to: dir)
        }
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(onDisk == emitted.allFiles.map(\.name).sorted())
        for f in emitted.allFiles {
            let expected = try String(contentsOf: dir.appendingPathComponent(f.name), encoding: .utf8)
            #expect(expected == f.contents, "\(name)/\(f.name) differs from the committed golden file")
        }
    }

    @Test(arguments: ExampleCircuits.all.map(\.name))
    func emissionIsDeterministic(name: String) throws {
        let build = ExampleCircuits.all.first { $0.name == name }!.build
        let first = VerilogEmitter.emit(try Elaborate.run(build()))
        let second = VerilogEmitter.emit(try Elaborate.run(build()))
        #expect(first.allFiles == second.allFiles)
    }
}
