import Description
import HDL

/// Firing rates that set the work of the MLP and of the QKFormer block: the fraction of
/// non-zero counts or spikes in each stream.
public struct BlockFiringRates: Sendable, Hashable {
    /// Non-zero counts on the block input (the MLP's input when it stands alone).
    public var input: Double
    /// The attention mask: `A_t` (QKTA, per token and head) or `A_c` (QKCA, per channel).
    public var attention: Double
    /// `X' = A AND K`.
    public var xPrime: Double
    /// The attention's output spikes, `Attn(x)`: with the input they make `x1 = x + Attn(x)`.
    public var attentionOut: Double
    /// The fc1 spikes (the MLP's hidden layer).
    public var hidden: Double
    /// Where the numbers come from.
    public var source: String

    public init(input: Double, attention: Double = 0, xPrime: Double = 0, attentionOut: Double = 0, hidden: Double,
                source: String = "") {
        (self.input, self.attention, self.xPrime, self.attentionOut, self.hidden, self.source)
            = (input, attention, xPrime, attentionOut, hidden, source)
    }

    /// The fc1 rate assumed when none is given. QKFormer's Table 7 lists no MLP rates; 0.15 is
    /// an assumption in the range of the LIF layers it does list (0.04 to 0.35), not a measurement.
    public static let defaultHiddenRate = 0.15

    /// The rates of a block of `shape` at `stage`: the attention's as `FiringRates.resolve`
    /// (QKFormer's Table 7 unless given), the input's default 0.2, fc1 `defaultHiddenRate`.
    public static func resolve(shape: BlockShape, stage: Int, input: Double? = nil, hidden: Double? = nil) -> BlockFiringRates {
        let a = FiringRates.resolve(shape: shape.attention, stage: stage, input: input)
        let h = hidden ?? defaultHiddenRate
        return BlockFiringRates(input: a.input, attention: a.attention, xPrime: a.xPrime, attentionOut: a.out, hidden: h,
                                source: a.source + "; fc1 \(h) (\(hidden == nil ? "assumed; not in Table 7" : "given"))")
    }

    /// The rates of a stand-alone MLP: input 0.2 and fc1 `defaultHiddenRate` unless given.
    public static func resolve(mlp: MLPShape, input: Double? = nil, hidden: Double? = nil) -> BlockFiringRates {
        let i = input ?? FiringRates.defaultInputRate, h = hidden ?? defaultHiddenRate
        return BlockFiringRates(input: i, hidden: h,
                                source: "input \(i) (\(input == nil ? "default; not in Table 7" : "given")); fc1 \(h) (\(hidden == nil ? "assumed; not in Table 7" : "given"))")
    }
}

/// The composite blocks' cycle models driven by firing rates instead of measured events: the
/// event models (`MLPCycleModel`, `BlockCycleModel`) run on synthetic samples drawn at the rates
/// from a fixed seed, as `RateCycleModel` does for the attention blocks.
///
/// Draws, per vector: the block input and the fc1 spikes are independent per channel at
/// `input` and `hidden`; the attention's `X'` as `RateCycleModel` draws it; `x1` is non-zero
/// where the input is, and elsewhere with probability `attentionOut` (the attention output
/// drawn independently of the input).
public struct BlockRateCycleModel: Sendable {
    enum Target: Sendable { case mlp(MLPShape), block(BlockShape) }
    let target: Target
    public let seed: UInt64
    /// Independent synthetic draws are averaged until at least this many vectors are simulated.
    public var minimumVectors = 8192

    public init(mlp: MLPShape, seed: UInt64 = 0x5EED_CAFE) { (target, self.seed) = (.mlp(mlp), seed) }
    public init(block: BlockShape, seed: UInt64 = 0x5EED_CAFE) { (target, self.seed) = (.block(block), seed) }

    var mlpShape: MLPShape {
        switch target { case .mlp(let m): m; case .block(let b): b.mlp }
    }

