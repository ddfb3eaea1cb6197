import Foundation

/// The network's input (docs/arithmetic.md §8): a static image of fixed-point pixels, or DVS
/// event frames (a different frame of counts at every time step).
public struct ImageFormat: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// Signed pixels of `bits` bits on the grid `2^-fractionBits`; the same image at every time step.
        case pixels(bits: Int, fractionBits: Int)
        /// Event counts `0...maxCount`, one frame per time step.
        case frames(maxCount: Int)
    }

    public var channels: Int
    public var height: Int
    public var width: Int
    public var timeSteps: Int
    public var kind: Kind

    public init(channels: Int, height: Int, width: Int, timeSteps: Int, kind: Kind) {
        (self.channels, self.height, self.width, self.timeSteps, self.kind) = (channels, height, width, timeSteps, kind)
    }

    /// The frames as a count stream (tokens `y * width + x`, T innermost); nil for pixels.
    public var frameStream: StreamFormat? {
        guard case .frames(let m) = kind else { return nil }
        return StreamFormat(channels: channels, tokens: height * width, timeSteps: timeSteps, maxCount: m, width: width)
    }

    public var description: String {
        switch kind {
        case .pixels(let b, let f): "\(channels) x \(height) x \(width) image, \(b)-bit pixels on 2^-\(f), T = \(timeSteps)"
        case .frames(let m): "\(timeSteps) frames of \(channels) x \(height) x \(width) event counts 0...\(m)"
        }
    }
}

/// One section of the network's stream: a patch embedding, or one QKFormer block.
public struct NetworkSection: Hashable, Sendable {
    /// `patch_embed<s>` or `stage<s>.block<i>` (bundle keys use `stage<s>.<i>`).
    public var name: String
    public var input: StreamFormat
    public var body: Part
    /// For a QKFormer block: its config, so the block tools (golden, generator, estimate) apply.
    public var block: BlockConfig?

    public init(name: String, input: StreamFormat, body: Part, block: BlockConfig? = nil) throws {
        do { _ = try body.output(reading: input, at: name) } catch let e as ConfigError { throw e }
        (self.name, self.input, self.body, self.block) = (name, input, body, block)
    }

    public var output: StreamFormat {
        // Checked in init.
        try! body.output(reading: input, at: name)
    }

    /// The block description of a QKFormer block section (nil for an embedding).
    public func blockDescription(origin: String) -> BlockDescription? {
        guard let c = block else { return nil }
        return try? BlockDescription(config: c, input: input, body: body, origin: origin)
    }
}

/// A whole network as data (docs/arithmetic.md §8): the image input, the first conv that reads
/// it (multiplying pixels; nil for DVS frames, whose first conv is an ordinary section), the
/// sections (patch embeddings and QKFormer blocks) in stream order, and the head.
public struct NetworkDescription: Hashable, Sendable {
    public var config: NetworkConfig
    public var image: ImageFormat
    /// `LIF(pool?(conv(image)))` on the fixed-point pixels; its layer's grid is the weight grid
    /// plus the pixels' fraction bits.
    public var stem: ConvLayer?
    public var sections: [NetworkSection]
    public var head: HeadLayer
    public var origin: String

    public init(config: NetworkConfig, image: ImageFormat, stem: ConvLayer?, sections: [NetworkSection], head: HeadLayer,
                origin: String) throws {
        (self.config, self.image, self.stem, self.sections, self.head, self.origin) = (config, image, stem, sections, head, origin)
        var f = try stemOutput()
        for s in sections {
            guard s.input == f else {
                throw ConfigError(field: s.name, "reads \(s.input) but the stream before it is \(f); the stages do not chain")
            }
            f = s.output
        }
        guard head.channels == f.channels else {
            throw ConfigError(field: "head.weight", "reads \(head.channels) channels but the last stage writes \(f.channels)")
        }
    }

    /// The stream the first section reads: the stem's spikes, or the DVS frames.
    public func stemOutput() throws -> StreamFormat { try Self.stemOutput(image: image, stem: stem) }

    static func stemOutput(image: ImageFormat, stem: ConvLayer?) throws -> StreamFormat {
        if let s = stem {
            guard case .pixels = image.kind else { throw ConfigError(field: "stem", "a stem conv reads pixels, but the input is \(image)") }
            let pixels = StreamFormat(channels: image.channels, tokens: image.height * image.width, timeSteps: image.timeSteps,
                                      maxCount: 1, width: image.width)
            return try s.output(reading: pixels, at: "stem")
        }
        guard let f = image.frameStream else { throw ConfigError(field: "stem", "an image of pixels needs a stem conv that multiplies them") }
        return f
    }

    /// The count stream the head reads.
    public var output: StreamFormat { sections.last?.output ?? (try! stemOutput()) }

    /// Every spiking layer, stem first, in stream order, with its section's name.
    public var layers: [(section: String, layer: SpikingLayer)] {
        (stem.map { [("stem", $0.layer)] } ?? []) + sections.flatMap { s in s.body.layers.map { (s.name, $0) } }
    }

    /// A module-name stem: `network_<model>`.
    public var name: String { "network_\((config.model ?? "custom").replacingOccurrences(of: "-", with: "_"))" }
}

