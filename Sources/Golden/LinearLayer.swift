import Description
import Foundation

/// A linear layer on spike counts (Conv1d/Conv2d kernel 1, Linear; docs/arithmetic.md §3):
/// `I[o] = b[o] + sum_i x[i] * W[o][i]`, with BatchNorm already folded into `W` and `b`.
///
/// It works as the event-driven hardware does: the accumulators start at the bias, and each
/// non-zero input, in increasing input index, adds `x[i] * W[o][i]` to every output. Exact
/// unless `accumulatorWidth` is forced; then every addition saturates to that signed width.
/// Because one input's additions all have the same sign per output, adding `x * w` once or `w`
/// `x` times saturates identically; only the input order matters, and it is fixed as ascending.
public struct LinearLayer: Hashable, Sendable {
    public let inputs: Int
    public let outputs: Int
    /// `W[o][i]`, row-major `[outputs][inputs]`.
    public let weights: [Int64]
    public let bias: [Int64]
    /// A forced accumulator width (saturating at each addition), or nil for exact accumulation.
    public let accumulatorWidth: Int?
    /// `W` transposed to `[inputs][outputs]`, so an event reads one contiguous row.
    let columns: [Int64]

    /// `weights[o][i]`; `bias` defaults to zeros (a conv without bias, before BN folding).
    public init(weights: [[Int64]], bias: [Int64]? = nil, accumulatorWidth: Int? = nil) throws {
        let outputs = weights.count
        let inputs = weights.first?.count ?? 0
        for (o, row) in weights.enumerated() where row.count != inputs {
            throw GoldenError(field: "weights[\(o)]", "has \(row.count) inputs, expected \(inputs)")
        }
        try self.init(inputs: inputs, outputs: outputs, weights: weights.flatMap { $0 },
                      bias: bias ?? [Int64](repeating: 0, count: outputs), accumulatorWidth: accumulatorWidth)
    }

    /// Row-major `[outputs][inputs]` weights.
    public init(inputs: Int, outputs: Int, weights: [Int64], bias: [Int64], accumulatorWidth: Int? = nil) throws {
        guard inputs >= 1, outputs >= 1 else {
            throw GoldenError(field: "weights", "a linear layer needs at least one input and one output, got \(outputs)x\(inputs)")
        }
        guard weights.count == inputs * outputs else {
            throw GoldenError(field: "weights", "expected \(outputs)x\(inputs) = \(inputs * outputs) weights, got \(weights.count)")
        }
        guard bias.count == outputs else {
            throw GoldenError(field: "bias", "expected \(outputs) values, got \(bias.count)")
        }
        if let w = accumulatorWidth {
            guard w >= 1 && w <= 64 else {
                throw GoldenError(field: "accumulatorWidth", "must be in 1...64 bits, got \(w)")
            }
            if let o = bias.firstIndex(where: { !SignedWidth.fits($0, w) }) {
                throw GoldenError(field: "bias[\(o)]",
                                  "\(bias[o]) does not fit the forced \(w)-bit accumulator; widen accumulatorWidth to at least \(SignedWidth.required(bias[o]))")
            }
        }
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.bias = bias
        self.accumulatorWidth = accumulatorWidth
        var t = [Int64](repeating: 0, count: inputs * outputs)
        for o in 0..<outputs { for i in 0..<inputs { t[i * outputs + o] = weights[o * inputs + i] } }
        columns = t
    }

    /// `W[o][i]`.
    public func weight(output o: Int, input i: Int) -> Int64 { weights[o * inputs + i] }

    /// The currents for input counts `x` (length `inputs`), and the work done.
    public func apply(_ x: [UInt8]) -> (currents: [Int64], ops: SynapticOps) {
        var out = [Int64](repeating: 0, count: outputs)
        let ops = apply(x[...], into: &out)
        return (out, ops)
    }

    /// Writes the currents for input counts `x` into `out` (length `outputs`).
    public func apply(_ x: ArraySlice<UInt8>, into out: inout [Int64]) -> SynapticOps {
        precondition(x.count == inputs, "linear layer needs \(inputs) inputs, got \(x.count)")
        precondition(out.count == outputs, "linear layer writes \(outputs) outputs, got room for \(out.count)")
        for o in 0..<outputs { out[o] = bias[o] }
        var ops = SynapticOps()
        for (i, count) in zip(0..<inputs, x) where count != 0 {
            ops.events += 1
            ops.countSum += Int(count)
            let m = Int64(count)
            let row = i * outputs
            if let w = accumulatorWidth {
                let lo = SignedWidth.minimum(w), hi = SignedWidth.maximum(w)
                for o in 0..<outputs {
                    out[o] = LinearLayer.saturatingAdd(out[o], m, columns[row + o], lo, hi)
                }
            } else {
                for o in 0..<outputs {
                    let (p, o1) = m.multipliedReportingOverflow(by: columns[row + o])
                    let (s, o2) = out[o].addingReportingOverflow(p)
                    precondition(!o1 && !o2,
                                 "linear layer output \(o) overflowed 64 bits at input \(i); its accumulator range (outputRange) exceeds what the golden model holds, force accumulatorWidth to saturate")
                    out[o] = s
                }
            }
        }
        ops.adds = ops.events * outputs
        return ops
    }

    /// `acc + m * w` saturated to `[lo, hi]`, computed exactly (acc is already in range).
    @inline(__always)
    static func saturatingAdd(_ acc: Int64, _ m: Int64, _ w: Int64, _ lo: Int64, _ hi: Int64) -> Int64 {
        let (p, o1) = m.multipliedReportingOverflow(by: w)
        if o1 { return w > 0 ? hi : lo }               // |m*w| >= 2^63 > hi - lo: past the bound
        let (s, o2) = acc.addingReportingOverflow(p)
        if o2 { return p > 0 ? hi : lo }
        return min(max(s, lo), hi)
    }

    /// The range of each output's current when every input count is in `0...maxCount`
    /// (clamped to the accumulator width when it is forced). Throws when a bound leaves 64 bits.
    public func outputRange(maxCount: UInt8) throws -> [ClosedRange<Int64>] {
        let m = Int64(maxCount)
        return try (0..<outputs).map { o in
            var lo = bias[o], hi = bias[o]
            for i in 0..<inputs {
                let (p, ov) = m.multipliedReportingOverflow(by: weights[o * inputs + i])
                var ok = !ov
                if p < 0 { let r = lo.addingReportingOverflow(p); lo = r.partialValue; ok = ok && !r.overflow }
                else { let r = hi.addingReportingOverflow(p); hi = r.partialValue; ok = ok && !r.overflow }
                if !ok {
                    if let w = accumulatorWidth {   // the saturating accumulator bounds it anyway
                        return SignedWidth.range(w)
                    }
                    throw GoldenError(field: "weights[\(o)]",
                                      "the accumulator range exceeds 64 bits, which the golden model cannot hold; force accumulatorWidth (saturating)")
                }
            }
            if let w = accumulatorWidth {
                return SignedWidth.saturate(lo, w)...SignedWidth.saturate(hi, w)
            }
            return lo...hi
        }
    }
}
