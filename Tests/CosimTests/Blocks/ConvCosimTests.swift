import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The convolution on count streams against the golden model (`GoldenPart` running `Part.conv`):
/// 3x3 with and without pool, 1x1 strided, odd image sizes, counts up to 3, lanes that do not
/// divide C_out, random stalls on both sides; and the input-lookahead contract.
@Suite(.serialized) struct ConvCosimTests {
    struct Shape: CustomStringConvertible, Sendable {
        var h: Int, w: Int, cin: Int, cout: Int, t: Int, k: Int, stride: Int, pool: Bool, lanes: Int, chunk: Int, count: Int
        var storage: LIFStateStorage = .registers
        var description: String {
            "\(h)x\(w) Cin \(cin) Cout \(cout) T \(t) k\(k) s\(stride)\(pool ? " pool" : "") P \(lanes) chunk \(chunk) counts 0...\(count) LIF \(storage)"
        }
    }

    /// A random conv layer (8-bit weights on 2^-7, exact LIF), its hardware config and golden part.
    static func model(_ s: Shape, seed: UInt64) throws -> (config: ConvConfig, golden: GoldenPart, input: StreamFormat) {
        var rng = SplitMix64(seed: seed)
        let l = try SpikingLayer.random(name: "conv", outputs: s.cout, inputs: s.cin * s.k * s.k, weightBits: 8,
                                        biasRange: -0.25...1.0, decayFractionBits: s.t, using: &rng)
        let layer = try ConvLayer(layer: l, inChannels: s.cin, kernel: s.k, stride: s.stride, pool: s.pool)
        let input = StreamFormat(channels: s.cin, tokens: s.h * s.w, timeSteps: s.t, maxCount: s.count, width: s.w)
        let config = try ConvConfig(layer, input: input, lanes: s.lanes, inputChunk: s.chunk, storage: s.storage)
        return (config, try GoldenPart(.conv(layer), input: input, path: "conv"), input)
    }

    static let shapes: [Shape] = [
        Shape(h: 5, w: 7, cin: 3, cout: 10, t: 2, k: 3, stride: 1, pool: false, lanes: 4, chunk: 2, count: 3),
        Shape(h: 6, w: 5, cin: 8, cout: 5, t: 3, k: 3, stride: 1, pool: false, lanes: 5, chunk: 8, count: 1),
        Shape(h: 6, w: 7, cin: 8, cout: 12, t: 1, k: 1, stride: 2, pool: false, lanes: 5, chunk: 3, count: 2),
        Shape(h: 9, w: 8, cin: 4, cout: 4, t: 2, k: 1, stride: 4, pool: false, lanes: 4, chunk: 4, count: 3),
        Shape(h: 5, w: 7, cin: 5, cout: 6, t: 3, k: 3, stride: 1, pool: true, lanes: 4, chunk: 5, count: 1),
        Shape(h: 6, w: 6, cin: 3, cout: 7, t: 2, k: 3, stride: 1, pool: true, lanes: 3, chunk: 2, count: 3),
        Shape(h: 7, w: 5, cin: 4, cout: 9, t: 2, k: 3, stride: 2, pool: false, lanes: 4, chunk: 4, count: 2),
        Shape(h: 5, w: 6, cin: 6, cout: 12, t: 3, k: 3, stride: 1, pool: true, lanes: 4, chunk: 4, count: 2, storage: .auto),
        Shape(h: 4, w: 7, cin: 7, cout: 11, t: 2, k: 3, stride: 1, pool: false, lanes: 3, chunk: 3, count: 3, storage: .ram),
        // One pooled column, one word per token: consecutive row-buffer updates hit one address (forwarding).
        Shape(h: 5, w: 2, cin: 6, cout: 4, t: 1, k: 1, stride: 1, pool: true, lanes: 4, chunk: 6, count: 3),
        Shape(h: 7, w: 1, cin: 6, cout: 4, t: 1, k: 1, stride: 1, pool: true, lanes: 4, chunk: 6, count: 3),
    ]

