import Blocks
import Description
import Foundation
import Golden
import HDL

/// Co-simulation of a whole network against the golden model (docs/arithmetic.md §8), in two
/// parts that together name the first wrong layer:
/// 1. layer by layer: the stem on the images' pixels, then every section (patch embedding or
///    QKFormer block) on the golden model's stream before it, each in Verilator under random
///    stalls, every count of every output vector compared with the golden model's (the first
///    mismatch names the section, sample, time step, token and channel);
/// 2. end to end: the whole network's top module on the images' pixels, every `z[k]` compared.
public enum NetworkCosim {
    public struct Options: Sendable {
        public var inputStall = 0.1
        public var outputStall = 0.1
        public var seed: UInt64 = 1
        /// Run the layer-by-layer part.
        public var layers = true
        /// Run the whole network end to end.
        public var whole = true
        public var workDirectory: URL = FileManager.default.temporaryDirectory
        public var writeReplay = true
        public init() {}
    }

    public struct LayerResult: Sendable {
        public let name: String
        public let vectors: Int
        public let cycles: Int
        public let mismatchCount: Int
        public let firstMismatch: String?
        public let protocolErrors: [String]
        public let replayDirectory: URL?
        public var passed: Bool { mismatchCount == 0 && protocolErrors.isEmpty }
    }

    public struct Result: Sendable {
        public let images: Int
        public let layers: [LayerResult]
        /// End to end: cycles for every image, `z` values compared and wrong.
        public let wholeCycles: Int?
        public let zCompared: Int
        public let zMismatches: [String]
        public let wholeErrors: [String]
        public let predicted: [Int]
        public var passed: Bool { layers.allSatisfy(\.passed) && zMismatches.isEmpty && wholeErrors.isEmpty }
        /// The first failure, naming the layer.
        public var firstFailure: String? {
            if let l = layers.first(where: { !$0.passed }) {
                return "layer \(l.name): " + (l.firstMismatch ?? l.protocolErrors.first ?? "failed")
            }
            return zMismatches.first ?? wholeErrors.first
        }
    }

    /// Random static images `[C][H][W]` on the input grid: every pixel uniform over the
    /// `bits`-bit range, with the extremes forced at a few positions.
    public static func randomImages(_ f: ImageFormat, count: Int, seed: UInt64) -> [Tensor<Int64>] {
        guard case .pixels(let bits, _) = f.kind else { return [] }
        let lo = -(Int64(1) << (bits - 1)), hi = (Int64(1) << (bits - 1)) - 1
        return (0..<count).map { i in
            var rng = SplitMix64(seed: seed &+ UInt64(i) &* 0x9E37_79B9)
            var t = Tensor<Int64>(shape: [f.channels, f.height, f.width], repeating: 0)
            for k in t.scalars.indices { t.scalars[k] = Int64.random(in: lo...hi, using: &rng) }
            if !t.scalars.isEmpty { t.scalars[0] = lo; t.scalars[t.scalars.count - 1] = hi }
            return t
        }
    }

