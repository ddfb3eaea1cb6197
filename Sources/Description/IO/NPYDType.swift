import Foundation

/// The element types a `.npy` file may hold here: booleans, fixed-width integers and IEEE
/// floats. Objects, strings, structured records, complex numbers and float16 are rejected
/// with an error that says how to convert them.
public enum NPYDType: String, CaseIterable, Sendable, CustomStringConvertible {
    case bool, uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        }
    }

    public var isInteger: Bool {
        switch self {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64: true
        case .bool, .float32, .float64: false
        }
    }

    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// numpy's type code without byte order: `b1`, `u1`, `i8`, `f4`, ...
    var typeCode: String {
        switch self {
        case .bool: "b1"
        case .uint8, .uint16, .uint32, .uint64: "u\(itemSize)"
        case .int8, .int16, .int32, .int64: "i\(itemSize)"
        case .float32, .float64: "f\(itemSize)"
        }
    }

    /// The `descr` numpy writes for this type in little-endian order: `|u1`, `<f4`, ...
    public var descr: String { (itemSize == 1 ? "|" : "<") + typeCode }

    /// The NumPy spelling, for messages: `np.uint8`, `np.float32`, `np.bool_`.
    var numpyName: String { self == .bool ? "np.bool_" : "np.\(rawValue)" }

    public var description: String { rawValue }

    static let supportedList = "bool, uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64"

    /// The type and byte order named by a `descr` string (`'<f8'`, `'|u1'`, `'>i4'`).
    /// Returns whether the data is big-endian (never for one-byte types).
    static func parse(descr: String) throws -> (NPYDType, bigEndian: Bool) {
        let shown = "'\(npyQuoted(text: descr))'"
        var code = Substring(descr)
        var order: Character?
        if let first = code.first, "<>|=".contains(first) {
            order = first
            code = code.dropFirst()
        }
        guard let type = allCases.first(where: { $0.typeCode == code }) else {
            throw NPYError(.dtype, unsupportedMessage(shown, code: code))
        }
        switch order {
        case "<": return (type, false)
        case ">": return (type, type.itemSize > 1)
        case "|" where type.itemSize == 1: return (type, false)
        case nil where type.itemSize == 1: return (type, false)
        case "|":
            throw NPYError(.dtype, "dtype \(shown) has byte order '|' (not applicable), but \(type) needs one; write '<\(type.typeCode)' or re-save with np.save")
        default:
            throw NPYError(.dtype, "dtype \(shown) does not say whether it is little- or big-endian; write '<\(type.typeCode)' or re-save with np.save")
        }
    }

    private static func unsupportedMessage(_ shown: String, code: Substring) -> String {
        let what: String
        switch code.first {
        case "O":
            return "object arrays (dtype \(shown)) are not supported: they need pickle; save a numeric array instead, e.g. np.save(path, np.asarray(a, dtype=np.float32))"
        case "V": what = "void/structured"
        case "U", "S", "a": what = "string"
        case "c": what = "complex"
        case "M", "m": what = "datetime"
        case "f" where code == "f2": what = "float16"
        case "f": what = "extended-precision float"
        default: what = "unknown"
        }
        return "unsupported dtype \(shown) (\(what)); supported: \(supportedList); convert before saving, e.g. a.astype(np.float32)"
    }
}
