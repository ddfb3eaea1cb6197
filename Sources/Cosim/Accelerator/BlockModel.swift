import Description
import Foundation
import HDL
import Blocks
import Golden

/// A block description made runnable: its hardware, folded, and its golden model, each derived
/// from the same description by its own layer. Neither computes anything for the other.
public struct BlockModel: Sendable {
    public let block: BlockDescription
    public let hardware: BlockHardware
    public let golden: GoldenBlock

    public init(_ d: BlockDescription, folding: Folding) throws {
        block = d
        do { hardware = try BlockHardware(d, folding: folding) } catch let e as BlockError {
            throw ConfigError(field: "block", e.description)
        }
        golden = try GoldenBlock(d)
    }

    public var config: BlockConfig { block.config }
    public var folding: Folding { hardware.folding }

    /// Random seeded weights (exact mode; `BlockDescription.random`), folded `lanes` wide.
    public static func random(_ c: BlockConfig, lanes: Int, seed: UInt64, maxInputCount: Int? = nil,
                              storage: LIFStateStorage = .auto, biasRange: ClosedRange<Double>? = nil,
                              mlpLanes: Int? = nil, hiddenLanes: Int? = nil, vectorsInFlight: Int = 4) throws -> BlockModel {
        try BlockModel(try BlockDescription.random(c, seed: seed, maxInputCount: maxInputCount, biasRange: biasRange),
                       folding: Folding(lanes: lanes, mlpLanes: mlpLanes, hiddenLanes: hiddenLanes, storage: storage,
                                        vectorsInFlight: vectorsInFlight))
    }

    /// The same block folded differently.
    public func refolded(_ f: Folding) throws -> BlockModel { try BlockModel(block, folding: f) }

    /// The same numbers reading inputs up to `maxCount`.
    public func reading(maxCount: Int) throws -> BlockModel {
        var d = block
        d.input.maxCount = maxCount
        return try BlockModel(try BlockDescription(config: d.config, input: d.input, body: d.body, origin: d.origin), folding: folding)
    }

    /// The golden model's run on each sample.
    public func traces(_ samples: [SpikeTensor]) throws -> [PartTrace] { try samples.map { try golden.run($0) } }

    /// The same block with each layer's biases shifted by one constant (on the weight grid) so
    /// that its first layers in stream order (Q, K and the projection of an attention; fc1 and
    /// fc2 of an MLP) fire at `targets` on one random input of rate `inputRate` (at most 64
    /// tokens), the rates measured with the golden model. Weights stay as they are, so the result
    /// is still exact. Returns the rates reached.
    public func calibrated(to targets: [Double], inputRate: Double, seed: UInt64) throws -> (model: BlockModel, rates: [Double]) {
        var small = block.input
        small.tokens = min(small.tokens, 64)
        let x = small.randomSample(rate: inputRate, seed: seed ^ 0xCA1B)
        func rates(_ d: BlockDescription) throws -> [Double] {
            var c = d.config
            c.tokens = small.tokens
            let t = try GoldenBlock(try BlockDescription(config: c, input: small, body: d.body, origin: d.origin)).run(x)
            return t.layers.map { l in Double(l.spikes.scalars.reduce(0) { $0 + Int($1) }) / Double(max(1, l.spikes.scalars.count)) }
        }
        let d = try block.calibratingBiases(to: targets) { d, layer in try rates(d)[layer] }
        return (try BlockModel(d, folding: folding), Array(try rates(d).prefix(targets.count)))
    }

    /// Lane utilisation over a run of `cycles` cycles on the samples whose golden traces are
    /// `traces`: useful accumulates (each input event adds into every output of its layer) over
    /// lanes x cycles, summed over every accumulator of the block.
    public func laneUtilization(_ traces: [PartTrace], cycles: Int) -> Double {
        let layers = block.body.layers, lanes = hardware.layerLanes
        var useful = 0
        for t in traces {
            for (i, l) in t.layers.enumerated() { useful += l.ops.events * layers[i].outputs }
        }
        let total = lanes.reduce(0, +) * cycles
        return total > 0 ? Double(useful) / Double(total) : 0
    }
}
