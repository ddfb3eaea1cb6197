import Description
import Foundation
import Testing
@testable import Golden

/// Convolutions, max pools and forks of the golden model (docs/arithmetic.md §8, SPEC 3.6-3.8),
/// worked out by hand or against a naive loop written here from the SPEC's formulas.
///
/// Unless said otherwise every LIF here has Fw = 1, E = 0: threshold 2 on the weight grid, one
/// step `H = V + ((I - V) >>> 1)`, spike iff `H >= 2`, then `V = spike ? 0 : H`.

/// A conv layer of `cout x (cin*k*k)` weights (`W[o][(i*k+dy)*k+dx]`).
func convLayer(_ name: String = "conv", weights: [[Int64]], bias: [Int64]? = nil, cin: Int, k: Int, stride: Int = 1,
               padding: Int? = nil, pool: Bool = false, fw: Int = 1, e: Int = 0) throws -> ConvLayer {
    let l = try SpikingLayer(name: name, weights: weights, bias: bias ?? Array(repeating: 0, count: weights.count),
                             fractionBits: Array(repeating: fw, count: weights.count), decayFractionBits: e)
    return try ConvLayer(layer: l, inChannels: cin, kernel: k, stride: stride, padding: padding, pool: pool)
}

/// A spatial count stream `[T][H*W][C]`.
func spatial(_ c: Int, _ h: Int, _ w: Int, t: Int = 1, maxCount: Int = 1) -> StreamFormat {
    StreamFormat(channels: c, tokens: h * w, timeSteps: t, maxCount: maxCount, width: w)
}

/// The naive reference: SPEC 3.6's sum, 3.7's pool and 3.1's LIF (k = 1, hard reset to 0,
/// threshold `2^(Fw+E)`), loops in the formula's order.
func naiveConv(_ c: ConvLayer, _ x: SpikeTensor, h: Int, w: Int) -> (currents: [[[[Int64]]]], spikes: [[[[UInt8]]]]) {
    let (k, s, p) = (c.kernel, c.stride, c.padding)
    let ch = (h + 2 * p - k) / s + 1, cw = (w + 2 * p - k) / s + 1
    let T = x.shape[0]
    var cur = [[[[Int64]]]](repeating: [], count: T)   // [t][o][y][x]
    for t in 0..<T {
        var conv = [[[Int64]]](repeating: [[Int64]](repeating: [Int64](repeating: 0, count: cw), count: ch), count: c.outChannels)
        for o in 0..<c.outChannels { for y in 0..<ch { for xx in 0..<cw {
            var sum = c.layer.bias[o]
            for i in 0..<c.inChannels { for dy in 0..<k { for dx in 0..<k {
                let iy = s * y + dy - p, ix = s * xx + dx - p
                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    sum += Int64(x[t, iy * w + ix, i]) * c.weight(o, i, dy, dx)
                }
            } } }
            conv[o][y][xx] = sum
        } } }
        if c.pool {
            let ph = (ch + 2 - 3) / 2 + 1, pw = (cw + 2 - 3) / 2 + 1
            cur[t] = (0..<c.outChannels).map { o in (0..<ph).map { py in (0..<pw).map { px in
                var m = Int64.min
                for dy in 0..<3 { for dx in 0..<3 {
                    let y = 2 * py + dy - 1, xx = 2 * px + dx - 1
                    if y >= 0 && y < ch && xx >= 0 && xx < cw { m = max(m, conv[o][y][xx]) }
                } }
                return m
            } } }
        } else {
            cur[t] = conv
        }
    }
    let oh = cur[0][0].count, ow = cur[0][0][0].count
    var spikes = [[[[UInt8]]]](repeating: [[[UInt8]]](repeating: [[UInt8]](repeating: [UInt8](repeating: 0, count: ow), count: oh), count: c.outChannels), count: T)
    for o in 0..<c.outChannels {
        let e = c.layer.decayFractionBits, th = Int64(1) << Int64(c.layer.fractionBits[o] + e)
        for y in 0..<oh { for xx in 0..<ow {
            var v: Int64 = 0
            for t in 0..<T {
                let hh = v + (((cur[t][o][y][xx] << Int64(e)) - v) >> 1)
                let fire = hh >= th
                spikes[t][o][y][xx] = fire ? 1 : 0
                v = fire ? 0 : hh
            }
        } }
    }
    return (cur, spikes)
}

@Suite("Golden convolutions, pools and forks (SPEC 3.6-3.7)")
struct ConvGoldenTests {
    /// 3x3 ones, padding 1, on an all-ones 4x4 image: each current counts the taps inside the
    /// image: 4 at a corner, 6 on an edge, 9 inside.
    @Test func threeByThreeOnesCountsTheTapsInsideThePaddedImage() throws {
        let c = try convLayer(weights: [Array(repeating: 1, count: 9)], cin: 1, k: 3)
        let x = SpikeTensor(shape: [1, 16, 1], repeating: 1)
        let t = try GoldenConv(c, height: 4, width: 4, inputRange: 0...1).run(x)
        #expect(t.convCurrents.scalars == [4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4])
        // T = 1: H = I >>> 1, fires iff I >= 4: everywhere.
        #expect(t.output.scalars == Array(repeating: 1, count: 16))
    }

