import Description
import Foundation

/// The integer parameters of a QKFormer MLP (docs/arithmetic.md §6), after BN folding and
/// quantization: `h = LIF(W1 x + b1)` with `hidden` (= mlpRatio * C) outputs, then
/// `y = LIF(W2 h + b2)` with `C` outputs. Each LIF is QKFormer's (tau 2, hard reset to 0,
/// decayInput, threshold 1.0 on its channel's grid).
public struct MLPParameters: Hashable, Sendable {
    /// `C`, the channels in and out.
    public let dim: Int
    /// The hidden channels (`mlpRatio * C`).
    public let hidden: Int
    /// `T`, the time steps of one sample.
    public let timeSteps: Int
    /// `C -> hidden`, one LIF per hidden channel.
    public let fc1: SpikingLinearLayer
    /// `hidden -> C`, one LIF per output channel.
    public let fc2: SpikingLinearLayer

    public init(dim: Int, hidden: Int, timeSteps: Int, fc1: SpikingLinearLayer, fc2: SpikingLinearLayer) throws {
        guard dim >= 1 else { throw GoldenError(field: "dim", "must be >= 1, got \(dim)") }
        guard hidden >= 1 else { throw GoldenError(field: "hidden", "must be >= 1 (mlpRatio * dim), got \(hidden)") }
        guard timeSteps >= 1 else { throw GoldenError(field: "timeSteps", "must be >= 1, got \(timeSteps)") }
        guard fc1.linear.inputs == dim && fc1.linear.outputs == hidden else {
            throw GoldenError(field: "fc1.weights",
                              "expected \(hidden)x\(dim) (hidden x dim), got \(fc1.linear.outputs)x\(fc1.linear.inputs)")
        }
        guard fc2.linear.inputs == hidden && fc2.linear.outputs == dim else {
            throw GoldenError(field: "fc2.weights",
                              "expected \(dim)x\(hidden) (dim x hidden), got \(fc2.linear.outputs)x\(fc2.linear.inputs)")
        }
        self.dim = dim
        self.hidden = hidden
        self.timeSteps = timeSteps
        self.fc1 = fc1
        self.fc2 = fc2
    }

    /// Checks that `input` is `[T][N][dim]` and returns `N`.
    func tokens(of input: SpikeTensor) throws -> Int {
        guard input.shape.count == 3 else {
            throw GoldenError(field: "input", "expected a [T, N, C] tensor, got shape \(input.shape)")
        }
        guard input.shape[0] == timeSteps else {
            throw GoldenError(field: "input", "has \(input.shape[0]) time steps, the MLP has T = \(timeSteps)")
        }
        guard input.shape[2] == dim else {
            throw GoldenError(field: "input", "has \(input.shape[2]) channels, the MLP has C = \(dim)")
        }
        guard input.shape[1] >= 1 else { throw GoldenError(field: "input", "has no tokens") }
        return input.shape[1]
    }

    /// The self-checking LIF banks of one token for inputs whose counts are at most `maxCount`:
    /// fc1 reads counts, fc2 reads fc1's 0/1 spikes. Throws when a range leaves 64 bits.
    func banks(maxCount: UInt8) throws -> (fc1: LIFBank, fc2: LIFBank) {
        (try wrap("fc1") { try fc1.makeBank(groups: 1, maxCount: maxCount) },
         try wrap("fc2") { try fc2.makeBank(groups: 1, maxCount: 1) })
    }
}

/// Everything the MLP computed for one sample.
public struct MLPTrace: Hashable, Sendable {
    /// fc1 and its LIF, `[T][N][hidden]`.
    public var fc1: SpikingLayerTrace
    /// fc2 and its LIF, `[T][N][C]`.
    public var fc2: SpikingLayerTrace
    /// `MLP(x)`, the fc2 spikes, `[T][N][C]`.
    public var output: SpikeTensor

    init(timeSteps t: Int, tokens n: Int, dim c: Int, hidden: Int) {
        fc1 = SpikingLayerTrace(shape: [t, n, hidden])
        fc2 = SpikingLayerTrace(shape: [t, n, c])
        output = Tensor(shape: [t, n, c], repeating: 0)
    }
}

/// The golden QKFormer MLP (docs/arithmetic.md §3, §5, §6).
///
/// The MLP is token-local, so it runs as the hardware streams: token by token, the T time steps
/// of a token innermost, every LIF reset at the first time step of each token (spikingjelly's
/// multi-step LIF evolves each (token, channel) element over T). fc1 reads spike counts: a
/// count `m` adds its weight row `m` times (docs/arithmetic.md §5); fc2 reads fc1's 0/1 spikes.
public enum MLP {
    /// Runs one sample, `input` `[T][N][C]` counts; the LIF banks are range-checked for the
    /// largest count present.
    public static func run(_ p: MLPParameters, input: SpikeTensor) throws -> MLPTrace {
        try run(p, input: input, maxCount: Int(input.scalars.max() ?? 0))
    }

    /// Runs one sample whose counts are declared to be at most `maxCount` (the width the
    /// hardware was sized for): throws when a count exceeds it, and range-checks every LIF
    /// against the intervals that `maxCount` implies.
    public static func run(_ p: MLPParameters, input: SpikeTensor, maxCount: Int) throws -> MLPTrace {
        let n = try p.tokens(of: input)
        guard (0...255).contains(maxCount) else {
            throw GoldenError(field: "maxCount", "must be in 0...255 (uint8 counts), got \(maxCount)")
        }
        if let i = input.scalars.firstIndex(where: { Int($0) > maxCount }) {
            let c = i % p.dim, token = (i / p.dim) % n, step = i / (p.dim * n)
            throw GoldenError(field: "input",
                              "count \(input.scalars[i]) at time step \(step), token \(token), channel \(c) exceeds maxCount \(maxCount); size the MLP for a larger count")
        }
        let (t, c, hid) = (p.timeSteps, p.dim, p.hidden)
        var trace = MLPTrace(timeSteps: t, tokens: n, dim: c, hidden: hid)
        var (b1, b2) = try p.banks(maxCount: UInt8(maxCount))
        var cur1 = [Int64](repeating: 0, count: hid)
        var cur2 = [Int64](repeating: 0, count: c)
        for token in 0..<n {
            b1.reset(); b2.reset()
            for step in 0..<t {
                let base = (step * n + token) * c
                let hbase = (step * n + token) * hid
                trace.fc1.ops += p.fc1.linear.apply(input.scalars[base..<(base + c)], into: &cur1)
                trace.fc1.step(&b1, neuronBase: 0, currents: cur1, at: hbase)
                trace.fc2.ops += p.fc2.linear.apply(trace.fc1.spikes.scalars[hbase..<(hbase + hid)], into: &cur2)
                trace.fc2.step(&b2, neuronBase: 0, currents: cur2, at: base)
            }
        }
        trace.output = trace.fc2.spikes
        return trace
    }
}
