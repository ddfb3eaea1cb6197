import Blocks
import Cosim
import Description
import Foundation
import Golden

/// `qkforge golden|simulate (--bundle DIR | --model M --block network) --input X.npy --output Y.npy [--raw]`
/// (docs/formats.md, docs/arithmetic.md §8): images are quantized onto the input grid (ties to
/// even; rounded and saturated values are counted and reported), or DVS frames read as counts;
/// the golden network (`golden`) or the generated RTL in Verilator (`simulate`) runs each
/// sample; the output is float64 logits `[B, classes]`, or with `--raw` the int64 integers `z`.
enum NetworkGolden {
    static func run(_ args: Arguments, rtl: Bool) throws {
        guard let inPath = args.string("input"), let outPath = args.string("output") else {
            throw Arguments.UsageError(description: "--input X.npy and --output Y.npy are required")
        }
        let inputs = ModelCommands.inputPaths(args)
        try Outputs.checkFile(outPath, flag: "--output", inputs: inputs)
        let d = try NetworkCommands.network(args)
        let samples = try readInput(inPath, d.image)
        let z = rtl ? try simulate(d, samples, args) : try golden(d, samples)

        if case .pixels(let bits, let fin) = d.image.kind {
            var rounded = 0, saturated = 0
            for case .image(let q) in samples { (rounded, saturated) = (rounded + q.rounded, saturated + q.saturated) }
            let total = samples.count * d.image.channels * d.image.height * d.image.width
            print("input: \(samples.count) image(s) onto \(bits)-bit pixels on 2^-\(fin): \(rounded) of \(total) values rounded (to nearest, ties to even), \(saturated) saturated")
        }
        let h = d.head, f = d.output, classes = h.classes
        let array: NPYArray = args.flag("raw")
            ? try NPYArray(shape: [z.count, classes], scalars: z.flatMap { $0 })
            : try NPYArray(shape: [z.count, classes], scalars: z.flatMap {
                ImageInput.logits($0, fractionBits: h.fractionBits, tokens: f.tokens, timeSteps: f.timeSteps) })
        try Outputs.writeFile(outPath, flag: "--output", inputs: inputs, data: array.npyData())
        let predicted = z.map { ImageInput.predictedClass($0, fractionBits: h.fractionBits) }
        let shown = predicted.prefix(16).map(String.init).joined(separator: ", ")
        print("wrote \(outPath): \(args.flag("raw") ? "int64 z" : "float64 logits") [\(z.count), \(classes)]; classes \(shown)\(z.count > 16 ? ", ..." : "")")
    }

    /// The golden model's `z` of each sample (a trace holds every layer: only z is kept).
    static func golden(_ d: NetworkDescription, _ samples: [Sample]) throws -> [[Int64]] {
        let g = try GoldenNetwork(d)
        return try samples.map { s in
            switch s {
            case .image(let q): return try g.run(image: q.pixels).z
            case .frames(let f): return try g.run(frames: f).z
            }
        }
    }

    /// The generated RTL's `z` of each sample, in Verilator (one build, every sample streamed
    /// back to back, no stalls).
    static func simulate(_ d: NetworkDescription, _ samples: [Sample], _ args: Arguments) throws -> [[Int64]] {
        let hw = try NetworkCommands.hardware(d, args)
        var o = NetworkCosim.Options()
        (o.inputStall, o.outputStall) = (0, 0)
        o.idleLimit = try NetworkCommands.watchdogCycles(d, args)
        print("watchdog: \(o.idleLimit) cycles without a beat on either port (twice the cycle model's worst case of one image, every spike rate 1)")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-netsim-\(getpid())")
        o.workDirectory = work
        defer { try? FileManager.default.removeItem(at: work) }
        var images: [Tensor<Int64>] = [], frames: [SpikeTensor] = []
        for s in samples {
            switch s {
            case .image(let q): images.append(q.pixels)
            case .frames(let f): frames.append(f)
            }
        }
        let r = frames.isEmpty ? try NetworkCosim.simulate(hw, images: images, options: o)
                               : try NetworkCosim.simulate(hw, frames: frames, options: o)
        if let e = r.errors.first { throw Failure(message: "the RTL misbehaved: \(e)", code: 1) }
        guard r.z.count == samples.count else {
            throw Failure(message: "the RTL wrote class scores for \(r.z.count) of \(samples.count) samples", code: 1)
        }
        print("simulated \(samples.count) sample(s) in Verilator: \(r.cycles) cycles")
        return r.z
    }

    enum Sample {
        case image(QuantizedImage)
        case frames(SpikeTensor)
    }

    /// The samples of `path`: images `[C, H, W]` / `[B, C, H, W]` (float32 or float64), or DVS
    /// frames `[T, C, H, W]` / `[B, T, C, H, W]` of whole counts. A wrong size or dtype is one
    /// line naming the file, the shape found and the shape expected.
    static func readInput(_ path: String, _ f: ImageFormat) throws -> [Sample] {
        let a = try NPYArray(contentsOf: URL(fileURLWithPath: path))
        let v = try a.asDouble()
        switch f.kind {
        case .pixels(let bits, let fin):
            guard a.dtype == .float32 || a.dtype == .float64 else {
                throw Arguments.UsageError(description: "\(path): images must be float32 or float64 (normalized, as the model's forward receives them), got \(a.dtype)")
            }
            let one = [f.channels, f.height, f.width]
            guard a.shape == one || (a.shape.count == 4 && Array(a.shape.dropFirst()) == one) else {
                throw Arguments.UsageError(description: "\(path): shape \(a.shape) does not fit the network's \(f.channels) x \(f.height) x \(f.width) images; give [\(f.channels), \(f.height), \(f.width)] or [B, \(f.channels), \(f.height), \(f.width)] (image size and channels come from config.json)")
            }
            let n = one.reduce(1, *), batch = a.shape.count == 4 ? a.shape[0] : 1
            return try (0..<batch).map { b in
                do {
                    return .image(try ImageInput.quantize(Array(v[(b * n)..<((b + 1) * n)]), shape: one, bits: bits, fractionBits: fin))
                } catch let e as ConfigError { throw Arguments.UsageError(description: "\(path): sample \(b): \(e)") }
            }
        case .frames(let maxCount):
            let one = [f.timeSteps, f.channels, f.height, f.width]
            guard a.shape == one || (a.shape.count == 5 && Array(a.shape.dropFirst()) == one) else {
                throw Arguments.UsageError(description: "\(path): shape \(a.shape) does not fit the network's \(f.timeSteps) frames of \(f.channels) x \(f.height) x \(f.width); give [\(one.map(String.init).joined(separator: ", "))] or [B, \(one.map(String.init).joined(separator: ", "))] (timeSteps, image size and channels come from config.json)")
            }
            let n = one.reduce(1, *), batch = a.shape.count == 5 ? a.shape[0] : 1
            return try (0..<batch).map { b in
                do {
                    return .frames(try ImageInput.frames(Array(v[(b * n)..<((b + 1) * n)]), shape: one, maxCount: maxCount))
                } catch let e as ConfigError { throw Arguments.UsageError(description: "\(path): sample \(b): \(e)") }
            }
        }
    }
}
