/// Where in the Swift source a piece of hardware was made.
///
/// Every IR node records one, through `#fileID`/`#line` default arguments, so that an
/// elaboration error or a line of emitted Verilog leads back to the line of Swift that built it.
public struct SourceLoc: Hashable, Sendable, CustomStringConvertible {
    public let fileID: String
    public let line: Int
    /// The Swift function that built the node (`#function`), for the emitted Verilog.
    public let function: String

    public init(fileID: String, line: Int, function: String = "") {
        self.fileID = fileID
        self.line = line
        self.function = function
    }

    /// File and line, for elaboration errors.
    public var description: String { isKnown ? "\(fileID):\(line)" : "<operator>" }

    /// File and function, for comments in the emitted Verilog: unlike a line number, it does not
    /// change when an unrelated line of the generator moves, so committed designs stay put.
    public var stable: String {
        guard isKnown else { return "<operator>" }
        return function.isEmpty ? fileID : "\(fileID) \(function)"
    }

    /// The location of nodes made by operator symbols, which cannot see their caller.
    public static let unknown = SourceLoc(fileID: "", line: 0)

    public var isKnown: Bool { !fileID.isEmpty }

    /// This location, or `fallback` when this one is unknown.
    public func or(_ fallback: SourceLoc) -> SourceLoc { isKnown ? self : fallback }
}