    public static func run(_ hw: NetworkHardware, images: [Tensor<Int64>], options o: Options) throws -> Result {
        let golden = try GoldenNetwork(hw.network)
        let traces = try images.map { try golden.run(image: $0) }
        var layers: [LayerResult] = []
        if o.layers {
            if let sc = hw.stem {
                layers.append(try stem(sc, images: images, expected: traces.map { $0.stem!.output }, options: o))
            }
            for (i, s) in hw.sections.enumerated() {
                let inputs = traces.map { i == 0 ? ($0.stem?.output ?? $0.sections[0].trace.output) : $0.sections[i - 1].trace.output }
                let outputs = traces.map { $0.sections[i].trace.output }
                var so = BlockStreamCosim.Options()
                (so.inputStall, so.outputStall, so.seed, so.writeReplay) = (o.inputStall, o.outputStall, o.seed &+ UInt64(i + 1), o.writeReplay)
                so.workDirectory = o.workDirectory.appendingPathComponent(s.name)
                let r = try BlockStreamCosim.run(try Elaborate.run(s.module), input: s.input, output: s.output, tokens: inputs[0].shape[1],
                                                 outputTokens: outputs[0].shape[1], samples: inputs, expected: outputs, options: so)
                layers.append(LayerResult(name: s.name, vectors: r.vectors, cycles: r.cycles, mismatchCount: r.mismatchCount,
                                          firstMismatch: r.mismatches.first.map { "\($0)" }, protocolErrors: r.protocolErrors,
                                          replayDirectory: r.replayDirectory))
            }
        }
        var zCompared = 0, zMismatches: [String] = [], wholeErrors: [String] = [], predicted: [Int] = [], wholeCycles: Int?
        if o.whole {
            let r = try simulate(hw, images: images, options: o)
            let expected = traces.flatMap(\.z)
            for (i, (z, e)) in zip(r.z.joined(), expected).enumerated() where z != e && zMismatches.count < 20 {
                zMismatches.append("image \(i / hw.head.classes) class \(i % hw.head.classes): RTL z = \(z), golden \(e)")
            }
            zCompared = min(r.z.joined().count, expected.count)
            wholeErrors = r.errors
            wholeCycles = r.cycles
            predicted = r.z.map { ImageInput.predictedClass($0) }
        }
        return Result(images: images.count, layers: layers, wholeCycles: wholeCycles, zCompared: zCompared, zMismatches: zMismatches,
                      wholeErrors: wholeErrors, predicted: predicted)
    }

    struct Beat { let data: Bits; let last: Bool; let user: Int }

    /// The whole network in Verilator on `images` (pixels on the input grid): each image's `z`,
    /// the cycles for all of them, and any protocol error.
    public static func simulate(_ hw: NetworkHardware, images: [Tensor<Int64>], options o: Options) throws
        -> (z: [[Int64]], cycles: Int, errors: [String]) {
        let design = try Elaborate.run(try hw.makeModule())
        let driver = try PortDriver.verilator(design, directory: o.workDirectory.appendingPathComponent("network"))
        let zw = try hw.head.accumulatorRange().signedWidth, classes = hw.head.classes
        var rng = SplitMix64(seed: o.seed ^ 0xA11)
        let beats = images.flatMap { pixelBeats(hw, $0) }
        var next = 0, got: [Int64] = [], cycles = 0, idle = 0, errors: [String] = []
        let progressBar = ProgressLine("simulating \(images.count) image\(images.count == 1 ? "" : "s") through the network in Verilator",
                                       total: images.count * classes, unit: "class scores")
        defer { progressBar.finish() }
        driver.set("rst", 1); driver.tick(); driver.set("rst", 0)
        while got.count < images.count * classes {
            let offer = next < beats.count && Double.random(in: 0..<1, using: &rng) >= o.inputStall
            let ready = Double.random(in: 0..<1, using: &rng) >= o.outputStall
            driver.set("s_axis_tvalid", offer)
            if offer {
                driver.set("s_axis_tdata", bits: beats[next].data)
                driver.set("s_axis_tlast", beats[next].last)
                if driver.has("s_axis_tuser") { driver.set("s_axis_tuser", beats[next].user) }
            }
            driver.set("m_axis_tready", ready)
            driver.eval()
            var progress = false
            if ready && driver.bit("m_axis_tvalid") {
                let raw = driver.get("m_axis_tdata")
                let z = zw >= 64 ? Int64(bitPattern: raw) : (Int64(bitPattern: raw) << (64 - zw)) >> (64 - zw)
                let k = got.count % classes
                if driver.bit("m_axis_tlast") != (k == classes - 1), errors.count < 10 { errors.append("z beat \(got.count): tlast wrong") }
                got.append(z)
                progress = true
            }
            if offer && driver.bit("s_axis_tready") { next += 1; progress = true }
            driver.tick()
            cycles += 1
            if cycles & 0xFFFF == 0 { progressBar.update(got.count) }
            idle = progress ? 0 : idle + 1
            if idle > 2_000_000 {
                errors.append("no progress for 2000000 cycles after \(got.count) of \(images.count * classes) class scores and \(next) of \(beats.count) pixel beats: the network is stuck")
                break
            }
        }
        if driver.bit("error") { errors.append("the network's error output went high") }
        let z = stride(from: 0, to: got.count - classes + 1, by: classes).map { Array(got[$0..<($0 + classes)]) }
        return (z, cycles, errors)
    }