    /// One spike at row 1, column 2 of a 4x4 image, W[dy][dx] = 1...9 row by row: the current at
    /// (y, x) is W[2 - y][3 - x] (cross-correlation, as PyTorch), zero where the kernel misses it.
    @Test func threeByThreeIsACrossCorrelation() throws {
        let c = try convLayer(weights: [[1, 2, 3, 4, 5, 6, 7, 8, 9]], bias: [-1], cin: 1, k: 3)
        var x = SpikeTensor(shape: [1, 16, 1], repeating: 0)
        x.scalars[1 * 4 + 2] = 1
        let t = try GoldenConv(c, height: 4, width: 4, inputRange: 0...1).run(x)
        let expected: [Int64] = [-1, 8, 7, 6,
                                 -1, 5, 4, 3,
                                 -1, 2, 1, 0,
                                 -1, -1, -1, -1]
        #expect(t.convCurrents.scalars == expected)
        // H = I >>> 1 >= 2 iff I >= 4.
        #expect(t.output.scalars == expected.map { $0 >= 4 ? 1 : 0 })
    }

    /// 1x1, stride 2, two input channels, W = [3, -2], bias 1, on a 4x4 image: the output 2x2
    /// reads positions (0,0), (0,2), (2,0), (2,2) only.
    @Test func oneByOneStrideTwoReadsEveryOtherPosition() throws {
        let c = try convLayer(weights: [[3, -2]], bias: [1], cin: 2, k: 1, stride: 2)
        #expect(c.padding == 0)
        var x = SpikeTensor(shape: [1, 16, 2], repeating: 0)
        // channel 0 at (0,0), (2,2), (1,1); channel 1 at (0,2), (2,2), (3,3).
        for (y, xx, ch) in [(0, 0, 0), (2, 2, 0), (1, 1, 0), (0, 2, 1), (2, 2, 1), (3, 3, 1)] {
            x.scalars[(y * 4 + xx) * 2 + ch] = 2
        }
        let g = try GoldenConv(c, height: 4, width: 4, inputRange: 0...2)
        #expect(g.outHeight == 2 && g.outWidth == 2)
        let t = try g.run(x)
        // (0,0): 1 + 2*3 = 7; (0,2): 1 - 2*2 = -3; (2,0): 1; (2,2): 1 + 6 - 4 = 3.
        #expect(t.convCurrents.scalars == [7, -3, 1, 3])
        #expect(t.output.scalars == [1, 0, 0, 0])
    }

    /// MaxPool2d(3, 2, 1) on negative currents: with `-infinity` padding a border window takes
    /// the max of the taps that exist (zero padding would give 0 everywhere).
    @Test func poolBorderWindowsIgnoreThePadding() throws {
        let c = try convLayer(weights: [[-1]], bias: [-1], cin: 1, k: 1, pool: true)
        let counts: [UInt8] = [1, 2, 3, 4,
                               5, 6, 7, 8,
                               9, 10, 11, 12,
                               13, 14, 15, 2]
        let x = try SpikeTensor(shape: [1, 16, 1], scalars: counts)
        let g = try GoldenConv(c, height: 4, width: 4, inputRange: 0...15)
        #expect(g.convHeight == 4 && g.outHeight == 2 && g.outWidth == 2)
        let t = try g.run(x)
        // Current = -1 - count; windows: rows 0-1 x cols 0-1, rows 0-1 x cols 1-3,
        // rows 1-3 x cols 0-1, rows 1-3 x cols 1-3; the max is -1 - (smallest count).
        #expect(t.layer.currents.scalars == [-2, -3, -6, -3])
        #expect(t.convCurrents.scalars == counts.map { -1 - Int64($0) })
    }

