import Foundation

/// Why a `.npy` file or array could not be read, written or converted.
///
/// Its `description` is one line that names the file (when there is one), says what is wrong
/// and how to fix it, so that the command line can print it as is (docs/cli.md).
public struct NPYError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, for callers and tests that branch on it.
    public enum Kind: String, Sendable {
        /// The file could not be opened, read or written.
        case io
        /// The bytes are not a `.npy` file (wrong or truncated magic string).
        case notNPY
        /// A format version other than 1.0, 2.0 and 3.0.
        case version
        /// The header is truncated, too long, or not the dict literal numpy writes.
        case header
        /// The dtype is not one of `NPYDType` (object, structured, complex, float16, ...).
        case dtype
        /// The array is stored in Fortran (column-major) order.
        case fortranOrder
        /// A negative, oversized or overflowing shape.
        case shape
        /// The data is shorter or longer than the shape and dtype need.
        case size
        /// A data byte no element can have (a bool other than 0 or 1).
        case data
        /// An element that a typed accessor cannot convert exactly.
        case conversion
    }

    public let kind: Kind
    /// The file involved, if any.
    public let path: String?
    /// What is wrong and what to do about it, on one line.
    public let message: String

    public init(_ kind: Kind, _ message: String, path: String? = nil) {
        self.kind = kind
        self.message = NPYError.oneLine(message)
        self.path = path.map(NPYError.oneLine)
    }

    /// The same error naming `path`, unless it already names a file.
    public func at(_ path: String) -> NPYError {
        self.path == nil ? NPYError(kind, message, path: path) : self
    }

    public var description: String {
        path.map { "\($0): \(message)" } ?? message
    }

    /// `text` with line breaks turned into spaces, so a description never spans lines.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}

/// Bytes from a file (read as Latin-1), shown safely in a message as `npyQuoted(text:)` does.
func npyQuoted<S: Sequence>(_ bytes: S, limit: Int = 24) -> String where S.Element == UInt8 {
    npyQuoted(text: String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })), limit: limit)
}

/// Text from a file shown safely in a message: printable ASCII as is, other characters as
/// `\xNN` (Latin-1) or `\u{N}`, cut to `limit` characters.
func npyQuoted(text: String, limit: Int = 32) -> String {
    var out = ""
    for (n, c) in text.unicodeScalars.enumerated() {
        if n == limit {
            out += "..."
            break
        }
        switch c.value {
        case 0x5C: out += "\\\\"
        case 0x20...0x7E: out.unicodeScalars.append(c)
        case 0..<0x100: out += "\\x" + (c.value < 16 ? "0" : "") + String(c.value, radix: 16)
        default: out += "\\u{" + String(c.value, radix: 16) + "}"
        }
    }
    return out
}

/// A shape as Python prints it: `()`, `(3,)`, `(2, 3)`.
func npyShapeText<S: Sequence>(_ dims: S) -> String where S.Element: CustomStringConvertible {
    let parts = dims.map(\.description)
    return parts.count == 1 ? "(\(parts[0]),)" : "(" + parts.joined(separator: ", ") + ")"
}
