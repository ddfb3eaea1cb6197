import Foundation

/// One element of an `NPYArray`, widened without loss: every integer dtype fits `Int64` or
/// `UInt64`, and every float32 fits `Double`.
public enum NPYElement: Equatable, Sendable, CustomStringConvertible {
    case bool(Bool)
    case signed(Int64)
    case unsigned(UInt64)
    case float(Double)

    public var description: String {
        switch self {
        case .bool(let b): b ? "True" : "False"
        case .signed(let v): String(v)
        case .unsigned(let v): String(v)
        case .float(let v): String(v)
        }
    }
}

/// A Swift type that an `NPYArray` can be built from and converted to.
///
/// Conversions are exact or they fail: a float becomes an integer only when it is integral
/// and in range, an integer becomes a float only when the float holds it exactly, and a
/// value becomes a `Bool` only when it is 0 or 1.
public protocol NPYScalar: Sendable {
    /// The dtype an array of this type is written as.
    static var npyDType: NPYDType { get }
    /// The value as an element of an array of `npyDType`.
    var npyElement: NPYElement { get }
    /// `element` as this type, or nil when it cannot be represented exactly.
    init?(npyExactly element: NPYElement)
}

extension NPYScalar where Self: FixedWidthInteger {
    public init?(npyExactly element: NPYElement) {
        switch element {
        case .bool(let b): self = b ? 1 : 0
        case .signed(let v): guard let x = Self(exactly: v) else { return nil }; self = x
        case .unsigned(let v): guard let x = Self(exactly: v) else { return nil }; self = x
        case .float(let v): guard let x = Self(exactly: v) else { return nil }; self = x
        }
    }
}

extension NPYScalar where Self: FixedWidthInteger & SignedInteger {
    public var npyElement: NPYElement { .signed(Int64(self)) }
}

extension NPYScalar where Self: FixedWidthInteger & UnsignedInteger {
    public var npyElement: NPYElement { .unsigned(UInt64(self)) }
}

extension UInt8: NPYScalar { public static var npyDType: NPYDType { .uint8 } }
extension Int8: NPYScalar { public static var npyDType: NPYDType { .int8 } }
extension UInt16: NPYScalar { public static var npyDType: NPYDType { .uint16 } }
extension Int16: NPYScalar { public static var npyDType: NPYDType { .int16 } }
extension UInt32: NPYScalar { public static var npyDType: NPYDType { .uint32 } }
extension Int32: NPYScalar { public static var npyDType: NPYDType { .int32 } }
extension UInt64: NPYScalar { public static var npyDType: NPYDType { .uint64 } }
extension Int64: NPYScalar { public static var npyDType: NPYDType { .int64 } }
/// `Int` is written as int64, so that `[1, 2, 3]` literals make the array NumPy expects.
extension Int: NPYScalar { public static var npyDType: NPYDType { .int64 } }

extension Bool: NPYScalar {
    public static var npyDType: NPYDType { .bool }
    public var npyElement: NPYElement { .bool(self) }
    public init?(npyExactly element: NPYElement) {
        switch element {
        case .bool(let b): self = b
        case .signed(let v): guard v == 0 || v == 1 else { return nil }; self = v == 1
        case .unsigned(let v): guard v == 0 || v == 1 else { return nil }; self = v == 1
        case .float(let v): guard v == 0 || v == 1 else { return nil }; self = v == 1
        }
    }
}

extension Double: NPYScalar {
    public static var npyDType: NPYDType { .float64 }
    public var npyElement: NPYElement { .float(self) }
    public init?(npyExactly element: NPYElement) {
        switch element {
        case .bool(let b): self = b ? 1 : 0
        case .signed(let v): guard let x = Double(exactly: v) else { return nil }; self = x
        case .unsigned(let v): guard let x = Double(exactly: v) else { return nil }; self = x
        case .float(let v): self = v
        }
    }
}

extension Float: NPYScalar {
    public static var npyDType: NPYDType { .float32 }
    public var npyElement: NPYElement { .float(Double(self)) }
    /// A NaN converts to NaN; any other float64 only if float32 holds it exactly.
    public init?(npyExactly element: NPYElement) {
        switch element {
        case .bool(let b): self = b ? 1 : 0
        case .signed(let v): guard let x = Float(exactly: v) else { return nil }; self = x
        case .unsigned(let v): guard let x = Float(exactly: v) else { return nil }; self = x
        case .float(let v):
            if v.isNaN { self = .nan; return }
            guard let x = Float(exactly: v) else { return nil }
            self = x
        }
    }
}
