import Description
import Foundation

/// One section's name and what it computed.
public struct SectionTrace: Hashable, Sendable {
    /// `stem`, `patch_embed<s>` or `stage<s>.block<i>`.
    public var name: String
    public var trace: PartTrace
}

/// Everything the network computed for one input (docs/arithmetic.md §8).
public struct NetworkTrace: Hashable, Sendable {
    /// The first conv on the pixels (nil for DVS frames, which enter as counts).
    public var stem: ConvTrace?
    /// Every section in stream order.
    public var sections: [SectionTrace]
    /// `S[c] = sum_{t,n} x[t, n, c]` of the final count stream.
    public var sums: [Int64]
    /// `z[k] = N*T*b[k] + sum_c W[k][c] * S[c]`, on class `k`'s head grid.
    public var z: [Int64]
    /// `argmax` of the logits, the lowest index on a tie.
    public var predictedClass: Int
    /// `z[k] * 2^-Fw[k] / (N*T)` as float64.
    public var logits: [Double]

    /// The output stream of the stem and of every section, in stream order: what co-simulation
    /// compares layer by layer.
    public var streams: [(name: String, tensor: SpikeTensor)] {
        (stem.map { [("stem", $0.output)] } ?? []) + sections.map { ($0.name, $0.trace.output) }
    }

    /// The first stream that differs from `other`'s: its name, and the first differing time
    /// step, token and channel (nil when every stream agrees).
    public func firstMismatch(against other: [(name: String, tensor: SpikeTensor)])
        -> (layer: String, timeStep: Int, token: Int, channel: Int, expected: UInt8, got: UInt8)? {
        for ((name, mine), (_, theirs)) in zip(streams, other) {
            let s = mine.shape
            guard theirs.shape == s else { return (name, 0, 0, 0, 0, 0) }
            if let i = mine.scalars.indices.first(where: { mine.scalars[$0] != theirs.scalars[$0] }) {
                return (name, i / (s[1] * s[2]), (i / s[2]) % s[1], i % s[2], mine.scalars[i], theirs.scalars[i])
            }
        }
        return nil
    }
}

/// The golden model of a whole network (docs/arithmetic.md §8, SPEC 3.6-3.9): the stem conv on
/// fixed-point pixels (its current computed once per position, the LIF run T times) or the DVS
/// frames as counts, every section in order (patch embeddings and QKFormer blocks, each a
/// `GoldenPart`), then the head's integer sums. Every range is proven when it is made.
public struct GoldenNetwork: Sendable {
    public let network: NetworkDescription
    let stem: GoldenConv?
    let sections: [GoldenPart]
    /// The largest `|z|` the head can reach (proven to fit Int64).
    public let headBound: Int64

    public init(_ d: NetworkDescription) throws {
        network = d
        if let s = d.stem {
            guard case .pixels(let bits, _) = d.image.kind else {
                throw GoldenError(field: "stem", "a stem conv reads pixels, but the input is \(d.image)")
            }
            let half = Int64(1) << Int64(bits - 1)
            stem = try wrap("stem") { try GoldenConv(s, height: d.image.height, width: d.image.width, inputRange: -half...(half - 1)) }
        } else {
            stem = nil
        }
        sections = try d.sections.map { s in try GoldenPart(s.body, input: s.input, path: s.name) }
        headBound = try Self.headBound(d.head, d.output)
    }

    /// `max_k (N*T*|b[k]| + sum_c |W[k][c]| * m*N*T)`, which bounds `|z[k]|` and every partial
    /// sum of it; throws when it does not fit Int64 (the RTL's z is then wider than int64 output).
    static func headBound(_ h: HeadLayer, _ f: StreamFormat) throws -> Int64 {
        let c = Checked()
        let nt = try c.mul(Int64(f.tokens), Int64(f.timeSteps))
        let sMax = try c.mul(nt, Int64(f.maxCount))
        var bound: Int64 = 0
        for k in 0..<h.classes {
            var b = try c.mul(nt, try c.abs(h.bias[k]))
            for w in h.weights[k] { b = try c.add(b, try c.mul(try c.abs(w), sMax)) }
            bound = max(bound, b)
        }
        return bound
    }

    /// Checked Int64 arithmetic for the head's bound.
    private struct Checked {
        let error = GoldenError(field: "head", "z = N*T*b + sum_c W*S can exceed int64, the width of the raw output; lower the head's weights or bias")
        func mul(_ a: Int64, _ b: Int64) throws -> Int64 {
            let (r, o) = a.multipliedReportingOverflow(by: b)
            if o { throw error }
            return r
        }
        func abs(_ a: Int64) throws -> Int64 {
            if a == .min { throw error }
            return Swift.abs(a)
        }
        func add(_ a: Int64, _ b: Int64) throws -> Int64 {
            let (r, o) = a.addingReportingOverflow(b)
            if o { throw error }
            return r
        }
    }

    /// Runs a static image of pixels `[C][H][W]` (already on the input grid: `ImageInput.quantize`).
    public func run(image: Tensor<Int64>) throws -> NetworkTrace {
        guard let s = stem else {
            throw GoldenError(field: "input", "this network reads DVS frames (\(network.image)), not an image; give frames [T, C, H, W]")
        }
        let st = try wrap("stem") { try s.run(image: image, timeSteps: network.image.timeSteps) }
        return try runSections(from: st.output, stem: st)
    }

    /// Runs DVS frames as the count stream `[T][H*W][C]` (`ImageInput.frames`).
    public func run(frames: SpikeTensor) throws -> NetworkTrace {
        guard stem == nil, let f = network.image.frameStream else {
            throw GoldenError(field: "input", "this network reads an image (\(network.image)), not DVS frames")
        }
        guard frames.shape == [f.timeSteps, f.tokens, f.channels] else {
            throw GoldenError(field: "frames", "have shape \(frames.shape) as a stream but the network reads [T, H*W, C] = [\(f.timeSteps), \(f.tokens), \(f.channels)]")
        }
        return try runSections(from: frames, stem: nil)
    }

    private func runSections(from x0: SpikeTensor, stem st: ConvTrace?) throws -> NetworkTrace {
        var x = x0
        var traces: [SectionTrace] = []
        for (s, g) in zip(network.sections, sections) {
            let t = try wrap(s.name) { try g.run(x) }
            traces.append(SectionTrace(name: s.name, trace: t))
            x = t.output
        }
        let (sums, z) = head(x)
        let h = network.head, f = network.output
        return NetworkTrace(stem: st, sections: traces, sums: sums, z: z,
                            predictedClass: ImageInput.predictedClass(z, fractionBits: h.fractionBits),
                            logits: ImageInput.logits(z, fractionBits: h.fractionBits, tokens: f.tokens, timeSteps: f.timeSteps))
    }

    /// `S[c] = sum_{t,n} x[t,n,c]`, `z[k] = N*T*b[k] + sum_c W[k][c] * S[c]` (SPEC 3.9); every
    /// partial sum is within `headBound`, proven to fit Int64.
    func head(_ x: SpikeTensor) -> (sums: [Int64], z: [Int64]) {
        let h = network.head, c = h.channels
        var sums = [Int64](repeating: 0, count: c)
        for (i, v) in x.scalars.enumerated() { sums[i % c] += Int64(v) }
        let nt = Int64(x.shape[0] * x.shape[1])
        let z = (0..<h.classes).map { k in
            zip(h.weights[k], sums).reduce(nt * h.bias[k]) { $0 + $1.0 * $1.1 }
        }
        return (sums, z)
    }
}
