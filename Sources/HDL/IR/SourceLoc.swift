/// Where in the Swift source a piece of hardware was made.
///
/// Every IR node records one, through `#fileID`/`#line` default arguments, so that an
/// elaboration error or a line of emitted Verilog leads back to the line of Swift that built it.
public struct SourceLoc: Hashable, Sendable, CustomStringConvertible {
    public let fileID: String
    public let line: Int

    public init(fileID: String, line: Int) {
        self.fileID = fileID
        self.line = line
    }

    public var description: String { isKnown ? "\(fileID):\(line)" : "<operator>" }

    /// The location of nodes made by operator symbols, which cannot see their caller.
    public static let unknown = SourceLoc(fileID: "", line: 0)

    public var isKnown: Bool { !fileID.isEmpty }

    /// This location, or `fallback` when this one is unknown.
    public func or(_ fallback: SourceLoc) -> SourceLoc { isKnown ? self : fallback }
}
