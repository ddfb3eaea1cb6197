import Foundation

/// A parsed JSON value that keeps booleans, whole numbers and other numbers apart, so that a
/// config field of the wrong type is reported as such.
enum JSONValue: Decodable, CustomStringConvertible {
    case bool(Bool), int(Int), number(Double), string(String), object([String: JSONValue]), array([JSONValue]), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let o = try? c.decode([String: JSONValue].self) { self = .object(o) }
        else { self = .array(try c.decode([JSONValue].self)) }
    }

    var description: String {
        switch self {
        case .bool(let b): return "\(b)"
        case .int(let i): return "\(i)"
        case .number(let d): return "\(d)"
        case .string(let s): return "\"\(s)\""
        case .object: return "an object"
        case .array: return "an array"
        case .null: return "null"
        }
    }
}

extension JSONValue {
    /// The first key that appears twice in one object of the JSON text `data` (with its object's
    /// path, such as `quantization.weightBits`), or nil. JSONDecoder keeps one of them silently;
    /// a config must say each field once. `data` must already have parsed as JSON.
    static func duplicateKey(in data: Data) -> String? {
        let bytes = [UInt8](data)
        var i = 0
        // One frame per open container: nil for an array, else the object's keys so far.
        var stack: [(keys: Set<String>, path: String)?] = []
        var pendingKey: String?   // the key whose value comes next
        var lastKey: [String] = []  // the key each open container was opened under
        func readString() -> String {
            var out: [UInt8] = []
            i += 1
            while i < bytes.count && bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") && i + 1 < bytes.count { out.append(bytes[i]); i += 1 }
                out.append(bytes[i])
                i += 1
            }
            i += 1
            return String(decoding: out, as: UTF8.self)
        }
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let parentPath = stack.last.flatMap { $0?.path } ?? ""
                let name = pendingKey.map { parentPath.isEmpty ? $0 : parentPath + "." + $0 } ?? parentPath
                stack.append(b == UInt8(ascii: "{") ? (keys: [], path: name) : nil)
                lastKey.append(name)
                pendingKey = nil
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
                _ = lastKey.popLast()
                i += 1
            case UInt8(ascii: "\""):
                let s = readString()
                // A string directly inside an object, followed by ':', is a key.
                var j = i
                while j < bytes.count && (bytes[j] == 0x20 || bytes[j] == 0x0A || bytes[j] == 0x0D || bytes[j] == 0x09) { j += 1 }
                if j < bytes.count && bytes[j] == UInt8(ascii: ":"), case .some(.some(var frame)) = stack.last {
                    if frame.keys.contains(s) { return frame.path.isEmpty ? s : frame.path + "." + s }
                    frame.keys.insert(s)
                    stack[stack.count - 1] = frame
                    pendingKey = s
                } else {
                    pendingKey = nil
                }
            case UInt8(ascii: ","):
                pendingKey = nil
                i += 1
            default:
                i += 1
            }
        }
        return nil
    }
}
