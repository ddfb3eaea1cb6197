import Description
import Foundation
import Golden

/// `qkforge golden --bundle DIR --input images.npy --output logits.npy [--raw]` for a bundle whose
/// config.json says `"block": "network"` (docs/formats.md, docs/arithmetic.md §8): images are
/// quantized onto the input grid (ties to even; rounded and saturated values are counted and
/// reported), or DVS frames read as counts; the golden network runs each sample; the output is
/// float64 logits `[B, classes]`, or with `--raw` the int64 integers `z`.
enum NetworkGolden {
    /// Whether the command names a network bundle.
    static func applies(_ args: Arguments) -> Bool {
        guard let b = args.string("bundle") else { return false }
        return NetworkBundle.isNetwork(directory: URL(fileURLWithPath: b))
    }

    static func run(_ args: Arguments) throws {
        try args.forbid(["model", "block", "stage", "seed"], "with a network bundle (its config.json describes the whole network); drop it")
        guard let bundlePath = args.string("bundle"), let inPath = args.string("input"), let outPath = args.string("output") else {
            throw Arguments.UsageError(description: "--input X.npy and --output Y.npy are required")
        }
        let inputs = ModelCommands.inputPaths(args)
        try Outputs.checkFile(outPath, flag: "--output", inputs: inputs)
        let bundle = try NetworkBundle.load(directory: URL(fileURLWithPath: bundlePath))
        let d = bundle.network
        let golden = try GoldenNetwork(d)
        let samples = try readInput(inPath, d.image)

        // Only z, the logits and the class of each sample are kept: a trace holds every layer.
        var rounded = 0, saturated = 0
        var results: [(z: [Int64], logits: [Double], predictedClass: Int)] = []
        for s in samples {
            let t: NetworkTrace
            switch s {
            case .image(let q):
                rounded += q.rounded
                saturated += q.saturated
                t = try golden.run(image: q.pixels)
            case .frames(let f):
                t = try golden.run(frames: f)
            }
            results.append((t.z, t.logits, t.predictedClass))
        }
        for line in bundle.reportLines { print(line) }
        if case .pixels(let bits, let fin) = d.image.kind {
            let total = samples.count * d.image.channels * d.image.height * d.image.width
            print("input: \(samples.count) image(s) onto \(bits)-bit pixels on 2^-\(fin): \(rounded) of \(total) values rounded (to nearest, ties to even), \(saturated) saturated")
        }
        let classes = d.head.classes
        let array: NPYArray = args.flag("raw")
            ? try NPYArray(shape: [results.count, classes], scalars: results.flatMap(\.z))
            : try NPYArray(shape: [results.count, classes], scalars: results.flatMap(\.logits))
        try Outputs.writeFile(outPath, flag: "--output", inputs: inputs, data: array.npyData())
        let shown = results.prefix(16).map { String($0.predictedClass) }.joined(separator: ", ")
        print("wrote \(outPath): \(args.flag("raw") ? "int64 z" : "float64 logits") [\(results.count), \(classes)]; classes \(shown)\(results.count > 16 ? ", ..." : "")")
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
