import Blocks
@testable import Cosim
import Description
import Foundation
import Golden
import HDL
import Testing

/// Whole DVS networks (no stem: the input is event frames as a count stream) in Verilator
/// against the golden model: every patch embedding and block on the golden model's stream before
/// it (the first embedding on the frames themselves), and the whole network end to end on random
/// frames, under random stalls; and a wrong expectation is reported, naming the layer.
@Suite(.serialized) struct NetworkDVSCosimTests {
    /// Stage 1 down-samples by 8 and stage 2 by 2: 16 x 32 gives 2 x 4 then 1 x 2 tokens.
    static let config = """
        {"block": "network", "embedding": "dvs", "dims": [8, 16], "heads": [2, 2], "depths": [1, 1],
         "image": [16, 32], "inChannels": 2, "classes": 4, "timeSteps": 2}
        """

    static func network(seed: UInt64) throws -> NetworkDescription {
        try NetworkDescription.random(try NetworkConfig.parse(json: Data(config.utf8)), seed: seed)
    }

    static func options(seed: UInt64, stall: Double) -> NetworkCosim.Options {
        var o = NetworkCosim.Options()
        (o.seed, o.inputStall, o.outputStall) = (seed, stall, stall)
        o.workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-dvscosim-test-\(getpid())-\(seed)")
        return o
    }

    /// The top's s_axis takes the frames as its header says: one beat of C counts per position and
    /// time step, T innermost, tlast on every beat, tuser[1] on a position's first time step,
    /// tuser[0] on every beat; the first section reads that format.
    @Test func framesEnterAsTheFirstSectionsCountStream() throws {
        let n = try Self.network(seed: 7)
        let hw = try NetworkHardware(n, folding: NetworkFolding(lanes: 3))
        #expect(hw.stem == nil)
        let f = try #require(n.image.frameStream)
        let input = hw.sections[0].input
        #expect(input.channels == 2 && input.lanes == 2 && input.beats == 1 && input.countWidth == 4 && input.timeSteps == 2)
        let frames = NetworkCosim.randomFrames(n.image, count: 2, seed: 7)
        #expect(frames.count == 2 && frames.allSatisfy { $0.shape == [f.timeSteps, f.tokens, f.channels] })
        #expect(frames.allSatisfy { $0.scalars.allSatisfy { Int($0) <= f.maxCount } })
        #expect(NetworkCosim.randomFrames(n.image, count: 2, seed: 7) == frames, "the same seed gives the same frames")
        #expect(NetworkCosim.randomImages(n.image, count: 2, seed: 7).isEmpty)
        let beats = try NetworkCosim.Input.frames(frames).beats(hw)
        #expect(beats.count == 2 * f.tokens * f.timeSteps)
        for (i, b) in beats.enumerated() {
            let n = (i / f.timeSteps) % f.tokens, t = i % f.timeSteps, x = frames[i / (f.tokens * f.timeSteps)]
            #expect(b.last && b.user == (t == 0 ? 3 : 1))
            #expect(b.data == PortDriver.pack((0..<f.channels).map { UInt64(x[t, n, $0]) }, laneWidth: 4, width: 8))
        }
        // The wrong kind of input is an error before anything is simulated.
        #expect(throws: ConfigError.self) { try NetworkCosim.simulate(hw, images: [Tensor<Int64>(shape: [2, 16, 32], repeating: 0)], options: .init()) }
        var tooLarge = frames[0]
        tooLarge.scalars[3] = UInt8(f.maxCount + 1)
        #expect(throws: ConfigError.self) { try NetworkCosim.simulate(hw, frames: [tooLarge], options: .init()) }
    }

    @Test func dvsNetworkEqualsTheGoldenModel() throws {
        let seed = TestSeed.value(default: 44)
        print("NetworkDVSCosimTests dvs seed \(seed)")
        let n = try Self.network(seed: seed)
        let hw = try NetworkHardware(n, folding: NetworkFolding(lanes: 3))
        let frames = NetworkCosim.randomFrames(n.image, count: 2, seed: seed)
        // Every stream carries spikes, and not only spikes.
        let golden = try GoldenNetwork(n)
        for x in frames {
            var rates: [String] = []
            for (name, t) in [("frames", x)] + (try golden.run(frames: x)).streams {
                let rate = Double(t.scalars.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }) / Double(t.scalars.count)
                #expect(rate > 0.01 && rate < 0.99, "\(name) fires at \(rate) (seed \(seed)): the test would not exercise it")
                rates.append("\(name) \(String(format: "%.2f", rate))")
            }
            print("NetworkDVSCosimTests dvs non-zero rates: \(rates.joined(separator: ", "))")
        }
        let r = try NetworkCosim.run(hw, frames: frames, options: Self.options(seed: seed, stall: 0.2))
        #expect(r.layers.map(\.name) == n.sections.map(\.name))
        for l in r.layers {
            #expect(l.passed, "layer \(l.name): \(l.firstMismatch ?? l.protocolErrors.first ?? "") (seed \(seed))")
        }
        #expect(r.zCompared == frames.count * n.config.classes)
        #expect(r.zMismatches.isEmpty && r.wholeErrors.isEmpty, "\((r.zMismatches + r.wholeErrors).first ?? "") (seed \(seed))")
        #expect(r.passed)
        print("NetworkDVSCosimTests dvs: layers \(r.layers.map { "\($0.name) \($0.cycles) cycles" }.joined(separator: ", ")); whole network \(r.wholeCycles ?? 0) cycles")
    }

    /// The golden model sees the first sample with one frame count changed (one that changes the
    /// first embedding's output and z): the first embedding's check names its first wrong time
    /// step, token and channel, the layers after it (each driven by the golden stream before it)
    /// pass, and the end-to-end check reports z.
    @Test func aWrongExpectationIsReported() throws {
        let seed = TestSeed.value(default: 44)
        print("NetworkDVSCosimTests wrong expectation seed \(seed)")
        let n = try Self.network(seed: seed)
        let hw = try NetworkHardware(n, folding: NetworkFolding(lanes: 3))
        let frames = NetworkCosim.randomFrames(n.image, count: 2, seed: seed)
        let golden = try GoldenNetwork(n)
        let right = try frames.map { try golden.run(frames: $0) }
        let maxCount = UInt8(try #require(n.image.frameStream).maxCount)
        var wrong: NetworkTrace?
        for k in frames[0].scalars.indices {
            var x = frames[0]
            x.scalars[k] = x.scalars[k] == 0 ? maxCount : 0
            let t = try golden.run(frames: x)
            if t.sections[0].trace.output != right[0].sections[0].trace.output && t.z != right[0].z {
                wrong = t
                break
            }
        }
        let w = try #require(wrong, "no single frame count changes the first embedding and z (seed \(seed))")
        var o = Self.options(seed: seed, stall: 0.2)
        o.writeReplay = false
        let r = try NetworkCosim.run(hw, input: .frames(frames), golden: [w, right[1]], options: o)
        #expect(!r.passed)
        let first = try #require(r.firstFailure)
        #expect(first.hasPrefix("layer patch_embed1: sample 0, time step "), "\(first)")
        #expect(first.contains(" token ") && first.contains(" channel "), "\(first)")
        #expect(r.layers.dropFirst().allSatisfy { $0.passed })
        #expect(r.zMismatches.first?.hasPrefix("frame sample 0 class ") == true, "\(r.zMismatches)")
        #expect(r.zMismatches.allSatisfy { $0.hasPrefix("frame sample 0 ") }, "only the first sample's z is wrong")
        print("NetworkDVSCosimTests wrong expectation reported: \(first); \(r.zMismatches.first ?? "")")
    }
}
