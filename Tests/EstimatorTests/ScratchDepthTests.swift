import Blocks
import Description
import Estimator
import Foundation
import HDL
import Testing

@Suite struct ScratchDepthTests {
    @Test func depth() throws {
        let path = ProcessInfo.processInfo.environment["SCRATCH_NET"] ?? "examples/network-small/config.json"
        let n = try NetworkDescription.random(try NetworkConfig.parse(json: Data(contentsOf: URL(fileURLWithPath: path))), seed: 1)
        let hw = try NetworkHardware(n, folding: NetworkFolding(lanes: nil))
        var parts: [(String, Module)] = []
        if let sc = hw.stem { parts.append(("stem", try makeStem(sc))) }
        for (h, s) in zip(hw.sections, n.sections) { parts.append((s.name, h.module)) }
        parts.append(("head", try makeHead(hw.head)))
        for (name, m) in parts {
            print("== \(name)")
            let p = LogicDepth.analyze(try Elaborate.run(m), lutInputs: 4, delays: .ecp5)
            print(String(format: "   worst %.2f ns %d levels %d chains into %@", p.ns, p.lutLevels, p.chains, p.endModule))
        }
    }
}
