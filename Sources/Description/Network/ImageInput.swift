import Foundation

/// A real-valued image on the input's fixed-point grid (docs/arithmetic.md §8), and what the
/// rounding did to it.
public struct QuantizedImage: Hashable, Sendable {
    /// `[C][H][W]` signed pixels: `p` stands for `p * 2^-fractionBits`.
    public var pixels: Tensor<Int64>
    /// Values that were not on the grid (`x * 2^Fin` not an integer) and were rounded.
    public var rounded: Int
    /// Values outside the `bits`-bit range after rounding, clamped to its ends.
    public var saturated: Int
}

/// The network's input and output conversions (docs/arithmetic.md §8, SPEC 3.8-3.9), shared by
/// the golden model and the RTL simulation path so that both see the same integers.
public enum ImageInput {
    /// `p = clamp(roundHalfEven(x * 2^Fin), -2^(bits-1), 2^(bits-1) - 1)` for every value of a
    /// `[C][H][W]` image, C order.
    ///
    /// Rounding is to nearest with ties to even, as `numpy.round` and `torch.round` do;
    /// multiplying by `2^Fin` is exact in binary floating point, so the only rounding is this
    /// one. `±infinity` saturates; NaN is an error naming its position.
    public static func quantize(_ values: [Double], shape: [Int], bits: Int, fractionBits: Int) throws -> QuantizedImage {
        guard shape.count == 3, shape.allSatisfy({ $0 >= 1 }), shape.reduce(1, *) == values.count else {
            throw ConfigError(field: "image", "has \(values.count) values for shape \(shape); an image is [C, H, W]")
        }
        guard (2...32).contains(bits) else { throw ConfigError(field: "quantization.inputBits", "must be 2...32, got \(bits)") }
        guard (0...32).contains(fractionBits) else {
            throw ConfigError(field: "quantization.inputFractionBits", "must be 0...32, got \(fractionBits)")
        }
        let lo = -(Int64(1) << Int64(bits - 1)), hi = (Int64(1) << Int64(bits - 1)) - 1
        let scale = Double(sign: .plus, exponent: fractionBits, significand: 1)
        var rounded = 0, saturated = 0
        var out = [Int64](repeating: 0, count: values.count)
        for (i, x) in values.enumerated() {
            guard !x.isNaN else {
                let (c, y, xx) = (i / (shape[1] * shape[2]), (i / shape[2]) % shape[1], i % shape[2])
                throw ConfigError(field: "image", "value at channel \(c), row \(y), column \(xx) is NaN; give finite pixel values")
            }
            let s = x * scale
            let r = s.rounded(.toNearestOrEven)
            if r != s { rounded += 1 }
            if r < Double(lo) {
                out[i] = lo
                saturated += 1
            } else if r > Double(hi) {
                out[i] = hi
                saturated += 1
            } else {
                out[i] = Int64(r)
            }
        }
        return QuantizedImage(pixels: try Tensor(shape: shape, scalars: out), rounded: rounded, saturated: saturated)
    }

    /// DVS frames `[T][C][H][W]` of event counts (whole numbers in `0...maxCount`) as the count
    /// stream `[T][H*W][C]` the first section reads (tokens `y * W + x`). A value that is not such
    /// a count is an error naming its position.
    public static func frames(_ values: [Double], shape: [Int], maxCount: Int) throws -> SpikeTensor {
        guard shape.count == 4, shape.allSatisfy({ $0 >= 1 }), shape.reduce(1, *) == values.count else {
            throw ConfigError(field: "frames", "has \(values.count) values for shape \(shape); DVS frames are [T, C, H, W]")
        }
        let (t, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        var out = SpikeTensor(shape: [t, h * w, c], repeating: 0)
        for s in 0..<t { for ch in 0..<c { for y in 0..<h { for x in 0..<w {
            let v = values[((s * c + ch) * h + y) * w + x]
            guard v >= 0, v <= Double(maxCount), v.rounded() == v else {
                throw ConfigError(field: "frames", "value \(v) at time step \(s), channel \(ch), row \(y), column \(x) is not an event count 0...\(maxCount); give whole counts (raise maxInputCount for larger ones)")
            }
            out.scalars[(s * h * w + y * w + x) * c + ch] = UInt8(v)
        } } } }
        return out
    }

    /// `logits[k] = z[k] * 2^-fractionBits[k] / (tokens * timeSteps)` in float64 (SPEC 3.9).
    /// The power-of-two scaling is exact (unless `|z|` exceeds 2^53, where `Double(z)` rounds),
    /// so the one division is the only rounding.
    public static func logits(_ z: [Int64], fractionBits: [Int], tokens: Int, timeSteps: Int) -> [Double] {
        precondition(z.count == fractionBits.count, "one fraction-bit count per class")
        let nt = Double(tokens * timeSteps)
        return zip(z, fractionBits).map { v, f in Double(v) * Double(sign: .plus, exponent: -f, significand: 1) / nt }
    }

    /// `argmax z`, the lowest index on a tie (SPEC 3.9). Classes on different grids (a
    /// per-channel quantized head) are compared exactly on the finest grid, `z[k] << (F - Fw[k])`
    /// as a 128-bit (high, low) pair, which is the argmax of the logits; on one grid it is plain
    /// `argmax z`.
    public static func predictedClass(_ z: [Int64], fractionBits: [Int]? = nil) -> Int {
        let f = fractionBits ?? Array(repeating: 0, count: z.count)
        precondition(f.count == z.count && f.allSatisfy { (0...32).contains($0) }, "one fraction-bit count in 0...32 per class")
        let fine = f.max() ?? 0
        // Signed high word, unsigned low word: ordered lexicographically like the 128-bit value.
        let v = zip(z, f).map { $0.multipliedFullWidth(by: Int64(1) << Int64(fine - $1)) }
        var best = 0
        for k in v.indices where (v[k].high, v[k].low) > (v[best].high, v[best].low) { best = k }
        return best
    }
}