    /// The network's input beats for one image: pixels, one position per beat, raster order.
    static func pixelBeats(_ hw: NetworkHardware, _ image: Tensor<Int64>) -> [Beat] {
        guard let sc = hw.stem else { return [] }
        let C = image.shape[0], H = image.shape[1], W = image.shape[2]
        var beats: [Beat] = []
        for y in 0..<H {
            for x in 0..<W {
                let lanes = (0..<C).map { c in UInt64(bitPattern: image.scalars[(c * H + y) * W + x]) & ((1 << UInt64(sc.inputBits)) - 1) }
                beats.append(Beat(data: PortDriver.pack(lanes, laneWidth: sc.inputBits, width: sc.inputWidth),
                                  last: y == H - 1 && x == W - 1, user: 0))
            }
        }
        return beats
    }

    /// The stem alone: pixels in, spikes out, every count compared.
    static func stem(_ sc: StemConfig, images: [Tensor<Int64>], expected: [SpikeTensor], options o: Options) throws -> LayerResult {
        let design = try Elaborate.run(try makeStem(sc))
        let driver = try PortDriver.verilator(design, directory: o.workDirectory.appendingPathComponent("stem"))
        let out = sc.outputFormat, T = sc.timeSteps, Go = out.beats, Ko = out.lanes
        let N = expected[0].shape[1], Co = expected[0].shape[2]
        var beats: [Beat] = []
        for img in images {
            let C = img.shape[0], H = img.shape[1], W = img.shape[2]
            for y in 0..<H {
                for x in 0..<W {
                    let lanes = (0..<C).map { c in UInt64(bitPattern: img.scalars[(c * H + y) * W + x]) & ((1 << UInt64(sc.inputBits)) - 1) }
                    beats.append(Beat(data: PortDriver.pack(lanes, laneWidth: sc.inputBits, width: sc.inputWidth),
                                      last: y == H - 1 && x == W - 1, user: 0))
                }
            }
        }
        let total = images.count * N * T * Go
        var rng = SplitMix64(seed: o.seed ^ 0x57E)
        var next = 0, received = 0, cycles = 0, idle = 0, mismatches = 0
        var first: String?, errors: [String] = []
        driver.set("rst", 1); driver.tick(); driver.set("rst", 0)
        while received < total {
            let offer = next < beats.count && Double.random(in: 0..<1, using: &rng) >= o.inputStall
            let ready = Double.random(in: 0..<1, using: &rng) >= o.outputStall
            driver.set("s_axis_tvalid", offer)
            if offer {
                driver.set("s_axis_tdata", bits: beats[next].data)
                driver.set("s_axis_tlast", beats[next].last)
            }
            driver.set("m_axis_tready", ready)
            driver.eval()
            var progress = false
            if ready && driver.bit("m_axis_tvalid") {
                let v = received / Go, g = received % Go
                let s = v / (N * T), n = (v / T) % N, t = v % T
                let counts = driver.lanes("m_axis_tdata", count: Ko, laneWidth: out.countWidth)
                for j in 0..<Ko where g * Ko + j < Co {
                    let c = g * Ko + j
                    if Int(counts[j]) != Int(expected[s][t, n, c]) {
                        mismatches += 1
                        if first == nil { first = "sample \(s), time step \(t), token \(n), channel \(c): expected \(expected[s][t, n, c]), got \(counts[j])" }
                    }
                }
                let user = driver.get("m_axis_tuser"), wantUser = UInt64((g == 0 && t == 0 ? 2 : 0) | (g == 0 ? 1 : 0))
                if driver.bit("m_axis_tlast") != (g == Go - 1) || user != wantUser, errors.count < 10 {
                    errors.append("stem output beat \(received): tlast/tuser wrong")
                }
                received += 1
                progress = true
            }
            if offer && driver.bit("s_axis_tready") { next += 1; progress = true }
            driver.tick()
            cycles += 1
            idle = progress ? 0 : idle + 1
            if idle > 200_000 { errors.append("the stem is stuck after \(received) of \(total) output beats"); break }
        }
        return LayerResult(name: "stem", vectors: images.count * N * T, cycles: cycles, mismatchCount: mismatches, firstMismatch: first,
                           protocolErrors: errors, replayDirectory: nil)
    }
}
