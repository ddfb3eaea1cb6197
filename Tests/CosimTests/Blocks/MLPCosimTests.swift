import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The MLP accelerator against `Golden.MLP` on small odd shapes, input counts up to 4, under
/// random input and output stalls: every spike of every time step.
@Suite(.serialized) struct MLPCosimTests {
    @Test(arguments: [
        (channels: 7, hidden: 21, lanes: 3, chunk: 5, count: 4, storage: LIFStateStorage.registers),
        (channels: 5, hidden: 20, lanes: 8, chunk: 5, count: 2, storage: .ram),
        (channels: 9, hidden: 13, lanes: 2, chunk: 4, count: 1, storage: .registers),
    ])
    func smallMLPMatchesGolden(channels: Int, hidden: Int, lanes: Int, chunk: Int, count: Int, storage: LIFStateStorage) throws {
        let seed = TestSeed.value(default: 101)
        print("MLPCosimTests C \(channels) hidden \(hidden) lanes \(lanes) count \(count) \(storage) seed \(seed)")
        let (T, N) = (3, 5)
        let model = try DescribedModels.mlp(channels: channels, hidden: hidden, timeSteps: T, tokens: N, lanes: lanes, inputChunk: chunk,
                                            seed: seed, maxInputCount: count, storage: storage)
        let samples = model.block.input.randomSamples(rate: 0.4, count: 3, seed: seed)
        let expected = try samples.map(model.expected)
        var o = BlockStreamCosim.Options()
        o.seed = seed
        o.inputStall = 0.3
        o.outputStall = 0.3
        let design = try Elaborate.run(try makeMLP(model.mlpConfig))
        let r = try BlockStreamCosim.run(design, input: model.hardware.inputFormat, output: model.hardware.outputFormat,
                                         tokens: N, samples: samples, expected: expected, options: o)
        #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(3)); replay \(r.replayDirectory?.path ?? "-")")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        let ones = expected.reduce(0) { $0 + $1.scalars.reduce(0) { $0 + Int($1) } }
        let total = expected.reduce(0) { $0 + $1.scalars.count }
        print("  \(r.vectors) vectors, \(r.cycles) cycles, output rate \(Double(ones) / Double(total))")
        #expect(ones > total / 50, "the output must not be trivially silent")
        #expect(ones < total, "the output must not be trivially all ones")
    }

    /// A wrong expectation is caught, named, counted per sample, and leaves a replay directory.
    @Test func wrongExpectationIsReportedWithReplay() throws {
        let seed = TestSeed.value(default: 102)
        print("MLPCosimTests wrong expectation seed \(seed)")
        let (T, N, C) = (2, 3, 6)
        let model = try DescribedModels.mlp(channels: C, hidden: 12, timeSteps: T, tokens: N, lanes: 4, seed: seed, maxInputCount: 2)
        let samples = model.block.input.randomSamples(rate: 0.4, count: 2, seed: seed)
        var expected = try samples.map(model.expected)
        // Flip one spike of sample 1 at time step 1, token 2, channel 5.
        let i = expected[1].offset([1, 2, 5])
        expected[1].scalars[i] ^= 1
        var o = BlockStreamCosim.Options()
        o.seed = seed
        let r = try BlockStreamCosim.run(try Elaborate.run(try makeMLP(model.mlpConfig)), input: model.hardware.inputFormat,
                                         output: model.hardware.outputFormat, tokens: N, samples: samples, expected: expected, options: o)
        #expect(r.mismatchCount == 1)
        #expect(r.failedSamples == 1)
        #expect(r.mismatches.first.map { [$0.sample, $0.timeStep, $0.token, $0.channel] } == [1, 1, 2, 5])
        let dir = try #require(r.replayDirectory)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("replay.sh").path))
        let text = try String(contentsOf: dir.appendingPathComponent("mismatches.txt"), encoding: .utf8)
        #expect(text.contains("sample 1, time step 1, token 2, channel 5"))
    }
}
