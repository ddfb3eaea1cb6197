import Foundation

/// How heads split channels (docs/arithmetic.md §2): contiguous blocks, channel `c` in head `c / d`,
/// `d = C / h` (QKFormer reshapes `C` into `(h, C/h)`).
public struct HeadLayout: Hashable, Sendable {
    public let channels: Int
    public let heads: Int

    public init(channels: Int, heads: Int) throws {
        guard channels >= 1 else { throw GoldenError(field: "dim", "must be >= 1, got \(channels)") }
        guard heads >= 1 else { throw GoldenError(field: "heads", "must be >= 1, got \(heads)") }
        guard channels % heads == 0 else {
            throw GoldenError(field: "heads", "\(heads) heads do not divide dim \(channels); pick a divisor of \(channels)")
        }
        self.channels = channels
        self.heads = heads
    }

    /// `d = C / h`, the channels per head.
    public var headDim: Int { channels / heads }

    /// The head of channel `c`: `c / d`.
    public func head(of channel: Int) -> Int { channel / headDim }
}