    @Test(arguments: Array(shapes.indices))
    func convMatchesGolden(_ i: Int) throws {
        let s = Self.shapes[i]
        let seed = TestSeed.value(default: 0xC0 + UInt64(i))
        print("ConvCosimTests \(s) seed \(seed)")
        let (config, golden, input) = try Self.model(s, seed: seed)
        let samples = input.randomSamples(rate: 0.3, count: 2, seed: seed)
        let expected = try samples.map { try golden.run($0).output }
        let design = try Elaborate.run(try makeConv(config))
        let r = try ConvCosim.run(design, input: ConvCosim.countBeats(samples, format: config.inputFormat), output: config.outputFormat,
                                  outTokens: config.outputTokens, expected: expected, inputStall: 0.3, outputStall: 0.3, seed: seed)
        #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(5))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        let ones = expected.reduce(0) { $0 + $1.scalars.reduce(0) { $0 + Int($1) } }
        let total = expected.reduce(0) { $0 + $1.scalars.count }
        print("  \(r.cycles) cycles, output rate \(Double(ones) / Double(total))")
        #expect(ones > 0 && ones < total, "the output must be neither silent nor all ones")
    }

    /// The pool's row buffer under heavy output stalls on a one-column image: a held pooled beat
    /// and the next row's beat meet at one row-buffer address on the same clock edge, and the
    /// write must be forwarded to the read.
    @Test func poolRowBufferForwards() throws {
        let s = Shape(h: 9, w: 1, cin: 6, cout: 4, t: 1, k: 1, stride: 1, pool: true, lanes: 4, chunk: 6, count: 3)
        let seed = TestSeed.value(default: 0xF0D)
        print("ConvCosimTests forwarding \(s) seed \(seed)")
        let (config, golden, input) = try Self.model(s, seed: seed)
        let samples = input.randomSamples(rate: 0.5, count: 6, seed: seed)
        let expected = try samples.map { try golden.run($0).output }
        let r = try ConvCosim.run(try Elaborate.run(try makeConv(config)), input: ConvCosim.countBeats(samples, format: config.inputFormat),
                                  output: config.outputFormat, outTokens: config.outputTokens, expected: expected,
                                  inputStall: 0.0, outputStall: 0.8, seed: seed)
        #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(5))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
    }

