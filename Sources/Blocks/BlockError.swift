/// A block's parameters cannot be built: the message names the parameter and the fix.
public struct BlockError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
