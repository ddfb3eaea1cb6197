import Foundation

/// A parameter or input the golden model cannot accept.
///
/// It names the offending field and says how to fix it, so that the command line can print it
/// as its single error line (docs/cli.md) without rewording.
public struct GoldenError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The parameter or input that is wrong, e.g. `q.neurons[3].threshold`.
    public let field: String
    /// What is wrong and what to do about it.
    public let message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    /// The same error with its field prefixed, for errors raised by a nested part.
    public func within(_ prefix: String) -> GoldenError {
        GoldenError(field: prefix + "." + field, message)
    }

    public var description: String { "\(field): \(message)" }
}

/// Prefixes a nested parameter error with the layer it came from.
func wrap<R>(_ prefix: String, _ body: () throws -> R) throws -> R {
    do { return try body() } catch let e as GoldenError { throw e.within(prefix) }
}
