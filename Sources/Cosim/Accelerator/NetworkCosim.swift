import Blocks
import Description
import Foundation
import Golden
import HDL

/// Co-simulation of a whole network against the golden model (docs/arithmetic.md §8), in two
/// parts that together name the first wrong layer:
/// 1. layer by layer: the stem on the images' pixels, then every section (patch embedding or
///    QKFormer block) on the golden model's stream before it (the first section of a DVS
///    network, which has no stem, on the frames themselves), each in Verilator under random
///    stalls, every count of every output vector compared with the golden model's (the first
///    mismatch names the section, sample, time step, token and channel);
/// 2. end to end: the whole network's top module on the images' pixels or the DVS frames' count
///    stream, every `z[k]` compared.
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
            .appendingPathComponent("qkforge-netcosim-\(getpid())-\(UUID().uuidString.prefix(8))")
        public var writeReplay = true
        /// The whole network's watchdog: cycles in which no beat crosses either port before the
        /// run is called stuck. A large network computes for millions of cycles between its last
        /// input beat and its first class score, so the command line sets this from the cycle
        /// model (`NetworkCommands.watchdogCycles`).
        public var idleLimit = 2_000_000
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
    /// `bits`-bit range, with the extremes forced at a few positions. Empty for DVS frames.
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

    /// Random DVS frames as the count stream `[T][H*W][C]` the network reads (`ImageInput.frames`):
    /// each count is non-zero with probability `density`, then uniform in `1...maxCount`, with
    /// `maxCount` forced at the first and last count. Empty for an image of pixels.
    public static func randomFrames(_ f: ImageFormat, count: Int, seed: UInt64, density: Double = 0.3) -> [SpikeTensor] {
        guard let s = f.frameStream else { return [] }
        return (0..<count).map { i in
            var rng = SplitMix64(seed: (seed ^ 0xD75) &+ UInt64(i) &* 0x9E37_79B9)
            var t = SpikeTensor(shape: [s.timeSteps, s.tokens, s.channels], repeating: 0)
            for k in t.scalars.indices where Double.random(in: 0..<1, using: &rng) < density {
                t.scalars[k] = UInt8(Int.random(in: 1...s.maxCount, using: &rng))
            }
            if !t.scalars.isEmpty { t.scalars[0] = UInt8(s.maxCount); t.scalars[t.scalars.count - 1] = UInt8(s.maxCount) }
            return t
        }
    }

    /// The network's input: static images of pixels (a network with a stem), or DVS frames as
    /// the count stream `[T][H*W][C]` (a network without one).
    enum Input {
        case images([Tensor<Int64>])
        case frames([SpikeTensor])

        var count: Int {
            switch self {
            case .images(let x): x.count
            case .frames(let x): x.count
            }
        }

        /// What one input is called in messages.
        var noun: String {
            switch self {
            case .images: "image"
            case .frames: "frame sample"
            }
        }

        /// The golden model's trace of every input.
        func traces(_ golden: GoldenNetwork) throws -> [NetworkTrace] {
            switch self {
            case .images(let x): try x.map { try golden.run(image: $0) }
            case .frames(let x): try x.map { try golden.run(frames: $0) }
            }
        }

        /// The stream the first section reads, for every input: the stem's spikes, or the frames.
        func firstStream(_ traces: [NetworkTrace]) throws -> [SpikeTensor] {
            switch self {
            case .images:
                return try traces.map {
                    guard let s = $0.stem else { throw ConfigError(field: "input", "an image of pixels needs a stem conv") }
                    return s.output
                }
            case .frames(let x): return x
            }
        }

        /// The top module's input beats for every input, in order.
        func beats(_ hw: NetworkHardware) throws -> [Beat] {
            switch self {
            case .images(let x):
                guard let sc = hw.stem else {
                    throw ConfigError(field: "input", "this network reads DVS frames (\(hw.network.image)), not images")
                }
                return x.flatMap { pixelBeats(sc, $0) }
            case .frames(let x):
                guard hw.stem == nil, let f = hw.network.image.frameStream, let first = hw.sections.first else {
                    throw ConfigError(field: "input", "this network reads an image (\(hw.network.image)), not DVS frames")
                }
                for (i, s) in x.enumerated() {
                    guard s.shape == [f.timeSteps, f.tokens, f.channels] else {
                        throw ConfigError(field: "frames", "sample \(i) has shape \(s.shape) as a stream but the network reads [T, H*W, C] = [\(f.timeSteps), \(f.tokens), \(f.channels)]")
                    }
                    if let k = s.scalars.firstIndex(where: { Int($0) > f.maxCount }) {
                        throw ConfigError(field: "frames", "sample \(i) holds count \(s.scalars[k]) at offset \(k), beyond the largest frame count \(f.maxCount)")
                    }
                }
                return x.flatMap { countBeats(first.input, $0) }
            }
        }
    }

    public static func run(_ hw: NetworkHardware, images: [Tensor<Int64>], options o: Options) throws -> Result {
        try run(hw, input: .images(images), options: o)
    }

    /// `run` for a DVS network: `frames` are count streams `[T][H*W][C]` (`ImageInput.frames`,
    /// `randomFrames`); the first section is checked on the frames themselves.
    public static func run(_ hw: NetworkHardware, frames: [SpikeTensor], options o: Options) throws -> Result {
        try run(hw, input: .frames(frames), options: o)
    }

    static func run(_ hw: NetworkHardware, input: Input, options o: Options) throws -> Result {
        try run(hw, input: input, golden: try input.traces(try GoldenNetwork(hw.network)), options: o)
    }

    /// Both parts against the golden traces `traces` (one per input; the tests give the traces
    /// of other inputs to see a wrong expectation reported).
    static func run(_ hw: NetworkHardware, input: Input, golden traces: [NetworkTrace], options o: Options) throws -> Result {
        precondition(traces.count == input.count, "one golden trace per input")
        var layers: [LayerResult] = []
        if o.layers && input.count > 0 {
            if case .images(let images) = input, let sc = hw.stem {
                layers.append(try stem(sc, images: images, expected: traces.map { $0.stem!.output }, options: o))
            }
            let first = try input.firstStream(traces)
            for (i, s) in hw.sections.enumerated() {
                let inputs = i == 0 ? first : traces.map { $0.sections[i - 1].trace.output }
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
            let r = try simulate(hw, input: input, options: o)
            let expected = traces.flatMap(\.z)
            for (i, (z, e)) in zip(r.z.joined(), expected).enumerated() where z != e && zMismatches.count < 20 {
                zMismatches.append("\(input.noun) \(i / hw.head.classes) class \(i % hw.head.classes): RTL z = \(z), golden \(e)")
            }
            zCompared = min(r.z.joined().count, expected.count)
            wholeErrors = r.errors
            wholeCycles = r.cycles
            predicted = r.z.map { ImageInput.predictedClass($0, fractionBits: hw.network.head.fractionBits) }
        }
        return Result(images: input.count, layers: layers, wholeCycles: wholeCycles, zCompared: zCompared, zMismatches: zMismatches,
                      wholeErrors: wholeErrors, predicted: predicted)
    }

    struct Beat { let data: Bits; let last: Bool; let user: Int }

    /// The whole network in Verilator on `images` (pixels on the input grid): each image's `z`,
    /// the cycles for all of them, and any protocol error.
    public static func simulate(_ hw: NetworkHardware, images: [Tensor<Int64>], options o: Options) throws
        -> (z: [[Int64]], cycles: Int, errors: [String]) {
        try simulate(hw, input: .images(images), options: o)
    }

    /// The whole DVS network in Verilator on `frames` (count streams `[T][H*W][C]`): each
    /// sample's `z`, the cycles for all of them, and any protocol error.
    public static func simulate(_ hw: NetworkHardware, frames: [SpikeTensor], options o: Options) throws
        -> (z: [[Int64]], cycles: Int, errors: [String]) {
        try simulate(hw, input: .frames(frames), options: o)
    }

    static func simulate(_ hw: NetworkHardware, input: Input, options o: Options) throws -> (z: [[Int64]], cycles: Int, errors: [String]) {
        let beats = try input.beats(hw)
        let design = try Elaborate.run(try hw.makeModule())
        let driver = try PortDriver.verilator(design, directory: o.workDirectory.appendingPathComponent("network"))
        defer { BlockStreamCosim.removeWorkFiles(o.workDirectory, "network") }
        let zw = try hw.head.accumulatorRange().signedWidth, classes = hw.head.classes, total = input.count * classes
        var got: [Int64] = [], errors: [String] = []
        let progressBar = ProgressLine("simulating \(input.count) \(input.noun)\(input.count == 1 ? "" : "s") through the network in Verilator",
                                       total: total, unit: "class scores")
        defer { progressBar.finish() }
        let run = drive(driver, beats: beats, outputs: total, seed: o.seed ^ 0xA11, options: o, idleLimit: o.idleLimit,
                        progress: { progressBar.update($0) }) { _ in
            let raw = driver.get("m_axis_tdata")
            let z = zw >= 64 ? Int64(bitPattern: raw) : (Int64(bitPattern: raw) << (64 - zw)) >> (64 - zw)
            let k = got.count % classes
            if driver.bit("m_axis_tlast") != (k == classes - 1), errors.count < 10 { errors.append("z beat \(got.count): tlast wrong") }
            got.append(z)
        }
        if run.stuck {
            errors.append("no progress for \(o.idleLimit) cycles (the watchdog) after \(got.count) of \(total) class scores and \(run.consumed) of \(beats.count) input beats: the network is stuck")
        }
        if driver.bit("error") { errors.append("the network's error output went high") }
        if let stop = stopMessage(driver) { errors.append(stop) }
        let z = stride(from: 0, to: got.count - classes + 1, by: classes).map { Array(got[$0..<($0 + classes)]) }
        return (z, run.cycles, errors)
    }

    /// A simulation-only check of the design (a promise the generator made, e.g. that a block
    /// RAM is never read and written at one address in one cycle) stopped the simulation.
    static func stopMessage(_ driver: PortDriver) -> String? {
        guard let model = driver.model as? VerilatorModel, case .failed(let message) = model.status else { return nil }
        return "the design stopped the simulation (\(message)); see the ERROR line above"
    }

    /// The one driving loop of the network's modules: after a reset, offers `beats` on `s_axis`
    /// (withheld with probability `inputStall` in each cycle) while `m_axis_tready` drops with
    /// probability `outputStall`, and calls `receive(k)` in the cycle output beat `k` transfers
    /// (its `m_axis_*` readable), until `outputs` beats are out or nothing moves for `idleLimit`
    /// cycles (`stuck`).
    static func drive(_ driver: PortDriver, beats: [Beat], outputs: Int, seed: UInt64, options o: Options, idleLimit: Int,
                      progress: ((Int) -> Void)? = nil, receive: (Int) -> Void) -> (cycles: Int, consumed: Int, received: Int, stuck: Bool) {
        var rng = SplitMix64(seed: seed)
        let hasUser = driver.has("s_axis_tuser")
        var next = 0, received = 0, cycles = 0, idle = 0
        driver.set("rst", 1); driver.tick(); driver.set("rst", 0)
        while received < outputs {
            let offer = next < beats.count && Double.random(in: 0..<1, using: &rng) >= o.inputStall
            let ready = Double.random(in: 0..<1, using: &rng) >= o.outputStall
            driver.set("s_axis_tvalid", offer)
            if offer {
                driver.set("s_axis_tdata", bits: beats[next].data)
                driver.set("s_axis_tlast", beats[next].last)
                if hasUser { driver.set("s_axis_tuser", beats[next].user) }
            }
            driver.set("m_axis_tready", ready)
            driver.eval()
            var moved = false
            if ready && driver.bit("m_axis_tvalid") {
                receive(received)
                received += 1
                moved = true
            }
            if offer && driver.bit("s_axis_tready") { next += 1; moved = true }
            driver.tick()
            cycles += 1
            if cycles & 0xFFFF == 0 { progress?(received) }
            idle = moved ? 0 : idle + 1
            if idle > idleLimit { return (cycles, next, received, true) }
        }
        return (cycles, next, received, false)
    }

    /// The stem's input beats for one image: pixels, one position per beat, raster order.
    static func pixelBeats(_ sc: StemConfig, _ image: Tensor<Int64>) -> [Beat] {
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

    /// The beats of one count stream `[T][N][C]` in format `f` (docs/formats.md), as every
    /// section reads them: tokens in order, the T time steps of a token innermost, each vector
    /// in `f.beats` beats of `f.lanes` counts (the slots past C zero); tlast on a vector's last
    /// beat, tuser[0] on its first, tuser[1] on the first beat of a token's first time step.
    static func countBeats(_ f: CountStreamFormat, _ x: SpikeTensor) -> [Beat] {
        let T = x.shape[0], N = x.shape[1], C = x.shape[2], K = f.lanes
        var beats: [Beat] = []
        for n in 0..<N {
            for t in 0..<T {
                for b in 0..<f.beats {
                    let counts = (0..<K).map { j in b * K + j < C ? UInt64(x[t, n, b * K + j]) : 0 }
                    beats.append(Beat(data: PortDriver.pack(counts, laneWidth: f.countWidth, width: f.dataWidth),
                                      last: b == f.beats - 1, user: (b == 0 && t == 0 ? 2 : 0) | (b == 0 ? 1 : 0)))
                }
            }
        }
        return beats
    }

    /// The stem alone: pixels in, spikes out, every count compared.
    static func stem(_ sc: StemConfig, images: [Tensor<Int64>], expected: [SpikeTensor], options o: Options) throws -> LayerResult {
        let design = try Elaborate.run(try makeStem(sc))
        let driver = try PortDriver.verilator(design, directory: o.workDirectory.appendingPathComponent("stem"))
        defer { BlockStreamCosim.removeWorkFiles(o.workDirectory, "stem") }
        let out = sc.outputFormat, T = sc.timeSteps, Go = out.beats, Ko = out.lanes
        let N = expected[0].shape[1], Co = expected[0].shape[2]
        let beats = images.flatMap { pixelBeats(sc, $0) }
        let total = images.count * N * T * Go
        var mismatches = 0, first: String?, errors: [String] = []
        let run = drive(driver, beats: beats, outputs: total, seed: o.seed ^ 0x57E, options: o, idleLimit: 200_000) { received in
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
        }
        if run.stuck { errors.append("the stem is stuck after \(run.received) of \(total) output beats") }
        if let stop = stopMessage(driver) { errors.append(stop) }
        return LayerResult(name: "stem", vectors: images.count * N * T, cycles: run.cycles, mismatchCount: mismatches, firstMismatch: first,
                           protocolErrors: errors, replayDirectory: nil)
    }
}
