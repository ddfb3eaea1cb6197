import Description
import HDL
/// The cycle model driven by firing rates instead of measured events: `CycleModel` run on
/// synthetic samples drawn at those rates from a fixed seed, so that the estimate is
/// reproducible and carries the per-vector variation (the pipeline's cost is a max of data-
/// dependent terms, so the mean event count alone would underestimate it).
///
/// Draws, per vector: every input channel is an event with probability `rates.input`. `X'`
/// follows the block's mask structure: QKTA, one token-mask bit per head with probability
/// `rates.attention`, and then each channel of the head with probability
/// `rates.xPrime / rates.attention`; QKCA, one channel-mask bit per channel and time step
/// (shared by all tokens) with probability `rates.attention`, then each token's channel with
/// probability `rates.xPrime / rates.attention`.
public struct RateCycleModel: Sendable {
    public let shape: AcceleratorShape
    public let seed: UInt64
    public init(_ shape: AcceleratorShape, seed: UInt64 = 0x5EED_CAFE) {
        self.shape = shape
        self.seed = seed
    }

    /// One synthetic sample (`N*T` vectors in stream order) at `rates`.
    public func syntheticSample(_ rates: FiringRates, index: Int = 0) -> [VectorEvents] {
        var rng = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let C = shape.channels, T = shape.timeSteps, N = shape.tokens
        let a = min(max(rates.attention, rates.xPrime, 1e-12), 1)
        let kGiven = min(rates.xPrime / a, 1)
        let heads = shape.mask == .token ? shape.heads : C
        let d = C / heads
        // QKCA: the channel mask of each time step, shared by every token.
        let channelMask: [[Bool]] = shape.mask == .channel
            ? (0..<T).map { _ in (0..<C).map { _ in rng.uniform() < a } } : []
        var out: [VectorEvents] = []
        out.reserveCapacity(N * T)
        var spikes = [Bool](repeating: false, count: C)
        for _ in 0..<N {
            for t in 0..<T {
                var beats = [Int](repeating: 0, count: shape.inputBeats)
                for c in 0..<C where rng.uniform() < rates.input { beats[c / shape.inputChunk] += 1 }
                if shape.mask == .token {
                    for h in 0..<heads {
                        let on = rng.uniform() < a
                        for c in (h * d)..<((h + 1) * d) { spikes[c] = on && rng.uniform() < kGiven }
                    }
                } else {
                    for c in 0..<C { spikes[c] = channelMask[t][c] && rng.uniform() < kGiven }
                }
                var groups = [Int](repeating: 0, count: shape.groups)
                for c in 0..<C where spikes[c] { groups[c / shape.lanes] += 1 }
                out.append(VectorEvents(inputPerBeat: beats, maskedPerGroup: groups))
            }
        }
        return out
    }

    /// Independent synthetic draws averaged, so that at least `minimumVectors` vectors are
    /// simulated (small shapes would otherwise carry the sampling noise of one draw).
    public var minimumVectors = 8192

    func replicas(_ samplesPerReplica: Int) -> Int {
        max(1, (minimumVectors + samplesPerReplica * shape.vectorsPerSample - 1) / (samplesPerReplica * shape.vectorsPerSample))
    }

    /// Steady-state cycles per sample at `rates` (the mean over the synthetic draws).
    public func cyclesPerSample(_ rates: FiringRates) -> Double {
        let r = replicas(1)
        let total = (0..<r).reduce(0) { $0 + CycleModel(shape).cyclesPerSample(syntheticSample(rates, index: $1)) }
        return Double(total) / Double(r)
    }

    /// Cycles of a run of `samples` synthetic samples from reset to the last output beat (the
    /// pipeline fill included; the mean over the synthetic draws): comparable with a
    /// co-simulation of that many samples.
    public func runCycles(rates: FiringRates, samples: Int) -> Int {
        let r = replicas(samples)
        let total = (0..<r).reduce(0) { acc, rep in
            acc + CycleModel(shape).runCycles((0..<samples).map { syntheticSample(rates, index: rep * samples + $0) })
        }
        return Int((Double(total) / Double(r)).rounded())
    }
}

extension SplitMix64 {
    /// Uniform in [0, 1), from the top 53 bits.
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
}
