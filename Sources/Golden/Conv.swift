import Description
import Foundation

/// Everything one convolution layer computed for one sample (docs/arithmetic.md §8).
public struct ConvTrace: Hashable, Sendable {
    /// The layer's name (`conv1`, `shortcut`, ...).
    public var name: String
    /// The convolution's currents before the pool, `[T][Hc * Wc][Cout]` at the conv's own output
    /// resolution (the same tensor as `layer.currents` when there is no pool). A static image's
    /// stem repeats the one current of each position at every time step.
    public var convCurrents: Tensor<Int64>
    /// The LIF of every output position and channel, `[T][Ho * Wo][Cout]`: `currents` are the
    /// (pooled) currents that enter it, before `<< E`.
    public var layer: SpikingLayerTrace
    /// The output spikes, `[T][Ho * Wo][Cout]`.
    public var output: SpikeTensor { layer.spikes }
}

/// The golden convolution of docs/arithmetic.md §8 (SPEC 3.6-3.8): PyTorch `Conv2d` with zero
/// padding on a spatial input, `MaxPool2d(3, 2, 1)` (floor mode, `-infinity` padding) on the
/// integer currents when the layer pools, then QKFormer's LIF per output position and channel.
///
/// Every range is proven before the first step: the currents' range comes from the weights, the
/// bias and the input's range (a padded tap contributes 0, which the range already allows, and
/// a max of values in a range stays in it), and each LIF bank checks its membranes against the
/// interval analysis of that range. Nothing is truncated.
public struct GoldenConv: Sendable {
    public let conv: ConvLayer
    /// Input image height and width.
    public let height: Int, width: Int
    /// The conv's own output size (before the pool).
    public let convHeight: Int, convWidth: Int
    /// The layer's output size (after the pool, if any).
    public let outHeight: Int, outWidth: Int
    /// The smallest and largest input value (counts `0...m`, or signed pixels).
    public let inputRange: ClosedRange<Int64>
    /// The range of every output channel's current.
    public let currentRanges: [ClosedRange<Int64>]
    let neurons: [LIFParameters]
    /// The weights transposed to `[tap][Cout]` (`tap = (i*k + dy)*k + dx`), so that one input
    /// value reads one contiguous row.
    let columns: [Int64]

    /// Prepares `conv` on a `height x width` input whose values lie in `inputRange`. Throws when
    /// the kernel does not fit or a current's range leaves 64 bits.
    public init(_ conv: ConvLayer, height: Int, width: Int, inputRange: ClosedRange<Int64>) throws {
        guard height >= 1, width >= 1 else {
            throw GoldenError(field: conv.layer.name, "reads a \(height) x \(width) image; it needs at least 1 x 1")
        }
        guard height + 2 * conv.padding >= conv.kernel, width + 2 * conv.padding >= conv.kernel else {
            throw GoldenError(field: conv.layer.name, "a \(conv.kernel)x\(conv.kernel) kernel does not fit the \(height) x \(width) image with padding \(conv.padding)")
        }
        self.conv = conv
        (self.height, self.width) = (height, width)
        (convHeight, convWidth) = (conv.convSize(height), conv.convSize(width))
        (outHeight, outWidth) = (conv.outputSize(height), conv.outputSize(width))
        self.inputRange = inputRange
        let l = conv.layer
        currentRanges = try (0..<l.outputs).map { o in
            try wrap("\(l.name).weights[\(o)]") { try Self.range(bias: l.bias[o], weights: l.weights[o], input: inputRange) }
        }
        var cols = [Int64](repeating: 0, count: l.inputs * l.outputs)
        for o in 0..<l.outputs { for tap in 0..<l.inputs { cols[tap * l.outputs + o] = l.weights[o][tap] } }
        columns = cols
        neurons = l.fractionBits.map { LIFParameters.qkformer(weightFractionBits: $0, extraFractionBits: l.decayFractionBits) }
        _ = try makeBank()
    }

    /// `b + sum_i w_i * x_i` over every `x_i` in `input`: each term at whichever end of the input
    /// range makes it smallest (largest). Throws when a bound leaves Int64.
    static func range(bias: Int64, weights: [Int64], input: ClosedRange<Int64>) throws -> ClosedRange<Int64> {
        var lo = bias, hi = bias
        for w in weights {
            let (a, o1) = w.multipliedReportingOverflow(by: input.lowerBound)
            let (b, o2) = w.multipliedReportingOverflow(by: input.upperBound)
            let (l, o3) = lo.addingReportingOverflow(min(a, b))
            let (h, o4) = hi.addingReportingOverflow(max(a, b))
            guard !(o1 || o2 || o3 || o4) else {
                throw GoldenError(field: "current", "the accumulator range exceeds 64 bits, which the golden model cannot hold; lower the weights or the input range")
            }
            (lo, hi) = (l, h)
        }
        return lo...hi
    }

    /// A self-checking LIF bank of every output position and channel (channel innermost).
    func makeBank() throws -> LIFBank {
        try wrap(conv.layer.name) {
            try LIFBank(count: outHeight * outWidth * conv.outChannels, channelParameters: neurons, currentRanges: currentRanges)
        }
    }

