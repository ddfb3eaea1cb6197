/// One problem found in a design, with the Swift line that caused it.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public let loc: SourceLoc

    public init(_ message: String, at loc: SourceLoc) {
        self.message = message
        self.loc = loc
    }

    public var description: String { "\(loc): error: \(message)" }
}

/// Elaboration failed. Every problem a pass found is listed, one per line, each with its
/// Swift source location, so a user fixes them all in one round.
public struct ElaborationError: Error, CustomStringConvertible {
    public let pass: String
    public let diagnostics: [Diagnostic]

    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
