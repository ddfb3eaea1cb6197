import Testing
import Blocks

/// The bank depth of a deep buffer (`BlockRAMBanks`), worked by hand from the 16-Kbit aspect
/// ratios (16384 x 1, 8192 x 2, 4096 x 4, 2048 x 9, 1024 x 18).
@Suite struct BlockRAMBanksTests {
    @Test func hst4384Stage1KBuffer() {
        // 32768 x 12: 12 x 2 = 6 x 4 = 3 x 8 = 24 RAMs (2 x 16 = 32 at x9, 32 at x18); the tie
        // goes to the shallowest, 4096 words: 8 banks of 3 RAMs side by side.
        let b = BlockRAMBanks(depth: 32768, width: 12)
        #expect(b.ramCount == 24 && b.bankDepth == 4096 && b.banks == 8 && b.offsetBits == 12)
        #expect((0..<8).allSatisfy { b.depth(ofBank: $0) == 4096 })
    }

    @Test func aBankOfOneRAMDepthHasNoTieInside() {
        // 16384 x 12 ties 12 RAMs three ways; banked at 4096, each 4096 x 12 bank takes 3
        // RAMs at x4 and more in every other aspect (6, 12, 4, 4).
        let b = BlockRAMBanks(depth: 16384, width: 12)
        #expect(b.ramCount == 12 && b.bankDepth == 4096 && b.banks == 4)
        let bank = BlockRAMBanks(depth: 4096, width: 12)
        #expect(bank.ramCount == 3 && bank.banks == 1)
    }

    @Test func aShortLastBank() {
        // 3300 x 18: 4 RAMs at x18 (1024 deep) and 2 x 2 = 4 at x9; the tie goes to 1024.
        let b = BlockRAMBanks(depth: 3300, width: 18)
        #expect(b.ramCount == 4 && b.bankDepth == 1024 && b.banks == 4 && b.offsetBits == 10)
        #expect(b.depth(ofBank: 3) == 228)
    }

    @Test func aShallowBufferIsOneBank() {
        let b = BlockRAMBanks(depth: 320, width: 5)
        #expect(b.banks == 1 && b.bankDepth == 320 && b.offsetBits == 9)
        #expect(BlockRAMBanks(depth: 4096, width: 4).banks == 1)
    }
}
