import Blocks
import Description

/// What the cycle model needs to know about one generated SSA block (`makeSSA`).
public struct SSAShape: Sendable, Hashable {
    public var channels: Int
    public var heads: Int
    public var tokens: Int
    public var timeSteps: Int
    /// `P`.
    public var lanes: Int
    /// Input counts per `s_axis` beat.
    public var inputChunk: Int
    /// Banks of `S` counters (1 or 2).
    public var banks: Int
    /// Bits of an input count: the Q, K and V accumulators' product register follows it.
    public var inputCountWidth: Int

    public init(channels: Int, heads: Int, tokens: Int, timeSteps: Int, lanes: Int, inputChunk: Int, banks: Int,
                inputCountWidth: Int = 1) {
        (self.channels, self.heads, self.tokens, self.timeSteps) = (channels, heads, tokens, timeSteps)
        (self.lanes, self.inputChunk, self.banks, self.inputCountWidth) = (lanes, inputChunk, banks, inputCountWidth)
    }

    public init(ssa c: SSAConfig) {
        self.init(channels: c.channels, heads: c.heads, tokens: c.tokens, timeSteps: c.timeSteps, lanes: c.lanes,
                  inputChunk: c.inputChunk, banks: c.sBanks, inputCountWidth: c.countWidth)
    }

    /// `G = ceil(C / P)`.
    public var groups: Int { (channels + lanes - 1) / lanes }
    public var inputBeats: Int { (channels + inputChunk - 1) / inputChunk }
    public var vectorsPerSample: Int { tokens * timeSteps }
}

/// The events of one vector (one token at one time step) through SSA.
public struct SSAVectorEvents: Sendable, Hashable {
    /// Non-zero input counts.
    public var input: Int
    /// Q, K spikes and the attention neuron's spikes `A`.
    public var q: Int, k: Int, attention: Int
    public init(input: Int, q: Int, k: Int, attention: Int) {
        (self.input, self.q, self.k, self.attention) = (input, q, k, attention)
    }

    /// The vectors of one sample in stream order (tokens in order, the `T` steps of a token
    /// innermost), from dense `[T][N][C]` tensors: the input, Q, K and A.
    public static func vectors(shape s: SSAShape, input: [UInt8], q: [UInt8], k: [UInt8], attention: [UInt8]) -> [SSAVectorEvents] {
        let T = s.timeSteps, N = s.tokens, C = s.channels
        precondition([input, q, k, attention].allSatisfy { $0.count == T * N * C }, "tensors must be [T][N][C]")
        func nz(_ x: [UInt8], _ base: Int) -> Int { (0..<C).reduce(0) { $0 + (x[base + $1] != 0 ? 1 : 0) } }
        var out: [SSAVectorEvents] = []
        for n in 0..<N {
            for t in 0..<T {
                let b = (t * N + n) * C
                out.append(SSAVectorEvents(input: nz(input, b), q: nz(q, b), k: nz(k, b), attention: nz(attention, b)))
            }
        }
        return out
    }
}

/// The cycle model of the generated SSA block with no stalls, sample by sample
/// (docs/estimate-cycles.md). Fitted on `SSACyclesVsSimulationTests.calibration`, checked on its
/// held-out configs (within 5% of Verilator).
///
/// - Pass 1 (the input through the Q, K and V accumulators, `G` cycles per input event and
///   `o1` idle cycles between vectors: the hand-over and the drain's wait for the last write,
///   `SpikeAccumulatorPipeline`, except 1 at `G = 1`; the K events into `S`, one per cycle) takes
///   `sum over vectors of max(input x G + o1, beats, K + 1)`. Its S updates wait for the sample's
///   bank: with one bank until pass 2 of the previous sample has freed it, with two until pass 2
///   of the sample before that has; the accumulators, LIF banks and K/V buffers run about
///   `ahead` vectors into the sample before that wait stops them.
/// - Pass 2 starts when the last vector's K events are in `S` (`K + G + l2` cycles after pass 1
///   ends) and after pass 2 of the previous sample, and takes, per vector,
///   `max(max(Q, 1) + 2 + G, A x G)`: the Q events into the sums, the end marker and the
///   `G`-beat drain into the attention neuron, or the projection's `G` cycles per attention
///   spike, whichever is longer.
/// - The last output beat leaves after the last vector's projection and `G` output beats
///   (`A x G + G + tail`).
public struct SSACycleModel: Sendable {
    public let shape: SSAShape
    let o1: Int, o2 = 0, l2 = 4, tail = 4, ahead = 4

    public init(_ shape: SSAShape) {
        self.shape = shape
        // At G = 1 the drain's one-cycle wait does not show (Verilator, `SSACyclesVsSimulationTests`'
        // C16 P16: 1 idle cycle a vector fits, 2 is 10% slow).
        o1 = shape.groups == 1 ? 1 : SpikeAccumulatorPipeline(groups: shape.groups, countWidth: shape.inputCountWidth).vectorOverhead
    }

