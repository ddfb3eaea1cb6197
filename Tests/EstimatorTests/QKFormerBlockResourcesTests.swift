import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim
import Estimator

/// The QKFormer block with QKTA is token-local: its flip-flops and memory bits are the same at
/// N = 64 and N = 4096 tokens. With QKCA the sample buffers (the K buffer and the residual FIFO
/// around the attention) grow with N. hst-4-384 stage 1 (C = 96, T = 4, P = 12).
@Suite struct QKFormerBlockResourcesTests {
    static func resources(tokens: Int, kind: BlockConfig.Attention) throws -> IRResources {
        var block = try BlockConfig.named("hst-4-384", stage: 1, block: .qkformerBlock)
        block.tokens = tokens
        block.attention = kind
        let m = try BlockModel.random(block, lanes: 12, seed: 1, maxInputCount: 2)
        return IRResources(try Elaborate.run(try m.hardware.makeModule()))
    }

    @Test func qktaBlockStateIsIndependentOfTokens() throws {
        let small = try Self.resources(tokens: 64, kind: .token)
        let large = try Self.resources(tokens: 4096, kind: .token)
        print("QKFormer block (QKTA), hst-4-384 stage 1, P = 12: N = 64: \(small.flipFlops) FF, \(small.memoryBits) memory bits; N = 4096: \(large.flipFlops) FF, \(large.memoryBits) memory bits")
        #expect(small.flipFlops == large.flipFlops)
        #expect(small.memoryBits == large.memoryBits)
    }

    @Test func qkcaBlockBuffersGrowWithTokens() throws {
        let small = try Self.resources(tokens: 64, kind: .channel)
        let large = try Self.resources(tokens: 4096, kind: .channel)
        print("QKFormer block (QKCA), hst-4-384 stage 1, P = 12: N = 64: \(small.flipFlops) FF, \(small.memoryBits) memory bits; N = 4096: \(large.flipFlops) FF, \(large.memoryBits) memory bits")
        // The K buffer (N*T*C bits) and the attention residual's FIFO ((N*T + 3) vectors of
        // C counts of 2 bits) both scale with N.
        let perToken = 4 * 96 + 4 * 96 * 2
        #expect(large.memoryBits - small.memoryBits == (4096 - 64) * perToken)
    }
}
