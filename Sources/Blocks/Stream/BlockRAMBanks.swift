import HDL

/// How a deep buffer is split into banks of what one column of 16-Kbit block RAMs holds.
///
/// A memory deeper than one block RAM is built by the synthesis tool from several, with the
/// read data multiplexed by the high address bits after the RAMs' clock-to-out (4.3 ns on an
/// ECP5 DP16KD, more than half a 150 MHz period). Split into banks the depth of one RAM, each
/// bank's word can be registered in the fabric before the multiplexer, so that the RAM output
/// and the multiplexer have a clock period each.
///
/// The bank depth is that of the 16-Kbit aspect ratio (ECP5 DP16KD, Xilinx RAMB18) that holds
/// `depth x width` in the fewest RAMs; on a tie, the shallowest, because a bank exactly one RAM
/// deep maps to RAMs side by side with no multiplexer inside, and a deeper one may not (a
/// 16384 x 12 bank ties between 12 RAMs of 16384 x 1 and 12 of 4096 x 4 behind a 4-way mux).
/// Banking never costs a RAM: the banks together use the count the whole memory would.
public struct BlockRAMBanks: Equatable, Sendable {
    /// The (depth, width) aspect ratios of a 16-Kbit block RAM, deepest first.
    public static let aspects: [(depth: Int, width: Int)] = [(16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18)]

    public let depth: Int
    public let width: Int
    /// Words per bank (a power of two); `depth` when there is one bank.
    public let bankDepth: Int
    public var banks: Int { (depth + bankDepth - 1) / bankDepth }
    /// Block RAMs of the chosen aspect ratio over all banks.
    public let ramCount: Int

    public init(depth: Int, width: Int) {
        self.depth = depth
        self.width = width
        var best = (count: Int.max, depth: depth)
        for a in Self.aspects {
            let n = ((width + a.width - 1) / a.width) * ((depth + a.depth - 1) / a.depth)
            if n < best.count || (n == best.count && a.depth < best.depth) { best = (n, a.depth) }
        }
        ramCount = best.count
        bankDepth = depth <= best.depth ? depth : best.depth
    }

    /// Words held by bank `i` (the last may be shallower).
    public func depth(ofBank i: Int) -> Int { min(bankDepth, depth - i * bankDepth) }

    /// Bits of the word address inside a bank; the bank index is the address's bits above them.
    public var offsetBits: Int { banks == 1 ? Memory.addressWidth(depth: depth) : Memory.addressWidth(depth: bankDepth) }
}
