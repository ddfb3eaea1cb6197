/// A fixed-width bit pattern of any width, least significant 64-bit word first.
///
/// Constants and memory contents are stored as bit patterns. Bits above `width` are always zero,
/// so two equal patterns compare equal whatever arithmetic produced them.
public struct Bits: Hashable, Sendable, CustomStringConvertible {
    public let width: Int
    public private(set) var words: [UInt64]

    /// The pattern of `width` bits whose words are `words` (extra high bits are dropped,
    /// missing words are zero). Use this where truncation is the intent.
    public init(width: Int, truncating words: [UInt64]) {
        precondition(width >= 1, "Bits width must be at least 1")
        self.width = width
        let count = (width + 63) / 64
        var w = Array(words.prefix(count))
        while w.count < count { w.append(0) }
        let top = width - (count - 1) * 64
        if top < 64 { w[count - 1] &= (UInt64(1) << UInt64(top)) - 1 }
        self.words = w
    }

    /// The two's-complement pattern of `value` in `width` bits, truncating.
    public init(width: Int, truncating value: Int) {
        let fill: UInt64 = value < 0 ? ~0 : 0
        let count = (width + 63) / 64
        var w = [UInt64](repeating: fill, count: count)
        w[0] = UInt64(bitPattern: Int64(value))
        self.init(width: width, truncating: w)
    }

    /// Whether `value` fits in `width` bits with the given signedness.
    public static func fits(_ value: Int, width: Int, signed: Bool) -> Bool {
        if signed {
            if width >= 64 { return true }
            let lo = -(1 << (width - 1)), hi = (1 << (width - 1)) - 1
            return value >= lo && value <= hi
        }
        if value < 0 { return false }
        if width >= 63 { return true }
        return value < (1 << width)
    }

    public static func zero(_ width: Int) -> Bits { Bits(width: width, truncating: [UInt64]()) }

    public func bit(_ i: Int) -> Bool {
        precondition(i >= 0 && i < width)
        return (words[i / 64] >> UInt64(i % 64)) & 1 == 1
    }

    public var isZero: Bool { words.allSatisfy { $0 == 0 } }

    /// Fits in one 64-bit word.
    public var low64: UInt64 { words[0] }

    /// Lower-case hexadecimal, exactly `ceil(width/4)` digits.
    public var hex: String {
        let digits = (width + 3) / 4
        var out = ""
        out.reserveCapacity(digits)
        for d in stride(from: digits - 1, through: 0, by: -1) {
            let bit = d * 4
            let word = words[bit / 64] >> UInt64(bit % 64)
            var nibble = word & 0xF
            if bit % 64 > 60, bit / 64 + 1 < words.count {
                nibble |= (words[bit / 64 + 1] << UInt64(64 - bit % 64)) & 0xF
            }
            out.append(Character(String(nibble, radix: 16)))
        }
        return out
    }

    /// Parses `ceil(width/4)` or fewer hex digits; returns nil on a bad digit or a value too wide.
    public init?(width: Int, hex: String) {
        var words = [UInt64](repeating: 0, count: (width + 63) / 64)
        var bit = 0
        for ch in hex.reversed() {
            if ch == "_" { continue }
            guard let v = ch.hexDigitValue else { return nil }
            if v != 0 {
                for b in 0..<4 where (v >> b) & 1 == 1 {
                    let pos = bit + b
                    if pos >= width { return nil }
                    words[pos / 64] |= UInt64(1) << UInt64(pos % 64)
                }
            }
            bit += 4
        }
        self.init(width: width, truncating: words)
    }

    public var description: String { "\(width)'h\(hex)" }
}
