import Testing
import Foundation
@testable import Description

@Suite struct NetworkDescriptionTests {
    @Test func namedNetworksChainTheirStages() throws {
        for (name, grids) in [("hst-4-384", [[32, 32], [16, 16], [8, 8]]), ("hst-10-384", [[56, 56], [28, 28], [14, 14]]),
                              ("hst-2-256", [[16, 16], [8, 8]])] {
            let c = try NetworkConfig.named(name)
            #expect((1...c.stages).map { c.tokenGrid(stage: $0) } == grids, "\(name)")
        }
    }

    @Test func aSmallRandomNetworkChains() throws {
        for e in NetworkConfig.Embedding.allCases {
            let json = """
                {"block": "network", "embedding": "\(e.rawValue)", "dims": [16, 24], "heads": [2, 3], "depths": [1, 1],
                 "image": [16, 16], "classes": 5, "timeSteps": 2}
                """
            let c = try NetworkConfig.parse(json: Data(json.utf8))
            let n = try NetworkDescription.random(c, seed: 7)
            let f = n.output
            let g = c.tokenGrid(stage: 2)
            #expect(f.channels == 24 && f.tokens == g[0] * g[1] && f.width == g[1] && f.maxCount == 4, "\(e): \(f)")
            #expect(n.sections.map(\.name) == ["patch_embed1", "stage1.block0", "patch_embed2", "stage2.block0"])
            #expect(n.sections[1].input.maxCount == 2)
            #expect((n.stem == nil) == (e == .dvs))
        }
    }

    @Test func badNetworkConfigsNameTheField() throws {
        func field(_ json: String) -> String? {
            do { _ = try NetworkConfig.parse(json: Data(json.utf8)); return nil } catch let e as ConfigError { return e.field } catch { return "?" }
        }
        #expect(field(#"{"model": "hst-4-384", "image": [30, 32]}"#) == "image")
        #expect(field(#"{"model": "hst-4-384", "depths": [1, 1]}"#) == "depths")
        #expect(field(#"{"model": "hst-4-384", "heads": [8, 7, 8]}"#) == "heads")
        #expect(field(#"{"model": "hst-4-384", "block": "qkta"}"#) == "block")
        #expect(field(#"{"model": "hst-4-384", "quantization": {"inputBits": 1}}"#) == "quantization.inputBits")
        #expect(field(#"{"model": "hst-4-384", "colour": 1}"#) == "colour")
    }
}
