import Blocks
import Cosim
import Description
import Foundation
import Golden
import HDL
import Testing

/// Whole networks in Verilator against the golden model: the stem, every patch embedding and
/// block on the golden model's stream before it, and the whole network end to end on random
/// images, under random stalls. The random weights must make every layer fire at a rate that
/// tests something (neither silent nor saturated).
@Suite(.serialized) struct NetworkCosimTests {
    static func network(_ json: String, seed: UInt64) throws -> NetworkDescription {
        try NetworkDescription.random(try NetworkConfig.parse(json: Data(json.utf8)), seed: seed)
    }

    static func check(_ n: NetworkDescription, folding: NetworkFolding, images: Int, seed: UInt64, stall: Double) throws {
        let hw = try NetworkHardware(n, folding: folding)
        let imgs = NetworkCosim.randomImages(n.image, count: images, seed: seed)
        // Every stream carries spikes, and not only spikes.
        let golden = try GoldenNetwork(n)
        for (name, t) in try golden.run(image: imgs[0]).streams {
            let rate = Double(t.scalars.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }) / Double(t.scalars.count)
            #expect(rate > 0.01 && rate < 0.99, "\(name) fires at \(rate) (seed \(seed)): the test would not exercise it")
        }
        var o = NetworkCosim.Options()
        (o.seed, o.inputStall, o.outputStall) = (seed, stall, stall)
        o.workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-netcosim-test-\(getpid())-\(seed)")
        let r = try NetworkCosim.run(hw, images: imgs, options: o)
        for l in r.layers {
            #expect(l.passed, "layer \(l.name): \(l.firstMismatch ?? l.protocolErrors.first ?? "") (seed \(seed))")
        }
        #expect(r.zCompared == images * n.config.classes)
        #expect(r.zMismatches.isEmpty && r.wholeErrors.isEmpty, "\((r.zMismatches + r.wholeErrors).first ?? "") (seed \(seed))")
    }

    @Test func cifarNetworkEqualsTheGoldenModel() throws {
        let seed = TestSeed.value(default: 41)
        print("NetworkCosimTests cifar seed \(seed)")
        let n = try Self.network("""
            {"block": "network", "embedding": "cifar", "dims": [8, 12], "heads": [2, 3], "depths": [1, 1],
             "image": [8, 6], "classes": 5, "timeSteps": 2}
            """, seed: seed)
        try Self.check(n, folding: NetworkFolding(lanes: 3), images: 2, seed: seed, stall: 0.2)
    }

    /// A pipeline folding (as `--budget` chooses it): each conv its own lanes, each block its own,
    /// lane converters between.
    @Test func nonUniformFoldingEqualsTheGoldenModel() throws {
        let seed = TestSeed.value(default: 43)
        print("NetworkCosimTests non-uniform folding seed \(seed)")
        let n = try Self.network("""
            {"block": "network", "embedding": "cifar", "dims": [8, 12], "heads": [2, 3], "depths": [1, 1],
             "image": [8, 6], "classes": 5, "timeSteps": 2}
            """, seed: seed)
        let f = NetworkFolding(sectionLanes: ["patch_embed1": 2, "stage1.block0": 4, "patch_embed2.conv1": 5, "patch_embed2": 3,
                                              "stage2.block0": 1],
                               stemMultipliers: 3)
        let hw = try NetworkHardware(n, folding: f)
        // The shortcut takes its main branch's lanes; a block of other lanes reads through a lane converter.
        #expect(hw.sections.map(\.output.lanes) == [2, 4, 3, 1])
        #expect(hw.sections[2].convs.map(\.lanes).sorted() == [3, 3, 5])
        #expect(hw.sections.map { $0.converter?.outputLanes } == [nil, 4, nil, 1])
        try Self.check(n, folding: f, images: 1, seed: seed, stall: 0.2)
    }

    @Test func imagenetNetworkEqualsTheGoldenModel() throws {
        let seed = TestSeed.value(default: 42)
        print("NetworkCosimTests imagenet seed \(seed)")
        // Pools in the stem and both embeddings, an SSA last stage, odd lane counts.
        let n = try Self.network("""
            {"block": "network", "embedding": "imagenet", "dims": [8, 10], "heads": [2, 2], "depths": [1, 1],
             "image": [16, 24], "classes": 3, "timeSteps": 2}
            """, seed: seed)
        try Self.check(n, folding: NetworkFolding(lanes: 5), images: 1, seed: seed, stall: 0.3)
    }
}