    /// Random shapes (kernel, stride, padding, pool, image, channels, T, lanes, chunk, counts,
    /// LIF storage), each co-simulated against the golden model with stalls; the seed is printed.
    @Test func randomShapesMatchGolden() throws {
        let seed = TestSeed.value(default: 0x5EE9)
        print("ConvCosimTests random shapes seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let count = Int(ProcessInfo.processInfo.environment["QKFORGE_CONV_SWEEP"] ?? "") ?? 6
        for case_ in 0..<count {
            let k = [1, 3].randomElement(using: &rng)!
            let stride = [1, 1, 2, 4].randomElement(using: &rng)!
            let h = Int.random(in: max(k, 2)...8, using: &rng), w = Int.random(in: max(k, 2)...8, using: &rng)
            let cin = Int.random(in: 1...8, using: &rng)
            var shape = Shape(h: h, w: w, cin: cin, cout: Int.random(in: 1...12, using: &rng), t: Int.random(in: 1...3, using: &rng),
                              k: k, stride: stride, pool: Bool.random(using: &rng), lanes: Int.random(in: 1...6, using: &rng),
                              chunk: Int.random(in: 1...cin, using: &rng), count: Int.random(in: 1...3, using: &rng),
                              storage: [LIFStateStorage.registers, .ram, .auto].randomElement(using: &rng)!)
            let padding = Int.random(in: 0...(k - 1), using: &rng)
            if shape.pool && shape.stride == 4 { shape.stride = 1 }
            var r2 = SplitMix64(seed: seed &+ UInt64(case_))
            let l = try SpikingLayer.random(name: "conv", outputs: shape.cout, inputs: cin * k * k, weightBits: 8,
                                            biasRange: -0.25...1.0, decayFractionBits: shape.t, using: &r2)
            let layer = try ConvLayer(layer: l, inChannels: cin, kernel: k, stride: shape.stride, padding: padding, pool: shape.pool)
            let input = StreamFormat(channels: cin, tokens: h * w, timeSteps: shape.t, maxCount: shape.count, width: w)
            let config = try ConvConfig(layer, input: input, lanes: shape.lanes, inputChunk: shape.chunk, storage: shape.storage,
                                        tokensInFlight: Int.random(in: 1...3, using: &rng))
            print("  case \(case_): \(shape) padding \(padding) F \(config.tokensInFlight) -> \(config.outHeight) x \(config.outWidth)")
            let golden = try GoldenPart(.conv(layer), input: input, path: "conv")
            let samples = input.randomSamples(rate: 0.35, count: 2, seed: seed &+ UInt64(case_))
            let expected = try samples.map { try golden.run($0).output }
            let r = try ConvCosim.run(try Elaborate.run(try makeConv(config)), input: ConvCosim.countBeats(samples, format: config.inputFormat),
                                      output: config.outputFormat, outTokens: config.outputTokens, expected: expected,
                                      inputStall: 0.3, outputStall: 0.3, seed: seed &+ UInt64(case_))
            #expect(r.mismatchCount == 0, "case \(case_): \(r.mismatches.prefix(3))")
            #expect(r.protocolErrors.isEmpty, "case \(case_): \(r.protocolErrors)")
        }
    }

    /// `inputTokensRead(beforeOutput:)` is a bound the RTL keeps: with m_axis stopped after `n`
    /// output tokens, the module accepts beats of at most that many input tokens (a safe bound:
    /// the RTL stops a little earlier when its pipeline fills before the in-flight limit).
    @Test(arguments: [0, 2, 4, 7])
    func lookaheadIsKept(_ i: Int) throws {
        let s = Self.shapes[i]
        let seed = TestSeed.value(default: 0x1A + UInt64(i))
        print("ConvCosimTests lookahead \(s) seed \(seed)")
        let (config, golden, input) = try Self.model(s, seed: seed)
        let samples = input.randomSamples(rate: 0.3, count: 1, seed: seed)
        let expected = try samples.map { try golden.run($0).output }
        let design = try Elaborate.run(try makeConv(config))
        let perToken = config.timeSteps * config.inputBeats
        for n in Array(Set([0, 1, config.outWidth, config.outWidth + 1, config.outputTokens / 2, config.outputTokens - 1])).sorted() {
            let r = try ConvCosim.run(design, input: ConvCosim.countBeats(samples, format: config.inputFormat), output: config.outputFormat,
                                      outTokens: config.outputTokens, expected: expected, inputStall: 0.2, outputStall: 0.2, seed: seed &+ UInt64(n),
                                      stopAfterTokens: n, idleLimit: 3000)
            let touched = (r.inputBeatsTaken + perToken - 1) / perToken
            let bound = config.inputTokensRead(beforeOutput: n)
            print("  before output token \(n): read \(touched) input tokens, bound \(bound)")
            #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(3))")
            #expect(r.outputBeats == n * config.timeSteps * config.groups)
            #expect(touched <= bound, "output token \(n): \(touched) input tokens read, the contract says at most \(bound)")
            // The bound counts every started token as gathered; the pipeline may hold fewer, but
            // the bound stays within about a row of what the RTL reads.
            #expect(bound - touched <= s.w + 8, "output token \(n): the bound \(bound) is far above what the RTL reads (\(touched))")
        }
    }

    /// `inputTokensNeeded(forOutput:)` is exact: with the input cut after that many tokens,
    /// output token `n` comes out completely; with one token less it does not.
    @Test(arguments: [0, 3, 4])
    func inputNeededIsExact(_ i: Int) throws {
        let s = Self.shapes[i]
        let seed = TestSeed.value(default: 0x4E + UInt64(i))
        print("ConvCosimTests needs \(s) seed \(seed)")
        let (config, golden, input) = try Self.model(s, seed: seed)
        let samples = input.randomSamples(rate: 0.3, count: 1, seed: seed)
        let expected = try samples.map { try golden.run($0).output }
        let design = try Elaborate.run(try makeConv(config))
        let perToken = config.timeSteps * config.inputBeats, perOut = config.timeSteps * config.groups
        for n in Array(Set([0, 1, config.outWidth - 1, config.outWidth, config.outputTokens / 2, config.outputTokens - 1])).sorted() {
            let need = config.inputTokensNeeded(forOutput: n)
            for (tokens, complete) in [(need, true), (need - 1, false)] where tokens >= 0 {
                let r = try ConvCosim.run(design, input: ConvCosim.countBeats(samples, format: config.inputFormat), output: config.outputFormat,
                                          outTokens: config.outputTokens, expected: expected, inputStall: 0.2, outputStall: 0.2,
                                          seed: seed &+ UInt64(n), inputLimit: tokens * perToken, idleLimit: 3000)
                print("  output token \(n): \(tokens) input tokens give \(r.outputBeats / perOut) output tokens")
                #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(3))")
                #expect((r.outputBeats >= (n + 1) * perOut) == complete, "output token \(n) with \(tokens) input tokens: \(r.outputBeats) beats out")
            }
        }
    }

    /// The cycle model of docs/conv.md against an unstalled run: per output vector
    /// `max(sum_b max(1, nnz_b), events * G + 1)`, per token `T` of those plus 1.
    @Test(arguments: [0, 1, 8])
    func cyclesFollowTheModel(_ i: Int) throws {
        let s = Self.shapes[i]
        let seed = TestSeed.value(default: 0xCC + UInt64(i))
        print("ConvCosimTests cycles \(s) seed \(seed)")
        let (config, golden, input) = try Self.model(s, seed: seed)
        for rate in [0.1, 0.5] {
            let samples = input.randomSamples(rate: rate, count: 1, seed: seed)
            let x = samples[0]
            let expected = try samples.map { try golden.run($0).output }
            let r = try ConvCosim.run(try Elaborate.run(try makeConv(config)), input: ConvCosim.countBeats(samples, format: config.inputFormat),
                                      output: config.outputFormat, outTokens: config.outputTokens, expected: expected,
                                      inputStall: 0, outputStall: 0, seed: seed)
            #expect(r.passed)
            let (K, B, G) = (config.inputChunk, config.inputBeats, config.groups)
            var model = 0
            for j in 0..<config.outputTokens {
                let (oy, ox) = (j / config.outWidth, j % config.outWidth)
                for t in 0..<s.t {
                    var scan = 0, events = 0
                    for dy in 0..<s.k {
                        for dx in 0..<s.k {
                            let (y, xx) = (s.stride * oy - config.padding + dy, s.stride * ox - config.padding + dx)
                            for b in 0..<B {
                                var nnz = 0
                                if y >= 0 && y < s.h && xx >= 0 && xx < s.w {
                                    for c in (b * K)..<min(s.cin, (b + 1) * K) where x[t, y * s.w + xx, c] != 0 { nnz += 1 }
                                }
                                scan += max(1, nnz)
                                events += nnz
                            }
                        }
                    }
                    model += max(scan, events * G + 1)
                }
                model += 1
            }
            let ratio = Double(r.cycles) / Double(model)
            print("  rate \(rate): \(r.cycles) cycles, model \(model), ratio \(ratio)")
            #expect(ratio > 0.95 && ratio < 1.15, "measured \(r.cycles) cycles, the model says \(model)")
        }
    }

    /// Full-size layers of hst-10-384's first patch embedding (224 x 224 stem with pool, a
    /// 112 x 112 conv with pool, the 1x1 stride-2 shortcut) elaborate and lint clean: every
    /// counter and limit is wide enough for the real image.
    @Test(arguments: ["stem", "conv", "shortcut"])
    func fullSizeLayersLintClean(_ which: String) throws {
        var rng = SplitMix64(seed: 0xF011)
        let m: Module
        switch which {
        case "stem":
            let l = try SpikingLayer.random(name: "conv1", outputs: 48, inputs: 27, weightBits: 8, biasRange: 0...1, decayFractionBits: 4, using: &rng)
            let conv = try ConvLayer(layer: l, inChannels: 3, kernel: 3, pool: true)
            let c = try StemConfig(conv, height: 224, width: 224, timeSteps: 4, inputBits: 8, lanes: 8)
            print("stem 224x224: line buffer \(c.lineBufferBits) bits, pool buffer \(try c.poolBufferBits()) bits")
            m = try makeStem(c)
        default:
            let k = which == "conv" ? 3 : 1
            let l = try SpikingLayer.random(name: which, outputs: 96, inputs: 48 * k * k, weightBits: 8, biasRange: 0...1, decayFractionBits: 4, using: &rng)
            let conv = try ConvLayer(layer: l, inChannels: 48, kernel: k, stride: k == 3 ? 1 : 2, pool: k == 3)
            let input = StreamFormat(channels: 48, tokens: 112 * 112, timeSteps: 4, maxCount: 1, width: 112)
            let c = try ConvConfig(conv, input: input, lanes: 16, inputChunk: 16)
            print("\(which) 112x112: line buffer \(c.lineBufferBits) bits, pool buffer \(try c.poolBufferBits()) bits")
            m = try makeConv(c)
        }
        let findings = try LintTests.emitAndLint(m)
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test(arguments: [0, 3, 4, 7])
    func convLintsClean(_ i: Int) throws {
        let (config, _, _) = try Self.model(Self.shapes[i], seed: 7)
        let findings = try LintTests.emitAndLint(try makeConv(config))
        #expect(findings.isEmpty, "\(findings)")
    }
}

/// The image stem (pixels x weights on P multipliers, the current computed once and fed to the
/// LIF T times, optional pool) against `GoldenConv.run(image:timeSteps:)`.
@Suite(.serialized) struct ConvStemCosimTests {
    struct Shape: CustomStringConvertible, Sendable {
        var h: Int, w: Int, cin: Int, cout: Int, t: Int, pool: Bool, lanes: Int, bits: Int
        var description: String { "\(h)x\(w) Cin \(cin) Cout \(cout) T \(t)\(pool ? " pool" : "") P \(lanes) \(bits)-bit pixels" }
    }

    static let shapes: [Shape] = [
        Shape(h: 5, w: 7, cin: 3, cout: 10, t: 2, pool: false, lanes: 4, bits: 8),
        Shape(h: 6, w: 5, cin: 3, cout: 6, t: 3, pool: true, lanes: 4, bits: 8),
        Shape(h: 7, w: 6, cin: 2, cout: 5, t: 1, pool: true, lanes: 5, bits: 6),
        Shape(h: 4, w: 5, cin: 1, cout: 12, t: 3, pool: false, lanes: 1, bits: 8),   // T x G = 36 > k*k*Cin = 9
    ]

    /// A stem like `NetworkDescription.random`'s: weights on 2^-7, bias and LIF on the grid of
    /// weights x pixels (fraction bits 7 + 5).
    static func model(_ s: Shape, seed: UInt64) throws -> (config: StemConfig, golden: GoldenConv) {
        var rng = SplitMix64(seed: seed)
        let fin = 5
        let l = try SpikingLayer.random(name: "conv1", outputs: s.cout, inputs: s.cin * 9, weightBits: 8, biasRange: -0.25...1.0,
                                        decayFractionBits: s.t, using: &rng)
        let onGrid = try SpikingLayer(name: "conv1", weights: l.weights, bias: l.bias.map { $0 << fin },
                                      fractionBits: l.fractionBits.map { $0 + fin }, decayFractionBits: s.t)
        let conv = try ConvLayer(layer: onGrid, inChannels: s.cin, kernel: 3, pool: s.pool)
        let config = try StemConfig(conv, height: s.h, width: s.w, timeSteps: s.t, inputBits: s.bits, lanes: s.lanes, storage: .registers)
        let half = Int64(1) << (s.bits - 1)
        return (config, try GoldenConv(conv, height: s.h, width: s.w, inputRange: -half...(half - 1)))
    }

    /// Random pixels, a tenth of them at the extremes.
    static func images(_ s: Shape, count: Int, seed: UInt64) -> [Tensor<Int64>] {
        var rng = SplitMix64(seed: seed ^ 0x1AA6E)
        let half = 1 << (s.bits - 1)
        return (0..<count).map { _ in
            let v = (0..<(s.cin * s.h * s.w)).map { _ -> Int64 in
                let r = Double.random(in: 0..<1, using: &rng)
                if r < 0.05 { return Int64(-half) }
                if r < 0.1 { return Int64(half - 1) }
                return Int64(Int.random(in: -half..<half, using: &rng))
            }
            return try! Tensor(shape: [s.cin, s.h, s.w], scalars: v)
        }
    }

    static func beats(_ images: [Tensor<Int64>], _ s: Shape) -> [[ConvCosim.InputBeat]] {
        images.map { img in
            (0..<(s.h * s.w)).map { n in
                let vals = (0..<s.cin).map { i in UInt64(bitPattern: img.scalars[(i * s.h + n / s.w) * s.w + n % s.w]) & ((1 << UInt64(s.bits)) - 1) }
                return ConvCosim.InputBeat(data: PortDriver.pack(vals, laneWidth: s.bits, width: s.cin * s.bits), last: n == s.h * s.w - 1, user: nil)
            }
        }
    }

    @Test(arguments: Array(shapes.indices))
    func stemMatchesGolden(_ i: Int) throws {
        let s = Self.shapes[i]
        let seed = TestSeed.value(default: 0x57E0 + UInt64(i))
        print("ConvStemCosimTests \(s) seed \(seed)")
        let (config, golden) = try Self.model(s, seed: seed)
        let imgs = Self.images(s, count: 2, seed: seed)
        let expected = try imgs.map { try golden.run(image: $0, timeSteps: s.t).output }
        let design = try Elaborate.run(try makeStem(config))
        let r = try ConvCosim.run(design, input: Self.beats(imgs, s), output: config.outputFormat, outTokens: config.outputTokens,
                                  expected: expected, inputStall: 0.3, outputStall: 0.3, seed: seed)
        #expect(r.mismatchCount == 0, "\(r.mismatches.prefix(5))")
        #expect(r.protocolErrors.isEmpty, "\(r.protocolErrors)")
        let ones = expected.reduce(0) { $0 + $1.scalars.reduce(0) { $0 + Int($1) } }
        let total = expected.reduce(0) { $0 + $1.scalars.count }
        print("  \(r.cycles) cycles, output rate \(Double(ones) / Double(total))")
        #expect(ones > 0 && ones < total, "the output must be neither silent nor all ones")
    }

    @Test func stemLookaheadIsKept() throws {
        let s = Self.shapes[1]
        let seed = TestSeed.value(default: 0x57EA)
        print("ConvStemCosimTests lookahead \(s) seed \(seed)")
        let (config, golden) = try Self.model(s, seed: seed)
        let imgs = Self.images(s, count: 1, seed: seed)
        let expected = try imgs.map { try golden.run(image: $0, timeSteps: s.t).output }
        let design = try Elaborate.run(try makeStem(config))
        for n in 0..<config.outputTokens {
            let r = try ConvCosim.run(design, input: Self.beats(imgs, s), output: config.outputFormat, outTokens: config.outputTokens,
                                      expected: expected, inputStall: 0.2, outputStall: 0.2, seed: seed &+ UInt64(n),
                                      stopAfterTokens: n, idleLimit: 3000)
            let bound = config.inputTokensRead(beforeOutput: n)
            print("  before output token \(n): read \(r.inputBeatsTaken) pixels, bound \(bound)")
            #expect(r.mismatchCount == 0)
            #expect(r.inputBeatsTaken <= bound, "output token \(n): \(r.inputBeatsTaken) pixels read, the contract says at most \(bound)")
        }
    }

    /// `inputTokensNeeded(forOutput:)` is exact for the stem too.
    @Test(arguments: [0, 1])
    func stemInputNeededIsExact(_ i: Int) throws {
        let s = Self.shapes[i]
        let seed = TestSeed.value(default: 0x57EB + UInt64(i))
        print("ConvStemCosimTests needs \(s) seed \(seed)")
        let (config, golden) = try Self.model(s, seed: seed)
        let imgs = Self.images(s, count: 1, seed: seed)
        let expected = try imgs.map { try golden.run(image: $0, timeSteps: s.t).output }
        let design = try Elaborate.run(try makeStem(config))
        let perOut = config.timeSteps * config.groups
        for n in Array(Set([0, 1, config.outWidth, config.outputTokens / 2, config.outputTokens - 1])).sorted() {
            let need = config.inputTokensNeeded(forOutput: n)
            for (tokens, complete) in [(need, true), (need - 1, false)] where tokens >= 0 {
                let r = try ConvCosim.run(design, input: Self.beats(imgs, s), output: config.outputFormat, outTokens: config.outputTokens,
                                          expected: expected, inputStall: 0.2, outputStall: 0.2, seed: seed &+ UInt64(n),
                                          inputLimit: tokens, idleLimit: 3000)
                print("  output token \(n): \(tokens) pixels give \(r.outputBeats / perOut) output tokens")
                #expect(r.mismatchCount == 0)
                #expect((r.outputBeats >= (n + 1) * perOut) == complete, "output token \(n) with \(tokens) pixels: \(r.outputBeats) beats out")
            }
        }
    }

    /// Yosys sees the stem's P products as exactly P multipliers (`$mul` cells: DSPs after
    /// mapping); addresses and window positions use no multiplier.
    @Test func stemInfersPMultipliers() throws {
        let s = Self.shapes[1]
        let (config, _) = try Self.model(s, seed: 11)
        func muls(_ m: Module) throws -> Int {
            let emitted = VerilogEmitter.emit(try Elaborate.run(m))
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-stem-mul-\(UUID().uuidString)")
            try emitted.write(to: dir)
            defer { try? FileManager.default.removeItem(at: dir) }
            let files = try String(contentsOf: dir.appendingPathComponent("files.f"), encoding: .utf8).split(separator: "\n").map(String.init)
            let r = try Command.run("yosys", ["-p", "read_verilog \(files.joined(separator: " ")); hierarchy -top \(emitted.top); proc; flatten; opt; stat"], in: dir)
            #expect(r.status == 0, "\(r.output.suffix(2000))")
            let line = r.output.split(separator: "\n").last { $0.contains("$mul") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        let n = try muls(try makeStem(config))
        print("ConvStemCosimTests: the stem has \(n) $mul cells for P = \(config.lanes)")
        #expect(n == config.lanes)
    }

    /// The stem's cycle model of docs/conv.md against an unstalled run: `G*k*k*Cin + 1` cycles
    /// per conv position while the replay hides (`T*G <= k*k*Cin`).
    @Test(arguments: [0, 1, 3])
    func stemCyclesFollowTheModel(_ i: Int) throws {
        let s = Self.shapes[i]
        let seed = TestSeed.value(default: 0x57CC + UInt64(i))
        let (config, golden) = try Self.model(s, seed: seed)
        let imgs = Self.images(s, count: 1, seed: seed)
        let expected = try imgs.map { try golden.run(image: $0, timeSteps: s.t).output }
        let r = try ConvCosim.run(try Elaborate.run(try makeStem(config)), input: Self.beats(imgs, s), output: config.outputFormat,
                                  outTokens: config.outputTokens, expected: expected, inputStall: 0, outputStall: 0, seed: seed)
        #expect(r.passed)
        let model = config.convGeometry.outTokens * (config.macCycles + 1)
        let ratio = Double(r.cycles) / Double(model)
        print("ConvStemCosimTests cycles \(s): \(r.cycles) cycles, model \(model), ratio \(ratio)")
        #expect(ratio > 0.95 && ratio < 1.15, "measured \(r.cycles) cycles, the model says \(model)")
    }

    @Test(arguments: [0, 1])
    func stemLintsClean(_ i: Int) throws {
        let (config, _) = try Self.model(Self.shapes[i], seed: 9)
        let findings = try LintTests.emitAndLint(try makeStem(config))
        #expect(findings.isEmpty, "\(findings)")
    }
}
