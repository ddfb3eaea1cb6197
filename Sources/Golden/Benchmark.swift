import Description
import Foundation

/// The measured speed of the golden LIF bank.
public struct LIFBenchmarkResult: Hashable, Sendable, CustomStringConvertible {
    public var neurons: Int
    public var steps: Int
    public var seconds: Double
    /// Spikes fired (also keeps the optimizer from discarding the work).
    public var spikes: Int
    /// Neuron updates (one neuron, one time step) per second.
    public var updatesPerSecond: Double { seconds > 0 ? Double(neurons * steps) / seconds : .infinity }

    public var description: String {
        String(format: "%d neurons x %d steps in %.3f s: %.3g LIF updates/s (%d spikes)",
               neurons, steps, seconds, updatesPerSecond, spikes)
    }
}

/// Times `steps` steps of a bank of `neurons` QKFormer neurons (F = 8, E = 4) on seeded random
/// currents, and returns the result; the number to watch is `updatesPerSecond`.
public func benchmarkLIFResult(neurons: Int, steps: Int, seed: UInt64 = 1) -> LIFBenchmarkResult {
    precondition(neurons >= 1 && steps >= 1, "benchmarkLIF needs neurons >= 1 and steps >= 1")
    let p = LIFParameters.qkformer(weightFractionBits: 4, extraFractionBits: 4)
    var rng = SplitMix64(seed: seed)
    // A pool of currents on the weight grid around the threshold (1.0 = 16 there), read at a
    // different offset each step, so memory traffic is the bank's rather than the stimulus's.
    let poolSize = neurons + 4096
    let pool = (0..<poolSize).map { _ in Int64.random(in: -8...40, using: &rng) }
    var bank = LIFBank(count: neurons, parameters: p)
    var spikes = 0
    let start = ProcessInfo.processInfo.systemUptime
    pool.withUnsafeBufferPointer { all in
        for t in 0..<steps {
            let offset = (t &* 977) % 4096
            spikes += bank.stepAll(UnsafeBufferPointer(rebasing: all[offset..<(offset + neurons)]))
        }
    }
    let seconds = ProcessInfo.processInfo.systemUptime - start
    return LIFBenchmarkResult(neurons: neurons, steps: steps, seconds: seconds, spikes: spikes)
}

/// LIF updates (one neuron, one time step) per second of the golden LIF bank.
public func benchmarkLIF(neurons: Int, steps: Int) -> Double {
    benchmarkLIFResult(neurons: neurons, steps: steps).updatesPerSecond
}
