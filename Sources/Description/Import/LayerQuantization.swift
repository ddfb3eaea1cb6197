import Foundation

/// BatchNorm folding and quantization of one conv/linear layer (docs/arithmetic.md §4).
///
/// Folding, per output channel: `s = gamma / sqrt(var + eps)`, `W' = s W`,
/// `b' = s (b - mean) + beta`. Quantization picks, per output channel (or once for the layer),
/// the finest power-of-two grid `2^-Fw` on which every folded weight of the channel fits
/// `weightBits` signed bits after rounding, and rounds the weights and the bias to it (the bias
/// may need more bits). The layer is exact when no rounding changed any value.
public struct LayerQuantization: Sendable {
    /// Integer weights `[out][in]` and bias on their channel's grid.
    public let weights: [[Int64]]
    public let bias: [Int64]
    /// `Fw` per output channel (all equal for a per-layer grid).
    public let fractionBits: [Int]
    /// The largest `|rounded - folded|` over the layer's weights and biases, in real units.
    public let maxError: Double
    public var isExact: Bool { maxError == 0 }

    public struct BatchNorm: Sendable {
        public var gamma: [Double], beta: [Double], mean: [Double], variance: [Double]
        public var eps: Double
        public init(gamma: [Double], beta: [Double], mean: [Double], variance: [Double], eps: Double = 1e-5) {
            (self.gamma, self.beta, self.mean, self.variance, self.eps) = (gamma, beta, mean, variance, eps)
        }
    }

    /// `W' = s W`, `b' = s (b - mean) + beta` per output channel; no BatchNorm leaves W and b as
    /// they are (a missing bias is zero).
    public static func fold(weights: [[Double]], bias: [Double]?, batchNorm bn: BatchNorm?) throws -> (weights: [[Double]], bias: [Double]) {
        let outs = weights.count
        let b = bias ?? [Double](repeating: 0, count: outs)
        guard b.count == outs else { throw ConfigError(field: "bias", "has \(b.count) values for \(outs) output channels") }
        guard let bn else { return (weights, b) }
        for (name, v) in [("gamma", bn.gamma), ("beta", bn.beta), ("running_mean", bn.mean), ("running_var", bn.variance)] where v.count != outs {
            throw ConfigError(field: name, "has \(v.count) values for \(outs) output channels")
        }
        var w = weights, out = b
        for o in 0..<outs {
            guard bn.variance[o] + bn.eps > 0 else {
                throw ConfigError(field: "running_var", "channel \(o): var + eps = \(bn.variance[o] + bn.eps) is not positive")
            }
            let s = bn.gamma[o] / (bn.variance[o] + bn.eps).squareRoot()
            w[o] = weights[o].map { $0 * s }
            out[o] = s * (b[o] - bn.mean[o]) + bn.beta[o]
        }
        return (w, out)
    }

    /// Quantizes folded weights and bias to `weightBits`, per output channel or per layer.
    public static func quantize(weights: [[Double]], bias: [Double], weightBits: Int, perChannel: Bool) throws -> LayerQuantization {
        guard (2...16).contains(weightBits) else { throw ConfigError(field: "weightBits", "must be 2...16, got \(weightBits)") }
        guard weights.count == bias.count, let inputs = weights.first?.count, weights.allSatisfy({ $0.count == inputs }) else {
            throw ConfigError(field: "weights", "must be [out][in] with one bias per output channel")
        }
        guard weights.allSatisfy({ $0.allSatisfy(\.isFinite) }), bias.allSatisfy(\.isFinite) else {
            throw ConfigError(field: "weights", "contain NaN or infinity; check the exported tensors")
        }
        let hi = Double((1 << (weightBits - 1)) - 1), lo = -Double(1 << (weightBits - 1))
        /// The finest grid on which every value of `row` rounds into [lo, hi].
        func grid(_ row: [Double]) -> Int {
            guard let m = row.map(abs).max(), m > 0 else { return weightBits - 1 }
            // Start on a grid certainly too fine (m * 2^f >= 2^(weightBits+1)) and coarsen: a
            // row that fits a grid fits every coarser one.
            var f = weightBits + 1 - Int(log2(m).rounded(.down))
            while f > -64 {
                if row.allSatisfy({ let r = ($0 * pow(2, Double(f))).rounded(); return r >= lo && r <= hi }) { return f }
                f -= 1
            }
            return f
        }
        let layerGrid = perChannel ? nil : grid(weights.flatMap { $0 })
        var qw: [[Int64]] = [], qb: [Int64] = [], fs: [Int] = []
        var maxError = 0.0
        for (o, row) in weights.enumerated() {
            let f = layerGrid ?? grid(row)
            let scale = pow(2, Double(f))
            qw.append(row.map { Int64(($0 * scale).rounded()) })
            let bq = (bias[o] * scale).rounded()
            guard abs(bq) < 9e15 else { throw ConfigError(field: "bias", "channel \(o) is too large for the grid 2^-\(f)") }
            qb.append(Int64(bq))
            fs.append(f)
            for (w, q) in zip(row, qw[o]) { maxError = max(maxError, abs(Double(q) / scale - w)) }
            maxError = max(maxError, abs(bq / scale - bias[o]))
        }
        return LayerQuantization(weights: qw, bias: qb, fractionBits: fs, maxError: maxError)
    }
}