    /// An odd 5x5 conv output pools to 3x3 (floor mode); checked against the naive loop.
    @Test func oddPoolAndRandomConvsMatchTheNaiveLoop() throws {
        let seed = try TestSeed.named("oddPoolAndRandomConvsMatchTheNaiveLoop")
        var rng = SplitMix64(seed: seed)
        for trial in 0..<24 {
            let k = [1, 3].randomElement(using: &rng)!
            let stride = k == 1 ? [1, 2, 4].randomElement(using: &rng)! : [1, 2].randomElement(using: &rng)!
            let pool = Bool.random(using: &rng)
            let (cin, cout) = (Int.random(in: 1...3, using: &rng), Int.random(in: 1...3, using: &rng))
            let (h, w) = (Int.random(in: 4...9, using: &rng), Int.random(in: 4...9, using: &rng))
            let (T, m) = (Int.random(in: 1...4, using: &rng), Int.random(in: 1...3, using: &rng))
            let e = Int.random(in: 0...T, using: &rng)
            let weights = (0..<cout).map { _ in (0..<(cin * k * k)).map { _ in Int64.random(in: -8...8, using: &rng) } }
            let bias = (0..<cout).map { _ in Int64.random(in: -4...12, using: &rng) }
            let c = try convLayer(weights: weights, bias: bias, cin: cin, k: k, stride: stride, pool: pool, fw: 2, e: e)
            var x = SpikeTensor(shape: [T, h * w, cin], repeating: 0)
            for i in x.scalars.indices { x.scalars[i] = UInt8(Int.random(in: 0...m, using: &rng)) }
            let t = try GoldenConv(c, height: h, width: w, inputRange: 0...Int64(m)).run(x)
            let ref = naiveConv(c, x, h: h, w: w)
            let (oh, ow) = (ref.currents[0][0].count, ref.currents[0][0][0].count)
            #expect(t.layer.currents.shape == [T, oh * ow, cout], "trial \(trial), seed \(seed)")
            for tt in 0..<T { for y in 0..<oh { for xx in 0..<ow { for o in 0..<cout {
                #expect(t.layer.currents[tt, y * ow + xx, o] == ref.currents[tt][o][y][xx], "trial \(trial) t \(tt) (\(y),\(xx)) o \(o), seed \(seed)")
                #expect(t.output[tt, y * ow + xx, o] == ref.spikes[tt][o][y][xx], "trial \(trial) t \(tt) (\(y),\(xx)) o \(o), seed \(seed)")
            } } } }
        }
        // The odd size itself.
        let g = try GoldenConv(try convLayer(weights: [[1]], cin: 1, k: 1, pool: true), height: 5, width: 5, inputRange: 0...1)
        #expect(g.outHeight == 3 && g.outWidth == 3)
    }

    /// A static image's current is computed once and the LIF runs T times on it: current 3 with
    /// threshold 2 gives H = 1 (no spike, V = 1), H = 1 + (3 - 1) / 2 = 2 (spike, V = 0), H = 1.
    @Test func staticImageRunsTheLIFTTimesOnOneCurrent() throws {
        let c = try convLayer(weights: [[1, 0]], bias: [0], cin: 2, k: 1)
        let image = try Tensor<Int64>(shape: [2, 1, 1], scalars: [3, -100])
        let t = try GoldenConv(c, height: 1, width: 1, inputRange: -128...127).run(image: image, timeSteps: 3)
        #expect(t.convCurrents.scalars == [3, 3, 3])
        #expect(t.layer.hidden.scalars == [1, 2, 1])
        #expect(t.output.scalars == [0, 1, 0])
        #expect(t.layer.ops.events == 2)   // both pixels are non-zero, counted once for all T
    }

    /// fork = main(x) + shortcut(x) as counts: two 1x1 convs that both fire where the input
    /// spikes (current 4 >= threshold after one step) add to 2 there.
    @Test func forkAddsTheBranchesAsCounts() throws {
        let main = try convLayer("conv1", weights: [[4]], cin: 1, k: 1)
        let short = try convLayer("shortcut", weights: [[4]], bias: [-4], cin: 1, k: 1)
        let part = Part.fork(main: .conv(main), shortcut: .conv(short))
        let input = spatial(1, 2, 2)
        #expect(try part.output(reading: input).maxCount == 2)
        let x = try SpikeTensor(shape: [1, 4, 1], scalars: [1, 0, 0, 1])
        let t = try GoldenPart(part, input: input).run(x)
        // main: I = 4x, H = 2x, fires where x = 1; shortcut: I = 4x - 4 is 0 or -4, never fires.
        #expect(t.output.scalars == [1, 0, 0, 1])
        let both = Part.fork(main: .conv(main), shortcut: .conv(main))
        #expect(try GoldenPart(both, input: input).run(x).output.scalars == [2, 0, 0, 2])
        let names = try GoldenPart(both, input: input).run(x).streams.map(\.name)
        #expect(names == ["conv1", "conv1", "fork"])
        #expect(t.layers.count == 2)
    }

    @Test func errorsNameTheField() throws {
        let c = try convLayer("conv2", weights: [[1]], cin: 1, k: 1)
        // A stream without image geometry.
        expectOneLineError(GoldenError.self, ["conv2", "geometry"], sourceLocation: #_sourceLocation) {
            try GoldenPart(.conv(c), input: StreamFormat(channels: 1, tokens: 4, timeSteps: 1, maxCount: 1))
        }
        // A sample of the wrong shape.
        let g = try GoldenPart(.conv(c), input: spatial(1, 2, 2))
        expectOneLineError(GoldenError.self, ["input", "[1, 4, 1]"], sourceLocation: #_sourceLocation) {
            try g.run(SpikeTensor(shape: [1, 3, 1], repeating: 0))
        }
        // A current range beyond 64 bits.
        let huge = try convLayer("conv3", weights: [[Int64.max / 2, Int64.max / 2, Int64.max / 2]], cin: 3, k: 1)
        expectOneLineError(GoldenError.self, ["conv3", "64 bits"], sourceLocation: #_sourceLocation) {
            try GoldenConv(huge, height: 1, width: 1, inputRange: 0...1)
        }
    }
}
