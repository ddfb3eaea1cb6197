import Foundation

/// A Python literal as it appears in a `.npy` header: the dict that `repr` prints, and the
/// strings, integers, booleans, tuples and lists inside it.
indirect enum PythonLiteral {
    case dict([(key: String, value: PythonLiteral)])
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case string(String)
    /// Kept as text, so that a dimension too large for `Int` can still be named in a message.
    case integer(negative: Bool, digits: String)
    case bool(Bool)
    case none

    /// What kind of value this is, for messages: "a list", "an integer", ...
    var kindName: String {
        switch self {
        case .dict: "a dict"
        case .tuple: "a tuple"
        case .list: "a list"
        case .string: "a string"
        case .integer: "an integer"
        case .bool: "a bool"
        case .none: "None"
        }
    }

    /// Roughly how Python would print it, shortened, for messages.
    var text: String {
        let full: String
        switch self {
        case .dict(let items): full = "{" + items.map { "'\($0.key)': \($0.value.text)" }.joined(separator: ", ") + "}"
        case .tuple(let items): full = npyShapeText(items.map(\.text))
        case .list(let items): full = "[" + items.map(\.text).joined(separator: ", ") + "]"
        case .string(let s): full = "'\(npyQuoted(text: s))'"
        case .integer(let negative, let digits): full = (negative ? "-" : "") + digits
        case .bool(let b): full = b ? "True" : "False"
        case .none: full = "None"
        }
        return full.count > 60 ? String(full.prefix(57)) + "..." : full
    }
}

/// A strict parser for the subset of Python literal syntax that `.npy` headers use. It is a
/// plain recursive-descent parser with a depth limit, so no header can exhaust the stack.
struct PythonLiteralParser {
    static let maxDepth = 16

    private let text: [Unicode.Scalar]
    private var at = 0
    /// Python 2 wrote long integers as `3L`; numpy still reads such version 1.0 and 2.0 files.
    private let allowLongSuffix: Bool

    private init(_ text: [Unicode.Scalar], allowLongSuffix: Bool) {
        self.text = text
        self.allowLongSuffix = allowLongSuffix
    }

    /// Parses `text` as exactly one literal, with only whitespace around it.
    static func parse(_ text: [Unicode.Scalar], allowLongSuffix: Bool) throws -> PythonLiteral {
        var parser = PythonLiteralParser(text, allowLongSuffix: allowLongSuffix)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.at == parser.text.count else { throw parser.fail("unexpected text after the dict") }
        return value
    }

    // MARK: Grammar

    private mutating func value(depth: Int) throws -> PythonLiteral {
        guard depth < Self.maxDepth else { throw fail("values nest deeper than \(Self.maxDepth) levels") }
        guard let c = peek else { throw fail("the header ends where a value was expected") }
        switch c {
        case "{": return try dict(depth: depth)
        case "(":
            let (items, trailingComma) = try sequence(close: ")", depth: depth)
            // `(x)` is just x in Python; only `()`, `(x,)` and `(x, y)` are tuples.
            return items.count == 1 && !trailingComma ? items[0] : .tuple(items)
        case "[": return .list(try sequence(close: "]", depth: depth).items)
        case "'", "\"": return .string(try string())
        case "-", "+", "0"..."9": return try integer()
        case "a"..."z", "A"..."Z", "_": return try name()
        default: throw fail("unexpected character '\(Self.show(c))'")
        }
    }

    private mutating func dict(depth: Int) throws -> PythonLiteral {
        at += 1                                                   // "{"
        var items: [(key: String, value: PythonLiteral)] = []
        skipSpace()
        while peek != "}" {
            let keyStart = at
            guard case .string(let key) = try value(depth: depth + 1) else {
                at = keyStart
                throw fail("dict keys must be strings")
            }
            guard !items.contains(where: { $0.key == key }) else {
                at = keyStart
                throw fail("key '\(Self.show(key))' appears twice")
            }
            skipSpace()
            try expect(":", after: "key '\(Self.show(key))'")
            skipSpace()
            items.append((key, try value(depth: depth + 1)))
            skipSpace()
            if peek == "," {
                at += 1
                skipSpace()
            } else if peek != "}" {
                throw fail("expected ',' or '}' after the value of '\(Self.show(key))'")
            }
        }
        at += 1                                                   // "}"
        return .dict(items)
    }

