import Description
import Foundation
import Testing
@testable import Blocks

/// The window geometry behind the convolution, pool and stem, and their input-lookahead
/// contracts: sizes, the bounds' shape, and the errors of bad configs.
@Suite struct ConvConfigTests {
    static func layer(cout: Int, cin: Int, k: Int) -> SpikingLayerWeights {
        SpikingLayerWeights(weights: (0..<cout).map { o in (0..<(cin * k * k)).map { ($0 + o) % 5 - 2 } }, bias: Array(repeating: 3, count: cout),
                            neuron: .qkformer(weightFractionBits: 2, extraFractionBits: 2))
    }

    @Test func geometryFollowsPyTorch() {
        let g = WindowGeometry(height: 5, width: 7, kernel: 3, stride: 1, padding: 1)
        #expect(g.outHeight == 5 && g.outWidth == 7 && g.slots == 2 * 7 + 4)
        #expect(g.start(0) == -8 && g.end(0) == 8)
        #expect(g.end(34) == 34)
        let s2 = WindowGeometry(height: 6, width: 7, kernel: 1, stride: 2, padding: 0)
        #expect(s2.outHeight == 3 && s2.outWidth == 4 && s2.slots == 2)
        #expect(s2.start(5) == 2 * 7 + 2 && s2.end(5) == 16)
        let pool = WindowGeometry(height: 5, width: 7, kernel: 3, stride: 2, padding: 1)
        #expect(pool.outHeight == 3 && pool.outWidth == 4)   // MaxPool2d(3, 2, 1): floor((n - 1) / 2) + 1
    }

    /// Every window's last token is readable within the bound (no deadlock), the bound never
    /// decreases, and it reaches the whole image.
    @Test(arguments: [(1, 3, false), (2, 1, false), (4, 1, false), (1, 3, true), (2, 3, true)])
    func lookaheadIsMonotoneAndLive(stride: Int, kernel: Int, pool: Bool) throws {
        let c = ConvConfig(inChannels: 3, outChannels: 5, height: 9, width: 11, timeSteps: 2, kernel: kernel, stride: stride,
                           pool: pool, lanes: 2, layer: Self.layer(cout: 5, cin: 3, k: kernel))
        try c.validate()
        var last = 0
        let cg = c.convGeometry
        for n in 0...c.outputTokens {
            let b = c.inputTokensRead(beforeOutput: n)
            #expect(b >= last && b <= c.inputTokens)
            last = b
        }
        #expect(c.inputTokensRead(beforeOutput: c.outputTokens) == c.inputTokens)
        for j in 0..<cg.outTokens {
            #expect(cg.end(j) < cg.tokensWritable(whileGathering: j), "conv output \(j) could never be gathered")
        }
        if !pool {
            for n in 0..<c.outputTokens { #expect(c.inputTokensRead(beforeOutput: n) > cg.end(n)) }
        }
    }

    @Test func badConfigsAreRefused() {
        let l = Self.layer(cout: 4, cin: 2, k: 3)
        #expect(throws: BlockError.self) {
            try makeConv(ConvConfig(inChannels: 2, outChannels: 4, height: 5, width: 5, timeSteps: 2, kernel: 3, stride: 3, lanes: 2, layer: l))
        }
        #expect(throws: BlockError.self) {
            try makeConv(ConvConfig(inChannels: 3, outChannels: 4, height: 5, width: 5, timeSteps: 2, kernel: 3, lanes: 2, layer: l))
        }
        #expect(throws: BlockError.self) {
            try makeConv(ConvConfig(inChannels: 2, outChannels: 4, height: 5, width: 5, timeSteps: 2, kernel: 3, lanes: 2, layer: l, name: "Bad-Name"))
        }
        #expect(throws: BlockError.self) {
            try makeStem(StemConfig(inChannels: 2, outChannels: 4, height: 5, width: 5, timeSteps: 2, inputBits: 1, lanes: 2, layer: l))
        }
    }

    @Test func memoryBitsAreReported() throws {
        let c = ConvConfig(inChannels: 6, outChannels: 8, height: 8, width: 10, timeSteps: 4, kernel: 3, pool: true, lanes: 4,
                           inputChunk: 4, maxInputCount: 2, layer: Self.layer(cout: 8, cin: 6, k: 3))
        #expect(c.lineBufferBits == (2 * 10 + 4) * 4 * 2 * 4 * 2)
        // Row buffer of ceil(10/2) = 5 pooled columns plus the column buffer, T x G words each.
        #expect(try c.poolBufferBits() == (5 + 1) * 4 * 2 * 4 * (try c.configs().accumulator.widths().accumulator))
        let m = try makeConv(c)
        #expect(m.doc.contains("\(c.lineBufferBits) bits"))
    }
}
