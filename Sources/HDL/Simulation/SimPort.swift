/// A port of the simulated top module, as the packed interface lays it out: `width` bits in
/// `ceil(width/32)` 32-bit words.
public struct SimPort: Sendable, Hashable {
    public let name: String
    public let width: Int

    public init(name: String, width: Int) {
        self.name = name
        self.width = width
    }

    /// 32-bit words this port takes in the packed interface.
    public var words: Int { (width + 31) / 32 }
}
