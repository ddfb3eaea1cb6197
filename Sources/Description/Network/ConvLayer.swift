/// A 2-D convolution with its folded BatchNorm and QKFormer's LIF, optionally with a max pool
/// on the currents between them (docs/arithmetic.md §8): `LIF(pool(conv(x)))`, PyTorch
/// `Conv2d(kernel, stride, padding)` and `MaxPool2d(3, 2, 1)` semantics.
///
/// The weights are a `SpikingLayer` of `inChannels * kernel * kernel` inputs: input
/// `(i * kernel + dy) * kernel + dx` of output channel `o` is `W[o][i][dy][dx]` (PyTorch's
/// flattening of a `[Cout, Cin, k, k]` weight). The output currents, the membrane and the
/// threshold of channel `o` are on the grid `2^-fractionBits[o]` (plus `decayFractionBits` for
/// the membrane). For the network's first layer, which multiplies fixed-point pixels, that grid
/// is the weight grid plus the pixels' fraction bits (§8), and the bias is on it too.
public struct ConvLayer: Hashable, Sendable {
    public var layer: SpikingLayer
    public var inChannels: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    /// `MaxPool2d(3, 2, 1)` (floor mode, `-infinity` padding) on the currents before the LIF.
    public var pool: Bool

    public init(layer: SpikingLayer, inChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil, pool: Bool = false) throws {
        guard [1, 3].contains(kernel) else {
            throw ConfigError(field: "\(layer.name).kernel", "is \(kernel); the generator builds 1x1 and 3x3 convolutions")
        }
        guard [1, 2, 4].contains(stride) else {
            throw ConfigError(field: "\(layer.name).stride", "is \(stride); the generator builds strides 1, 2 and 4")
        }
        let p = padding ?? (kernel - 1) / 2
        guard (0...(kernel - 1)).contains(p) else {
            throw ConfigError(field: "\(layer.name).padding", "is \(p); choose 0...\(kernel - 1) for a \(kernel)x\(kernel) kernel")
        }
        guard inChannels >= 1, layer.inputs == inChannels * kernel * kernel else {
            throw ConfigError(field: "\(layer.name).weights", "has \(layer.inputs) inputs per output channel; a \(kernel)x\(kernel) convolution of \(inChannels) input channels needs \(inChannels * kernel * kernel)")
        }
        (self.layer, self.inChannels, self.kernel, self.stride, self.padding, self.pool) = (layer, inChannels, kernel, stride, p, pool)
    }

    public var outChannels: Int { layer.outputs }

    /// `W[o][i][dy][dx]`.
    public func weight(_ o: Int, _ i: Int, _ dy: Int, _ dx: Int) -> Int64 {
        layer.weights[o][(i * kernel + dy) * kernel + dx]
    }

    /// Output size of the convolution alone along one axis: `floor((n + 2p - k) / s) + 1`.
    public func convSize(_ n: Int) -> Int { (n + 2 * padding - kernel) / stride + 1 }

    /// Output size of `MaxPool2d(3, 2, 1)` along one axis: `floor((n + 2 - 3) / 2) + 1`.
    public static func poolSize(_ n: Int) -> Int { (n - 1) / 2 + 1 }

    /// Output size (after the pool, if any) along one axis.
    public func outputSize(_ n: Int) -> Int { pool ? Self.poolSize(convSize(n)) : convSize(n) }

    /// The spike stream this layer writes when it reads `input` (a spatial stream).
    public func output(reading input: StreamFormat, at path: String = "conv") throws -> StreamFormat {
        guard let w = input.width, w >= 1, input.tokens % w == 0 else {
            throw ConfigError(field: "\(path).\(layer.name)", "is a convolution but its input stream \(input) has no image geometry; a convolution reads a spatial stream (height x width tokens)")
        }
        guard input.channels == inChannels else {
            throw ConfigError(field: "\(path).\(layer.name)", "reads \(inChannels) channels but its input stream has \(input.channels) (\(input)); the two ends of this connection must agree")
        }
        let h = input.tokens / w
        guard h + 2 * padding >= kernel, w + 2 * padding >= kernel else {
            throw ConfigError(field: "\(path).\(layer.name)", "a \(kernel)x\(kernel) kernel does not fit the \(h) x \(w) image with padding \(padding)")
        }
        let oh = outputSize(h), ow = outputSize(w)
        return StreamFormat(channels: outChannels, tokens: oh * ow, timeSteps: input.timeSteps, maxCount: 1, width: ow)
    }
}

/// The classification head (docs/arithmetic.md §8): `z[k] = N*T*b[k] + sum_c W[k][c] * S[c]`
/// with `S[c]` the count sum of channel `c` over every token and time step; class `k`'s weights
/// and bias on the grid `2^-fractionBits[k]`, `logits[k] = z[k] * 2^-fractionBits[k] / (N*T)`.
public struct HeadLayer: Hashable, Sendable {
    /// `[classes][C]`.
    public var weights: [[Int64]]
    public var bias: [Int64]
    public var fractionBits: [Int]

    public init(weights: [[Int64]], bias: [Int64], fractionBits: [Int]) throws {
        guard let c = weights.first?.count, c >= 1 else { throw ConfigError(field: "head.weight", "is empty; the head needs at least one class and one channel") }
        if let k = weights.firstIndex(where: { $0.count != c }) {
            throw ConfigError(field: "head.weight", "row \(k) has \(weights[k].count) channels, row 0 has \(c)")
        }
        guard bias.count == weights.count else { throw ConfigError(field: "head.bias", "has \(bias.count) values for \(weights.count) classes") }
        guard fractionBits.count == weights.count, fractionBits.allSatisfy({ (0...32).contains($0) }) else {
            throw ConfigError(field: "head.fractionBits", "needs one value in 0...32 per class (\(weights.count))")
        }
        (self.weights, self.bias, self.fractionBits) = (weights, bias, fractionBits)
    }

    public var classes: Int { weights.count }
    public var channels: Int { weights.first?.count ?? 0 }
}