    /// The MLP's events of one vector whose input beats hold `inputPerBeat` events.
    func mlpVector(_ inputPerBeat: [Int], _ rates: BlockFiringRates, _ rng: inout SplitMix64) -> MLPVectorEvents {
        let m = mlpShape
        let hidden = (0..<m.hiddenGroups).map { g in
            (0..<m.neuronsInHiddenGroup(g)).reduce(0) { acc, _ in acc + (rng.uniform() < rates.hidden ? 1 : 0) }
        }
        return MLPVectorEvents(inputPerBeat: inputPerBeat, hiddenPerGroup: hidden)
    }

    /// Input events per beat of `shape`'s input stream.
    func inputBeats(_ m: MLPShape, _ rate: Double, _ rng: inout SplitMix64) -> [Int] {
        (0..<m.inputBeats).map { b in (0..<m.channelsInInputBeat(b)).reduce(0) { acc, _ in acc + (rng.uniform() < rate ? 1 : 0) } }
    }

    /// One synthetic sample of a stand-alone MLP (`N*T` vectors).
    public func syntheticMLPSample(_ rates: BlockFiringRates, index: Int = 0) -> [MLPVectorEvents] {
        var rng = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let m = mlpShape
        return (0..<m.vectorsPerSample).map { _ in mlpVector(inputBeats(m, rates.input, &rng), rates, &rng) }
    }

    /// One synthetic sample of a QKFormer block (`N*T` vectors).
    public func syntheticBlockSample(_ shape: BlockShape, _ rates: BlockFiringRates, index: Int = 0) -> [BlockVectorEvents] {
        let attRates = FiringRates(input: rates.input, q: 0, k: 0, attention: rates.attention, xPrime: rates.xPrime,
                                   out: rates.attentionOut, source: rates.source)
        let att = RateCycleModel(shape.attention, seed: seed).syntheticSample(attRates, index: index)
        var rng = SplitMix64(seed: (seed ^ 0x3A7F) &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let m = shape.mlp
        return att.map { a in
            // x1 is non-zero where x is; each other channel of the beat where Attn(x) spikes.
            let x1 = (0..<m.inputBeats).map { b in
                let n = a.inputPerBeat[b]
                return n + (0..<(m.channelsInInputBeat(b) - n)).reduce(0) { acc, _ in acc + (rng.uniform() < rates.attentionOut ? 1 : 0) }
            }
            return BlockVectorEvents(attention: a, mlp: mlpVector(x1, rates, &rng))
        }
    }

    var vectorsPerSample: Int {
        switch target { case .mlp(let m): m.vectorsPerSample; case .block(let b): b.vectorsPerSample }
    }

    func replicas(_ samplesPerReplica: Int) -> Int {
        max(1, (minimumVectors + samplesPerReplica * vectorsPerSample - 1) / (samplesPerReplica * vectorsPerSample))
    }

    /// Cycles of a run of `samples` synthetic samples from reset to the last output beat (the
    /// mean over the draws): comparable with a co-simulation of that many samples.
    public func runCycles(rates: BlockFiringRates, samples: Int) -> Int {
        let r = replicas(samples)
        var total = 0
        for rep in 0..<r {
            let idx = (0..<samples).map { rep * samples + $0 }
            switch target {
            case .mlp(let m): total += MLPCycleModel(m).runCycles(idx.map { syntheticMLPSample(rates, index: $0) })
            case .block(let b): total += BlockCycleModel(b).runCycles(idx.map { syntheticBlockSample(b, rates, index: $0) })
            }
        }
        return Int((Double(total) / Double(r)).rounded())
    }

    /// Steady-state cycles per sample at `rates` (the mean over the draws).
    public func cyclesPerSample(_ rates: BlockFiringRates) -> Double {
        let r = replicas(1)
        var total = 0
        for i in 0..<r {
            switch target {
            case .mlp(let m): total += MLPCycleModel(m).cyclesPerSample(syntheticMLPSample(rates, index: i))
            case .block(let b): total += BlockCycleModel(b).cyclesPerSample(syntheticBlockSample(b, rates, index: i))
            }
        }
        return Double(total) / Double(r)
    }
}