    func pass1(_ s: [SSAVectorEvents]) -> Int {
        let G = shape.groups, B = shape.inputBeats
        return s.reduce(0) { $0 + max($1.input * G, B, $1.k + 1) + o1 }
    }

    func pass2(_ s: [SSAVectorEvents]) -> Int {
        let G = shape.groups
        return s.reduce(0) { $0 + max(max($1.q, 1) + 2 + G, $1.attention * G) + o2 }
    }

    /// Cycles from reset to the last output beat of `samples` streamed back to back: what a
    /// co-simulation without stalls measures.
    public func runCycles(_ samples: [[SSAVectorEvents]]) -> Int {
        var p1End: [Int] = [], p2End: [Int] = []
        for (i, s) in samples.enumerated() {
            // The accumulators, LIF banks and K/V buffers take about `ahead` vectors of a sample
            // before its first S update must wait for the bank.
            let bankFree = i >= shape.banks ? p2End[i - shape.banks] - pass1(Array(s.prefix(ahead))) : 0
            let start = max(i > 0 ? p1End[i - 1] : 0, bankFree)
            p1End.append(start + pass1(s))
            // The last vector's K events reach S after its accumulation and LIF step.
            let s2 = max(p1End[i] + (s.last?.k ?? 0) + shape.groups + l2, i > 0 ? p2End[i - 1] : 0)
            p2End.append(s2 + pass2(s))
        }
        // The last vector's attention spikes through the projection, then its G output beats.
        let last = samples.last?.last
        return (p2End.last ?? 0) + (last?.attention ?? 0) * shape.groups + shape.groups + tail
    }

    /// Steady-state cycles per sample: the difference between three and two copies.
    public func cyclesPerSample(_ sample: [SSAVectorEvents]) -> Int {
        runCycles([sample, sample, sample]) - runCycles([sample, sample])
    }
}

/// Firing rates SSA's cycle model reads: the block input, Q, K and the attention neuron `A`.
/// QKFormer reports none for its SSA stage (Table 7 covers stages 1 and 2), so the defaults are
/// assumptions, and are printed as such.
public struct SSAFiringRates: Sendable, Hashable {
    public var input: Double, q: Double, k: Double, attention: Double
    public var source: String
    public init(input: Double, q: Double, k: Double, attention: Double, source: String) {
        (self.input, self.q, self.k, self.attention, self.source) = (input, q, k, attention, source)
    }

    public static let assumed = SSAFiringRates(input: 0.2, q: 0.1, k: 0.1, attention: 0.1,
                                               source: "assumed; QKFormer reports no SSA rates")
}

extension SSACycleModel {
    /// One synthetic sample: every channel of every vector non-zero independently at its rate,
    /// from a fixed seed.
    public func syntheticSample(_ r: SSAFiringRates, seed: UInt64 = 0x5EED_CAFE, index: Int = 0) -> [SSAVectorEvents] {
        var rng = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9)
        let C = shape.channels
        func draw(_ p: Double) -> Int { (0..<C).reduce(0) { n, _ in n + (Double.random(in: 0..<1, using: &rng) < p ? 1 : 0) } }
        return (0..<shape.vectorsPerSample).map { _ in
            SSAVectorEvents(input: draw(r.input), q: draw(r.q), k: draw(r.k), attention: draw(r.attention))
        }
    }

    /// Cycles of `samples` synthetic samples back to back, from reset to the last output beat.
    public func runCycles(rates: SSAFiringRates, samples: Int) -> Int {
        runCycles((0..<samples).map { syntheticSample(rates, index: $0) })
    }

    /// Steady-state cycles per sample at `rates`.
    public func cyclesPerSample(rates: SSAFiringRates) -> Double {
        let s = (0..<3).map { syntheticSample(rates, index: $0) }
        return Double(runCycles(s) - runCycles(Array(s.prefix(2))))
    }
}

/// The QKFormer block around SSA, `x1 = x + SSA(x)`, `x2 = x1 + MLP(x1)`: the MLP starts on a
/// sample's first `x1` vector (after SSA's pass 1 and the start of its pass 2) and runs beside
/// SSA, so the block takes the longer of the two, plus the MLP's latency for the last vector.
public struct SSABlockCycleModel: Sendable {
    public let ssa: SSACycleModel
    public let mlp: MLPCycleModel
    public init(ssa: SSAShape, mlp: MLPShape) { (self.ssa, self.mlp) = (SSACycleModel(ssa), MLPCycleModel(mlp)) }

    /// From each sample's SSA and MLP events per vector (the MLP's are of `x1`).
    public func runCycles(ssa s: [[SSAVectorEvents]], mlp m: [[MLPVectorEvents]]) -> Int {
        let ssaRun = ssa.runCycles(s)
        // SSA's first output: pass 1 of the first sample, then its pass 2 starts.
        let first = s.first.map { ssa.pass1($0) + ($0.last?.k ?? 0) + ssa.shape.groups + ssa.l2 } ?? 0
        let lastVector = m.last?.last.map { [[$0]] } ?? []
        return max(ssaRun, first + mlp.runCycles(m)) + (lastVector.isEmpty ? 0 : mlp.runCycles(lastVector))
    }
}