    /// The conv's currents `[Hc * Wc][Cout]` for one input frame, `x(i, y, x)` the input value of
    /// channel `i` at row `y`, column `x` (never called outside the image: padding is 0), and the
    /// work of the event-driven form: one event per non-zero input tap of an output position,
    /// adding its weight (times the value) into every output channel.
    func convolve(_ x: (Int, Int, Int) -> Int64) -> ([Int64], SynapticOps) {
        var ops = SynapticOps()
        let (k, s, p, cin, cout) = (conv.kernel, conv.stride, conv.padding, conv.inChannels, conv.outChannels)
        let l = conv.layer
        var out = [Int64](repeating: 0, count: convHeight * convWidth * cout)
        for oy in 0..<convHeight {
            for ox in 0..<convWidth {
                let base = (oy * convWidth + ox) * cout
                for o in 0..<cout { out[base + o] = l.bias[o] }
                for i in 0..<cin {
                    for dy in 0..<k {
                        let y = s * oy + dy - p
                        guard y >= 0, y < height else { continue }
                        for dx in 0..<k {
                            let xx = s * ox + dx - p
                            guard xx >= 0, xx < width else { continue }
                            let v = x(i, y, xx)
                            guard v != 0 else { continue }
                            ops.events += 1
                            ops.countSum += Int(v.magnitude)
                            let row = ((i * k + dy) * k + dx) * cout
                            // In range by construction (init proved every sum fits Int64).
                            columns.withUnsafeBufferPointer { w in
                                out.withUnsafeMutableBufferPointer { acc in
                                    for o in 0..<cout { acc[base + o] += v * w[row + o] }
                                }
                            }
                        }
                    }
                }
            }
        }
        ops.adds = ops.events * cout
        return (out, ops)
    }

    /// `MaxPool2d(3, 2, 1)` in floor mode on `[Hc * Wc][Cout]` currents: output `(py, px)` is the
    /// max over rows `2py-1...2py+1` and columns `2px-1...2px+1` that lie inside the conv output
    /// (`-infinity` padding: a border window takes the max of the taps that exist).
    func pool(_ c: [Int64]) -> [Int64] {
        let cout = conv.outChannels
        var out = [Int64](repeating: Int64.min, count: outHeight * outWidth * cout)
        for py in 0..<outHeight {
            for px in 0..<outWidth {
                let base = (py * outWidth + px) * cout
                for y in max(0, 2 * py - 1)...min(convHeight - 1, 2 * py + 1) {
                    for x in max(0, 2 * px - 1)...min(convWidth - 1, 2 * px + 1) {
                        let src = (y * convWidth + x) * cout
                        for o in 0..<cout { out[base + o] = max(out[base + o], c[src + o]) }
                    }
                }
            }
        }
        return out
    }

    /// The currents entering the LIF for one input frame (after the pool, if any), and the conv's.
    func currents(_ x: (Int, Int, Int) -> Int64) -> (conv: [Int64], lif: [Int64], ops: SynapticOps) {
        let (c, ops) = convolve(x)
        return (c, conv.pool ? pool(c) : c, ops)
    }

    /// Runs one sample of counts `[T][H * W][Cin]` (tokens `y * W + x`). Every count must lie in
    /// `inputRange`.
    public func run(_ input: SpikeTensor) throws -> ConvTrace {
        let cin = conv.inChannels, n = height * width
        guard input.shape.count == 3, input.shape[1] == n, input.shape[2] == cin else {
            throw GoldenError(field: "\(conv.layer.name).input", "has shape \(input.shape) but the convolution reads [T, H*W, Cin] = [T, \(n), \(cin)]")
        }
        if let i = input.scalars.firstIndex(where: { !inputRange.contains(Int64($0)) }) {
            throw GoldenError(field: "\(conv.layer.name).input", "count \(input.scalars[i]) at time step \(i / (n * cin)), token \((i / cin) % n), channel \(i % cin) is outside \(inputRange)")
        }
        let t = input.shape[0]
        return try run(timeSteps: t) { step in
            let base = step * n * cin
            return currents { i, y, x in Int64(input.scalars[base + (y * width + x) * cin + i]) }
        }
    }

    /// Runs a static image `[Cin][H][W]` of signed pixels for `timeSteps` steps: the current of
    /// each position is computed once and the LIF runs `timeSteps` times on it (SPEC 3.8).
    public func run(image: Tensor<Int64>, timeSteps: Int) throws -> ConvTrace {
        guard image.shape == [conv.inChannels, height, width] else {
            throw GoldenError(field: "image", "has shape \(image.shape) but the first conv reads [Cin, H, W] = [\(conv.inChannels), \(height), \(width)]")
        }
        if let i = image.scalars.firstIndex(where: { !inputRange.contains($0) }) {
            throw GoldenError(field: "image", "pixel \(image.scalars[i]) at flat index \(i) is outside the \(inputRange) the input width holds")
        }
        let once = currents { i, y, x in image.scalars[(i * height + y) * width + x] }
        // The work is done once; later steps reuse the currents.
        return try run(timeSteps: timeSteps) { step in (once.conv, once.lif, step == 0 ? once.ops : SynapticOps()) }
    }

    private func run(timeSteps t: Int, frame: (Int) -> (conv: [Int64], lif: [Int64], ops: SynapticOps)) throws -> ConvTrace {
        guard t >= 1 else { throw GoldenError(field: "timeSteps", "must be >= 1, got \(t)") }
        let cout = conv.outChannels, nc = convHeight * convWidth, no = outHeight * outWidth
        var convCurrents = Tensor<Int64>(shape: [t, nc, cout], repeating: 0)
        var layer = SpikingLayerTrace(shape: [t, no, cout])
        var bank = try makeBank()
        for step in 0..<t {
            let (c, cur, ops) = frame(step)
            convCurrents.scalars.replaceSubrange((step * nc * cout)..<((step + 1) * nc * cout), with: c)
            layer.step(&bank, neuronBase: 0, currents: cur, at: step * no * cout)
            layer.ops += ops
        }
        return ConvTrace(name: conv.layer.name, convCurrents: convCurrents, layer: layer)
    }
}