extension NetworkDescription {
    /// Random but seeded weights on the quantization grid (exact mode), as
    /// `BlockDescription.random` makes them: every weight on `2^-Fw`, `Fw = weightBits - 1`; the
    /// stem's weights too, its bias and LIF on `2^-(Fw + inputFractionBits)`; embedding biases in
    /// [0, 1] and block biases as a QKFormer block's, so that every layer fires. The same seed
    /// gives the same network.
    public static func random(_ c: NetworkConfig, seed: UInt64) throws -> NetworkDescription {
        let wb = c.quantization.weightBits, fw = wb - 1
        let e = c.quantization.decayFractionBits ?? c.timeSteps
        var rng = SplitMix64(seed: seed)
        func conv(_ name: String, _ cin: Int, _ cout: Int, k: Int, stride: Int = 1, pool: Bool = false) throws -> Part {
            let l = try SpikingLayer.random(name: name, outputs: cout, inputs: cin * k * k, weightBits: wb, biasRange: 0...1,
                                            decayFractionBits: e, using: &rng)
            return .conv(try ConvLayer(layer: l, inChannels: cin, kernel: k, stride: stride, pool: pool))
        }
        let (H, W) = (c.image[0], c.image[1])
        var image: ImageFormat
        var stem: ConvLayer?
        let C1 = c.dims[0]
        switch c.embedding {
        case .imagenet, .cifar:
            let fin = c.quantization.inputFractionBits
            image = ImageFormat(channels: c.inChannels, height: H, width: W, timeSteps: c.timeSteps,
                                kind: .pixels(bits: c.quantization.inputBits, fractionBits: fin))
            let l = try SpikingLayer.random(name: "conv1", outputs: C1 / 2, inputs: c.inChannels * 9, weightBits: wb,
                                            biasRange: 0...1, decayFractionBits: e, using: &rng)
            let onGrid = try SpikingLayer(name: "conv1", weights: l.weights, bias: l.bias.map { $0 << fin },
                                          fractionBits: l.fractionBits.map { $0 + fin }, decayFractionBits: e)
            stem = try ConvLayer(layer: onGrid, inChannels: c.inChannels, kernel: 3, pool: c.embedding == .imagenet)
        case .dvs:
            image = ImageFormat(channels: c.inChannels, height: H, width: W, timeSteps: c.timeSteps, kind: .frames(maxCount: c.maxFrameCount))
        }
        var sections: [NetworkSection] = []
        var f = try stemOutput(image: image, stem: stem)
        for s in 1...c.stages {
            let C = c.dims[s - 1]
            let body: Part
            switch (c.embedding, s) {
            case (.imagenet, 1):
                body = .fork(main: .chain([try conv("conv2", C / 2, C, k: 3, pool: true), try conv("conv3", C, C, k: 3)]),
                             shortcut: try conv("shortcut", C / 2, C, k: 1, stride: 2))
            case (.cifar, 1):
                body = .fork(main: try conv("conv2", C / 2, C, k: 3), shortcut: try conv("shortcut", C / 2, C, k: 1))
            case (.dvs, 1):
                body = .chain([try conv("conv1", c.inChannels, C / 8, k: 3), try conv("conv2", C / 8, C / 4, k: 3, pool: true),
                               .fork(main: .chain([try conv("conv3", C / 4, C / 2, k: 3, pool: true), try conv("conv4", C / 2, C, k: 3, pool: true)]),
                                     shortcut: try conv("shortcut", C / 4, C, k: 1, stride: 4))])
            case (.imagenet, _):
                body = .fork(main: .chain([try conv("conv1", f.channels, C, k: 3, pool: true), try conv("conv2", C, C, k: 3)]),
                             shortcut: try conv("shortcut", f.channels, C, k: 1, stride: 2))
            case (.cifar, _), (.dvs, _):
                body = .fork(main: .chain([try conv("conv1", f.channels, C, k: 3), try conv("conv2", C, C, k: 3, pool: true)]),
                             shortcut: try conv("shortcut", f.channels, C, k: 1, stride: 2))
            }
            let embed = try NetworkSection(name: "patch_embed\(s)", input: f, body: body)
            sections.append(embed)
            f = embed.output
            for i in 0..<c.depths[s - 1] {
                let bc = c.block(stage: s, index: i)
                let b = try BlockDescription.random(bc, seed: rng.next(), maxInputCount: f.maxCount)
                let section = try NetworkSection(name: "stage\(s).block\(i)", input: f, body: b.body, block: bc)
                sections.append(section)
                f = section.output
            }
        }
        let half = Int64(1) << (wb - 1)
        let hw = (0..<c.classes).map { _ in (0..<f.channels).map { _ in Int64.random(in: -half...(half - 1), using: &rng) } }
        let hb = (0..<c.classes).map { _ in Int64.random(in: -half...(half - 1), using: &rng) }
        let head = try HeadLayer(weights: hw, bias: hb, fractionBits: Array(repeating: fw, count: c.classes))
        return try NetworkDescription(config: c, image: image, stem: stem, sections: sections, head: head,
                                      origin: "random on the grid 2^-\(fw), \(wb)-bit; seed \(seed); LIF E = \(e) (exact mode)")
    }
}