    /// The items of a tuple or list, and whether the last one had a trailing comma.
    private mutating func sequence(close: Unicode.Scalar, depth: Int) throws -> (items: [PythonLiteral], trailingComma: Bool) {
        at += 1                                                   // "(" or "["
        var items: [PythonLiteral] = []
        skipSpace()
        if peek == close {
            at += 1
            return ([], false)
        }
        while true {
            items.append(try value(depth: depth + 1))
            skipSpace()
            if peek == close {
                at += 1
                return (items, false)
            }
            try expect(",", or: close, after: "an item")
            skipSpace()
            if peek == close {
                at += 1
                return (items, true)
            }
        }
    }

    private mutating func string() throws -> String {
        guard let quote = peek else { throw fail("expected a string") }
        at += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek, c != "\n", c != "\r" else { throw fail("unterminated string") }
            at += 1
            if c == quote { return String(out) }
            if c == "\\" {
                guard let e = peek else { throw fail("unterminated string") }
                switch e {
                case "\\", "'", "\"": out.append(e)
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                default:
                    at -= 1
                    throw fail("unsupported escape '\\\(Self.show(e))' in a string")
                }
                at += 1
            } else {
                out.append(c)
            }
        }
    }

    private mutating func integer() throws -> PythonLiteral {
        let start = at
        var negative = false
        if peek == "-" || peek == "+" {
            negative = peek == "-"
            at += 1
        }
        let tokenStart = at
        while let c = peek, Self.isWordCharacter(c) || c == "." { at += 1 }
        var digits = String(String.UnicodeScalarView(text[tokenStart..<at]))
        if allowLongSuffix, digits.count > 1, digits.last == "L" || digits.last == "l" { digits.removeLast() }
        guard !digits.isEmpty, digits.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) else {
            let end = at > tokenStart ? at : min(text.count, at + 1)
            let token = String(String.UnicodeScalarView(text[start..<end]))
            at = start
            throw fail("'\(Self.show(token))' is not an integer literal")
        }
        if digits.count > 1, digits.first == "0", digits.contains(where: { $0 != "0" }) {
            at = start
            throw fail("'\(digits)' is not a valid Python integer (leading zero)")
        }
        let trimmed = digits.drop(while: { $0 == "0" })
        return .integer(negative: negative, digits: trimmed.isEmpty ? "0" : String(trimmed))
    }

    private mutating func name() throws -> PythonLiteral {
        let start = at
        while let c = peek, Self.isWordCharacter(c) { at += 1 }
        let word = String(String.UnicodeScalarView(text[start..<at]))
        let quoteFollows = peek == "'" || peek == "\""
        switch word {
        case "True": return .bool(true)
        case "False": return .bool(false)
        case "None": return .none
        case "u" where quoteFollows, "U" where quoteFollows: return .string(try string())
        default:
            at = start
            throw fail("unexpected name '\(Self.show(word))'")
        }
    }

    // MARK: Helpers

    private var peek: Unicode.Scalar? { at < text.count ? text[at] : nil }

    private mutating func skipSpace() {
        while let c = peek, c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" { at += 1 }
    }

    private mutating func expect(_ c: Unicode.Scalar, or other: Unicode.Scalar? = nil, after what: String) throws {
        guard peek == c else {
            let wanted = other.map { "'\(c)' or '\($0)'" } ?? "'\(c)'"
            throw fail("expected \(wanted) after \(what)")
        }
        at += 1
    }

    private static func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_"
    }

    /// Text from the header shown safely in a one-line message.
    private static func show<S: StringProtocol>(_ s: S) -> String { npyQuoted(text: String(s)) }
    private static func show(_ c: Unicode.Scalar) -> String { show(String(c)) }

    private func fail(_ problem: String) -> NPYError {
        let lo = max(0, at - 12), hi = min(text.count, at + 20)
        let near = String(String.UnicodeScalarView(text[lo..<hi]))
        return NPYError(.header, "header is not the dict literal np.save writes: \(problem) at character \(at) (near \"\(Self.show(near))\"); the file is damaged or was not written by numpy, re-save it with np.save")
    }
}
