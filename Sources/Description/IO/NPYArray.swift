import Foundation

/// A dense array as a `.npy` file holds it: a shape, a dtype, and the elements in C order.
///
/// The bytes are always little-endian, whatever order the file used, so two arrays with the
/// same dtype, shape and values are equal. Typed accessors (`asUInt8()`, `asDouble()`, ...)
/// convert exactly or throw.
public struct NPYArray: Equatable, Sendable, CustomStringConvertible {
    /// The extent of each axis, outermost first; `[]` for a 0-d array (one element).
    public let shape: [Int]
    public let dtype: NPYDType
    /// `count * dtype.itemSize` bytes: the elements in C order, little-endian.
    public let data: Data
    /// The number of elements, the product of `shape`.
    public let count: Int

    /// An array over raw little-endian bytes; throws unless `data` has exactly the size the
    /// shape and dtype need (and, for bool, every byte is 0 or 1).
    public init(shape: [Int], dtype: NPYDType, data: Data) throws {
        let (count, bytes) = try NPYHeader.sizes(of: shape, dtype: dtype)
        guard data.count == bytes else {
            throw NPYError(.size, "shape \(npyShapeText(shape)) of \(dtype) needs \(bytes) bytes of data, got \(data.count)")
        }
        if dtype == .bool, let bad = data.firstIndex(where: { $0 > 1 }) {
            let index = data.distance(from: data.startIndex, to: bad)
            throw NPYError(.data, "bool element \(index) is the byte \(data[bad]); bools must be 0 or 1 (save with a.astype(np.bool_))")
        }
        self.init(validShape: shape, dtype: dtype, count: count,
                  data: data.startIndex == 0 ? data : data.subdata(in: data.startIndex..<data.endIndex))
    }

    /// An array of `scalars` in C order, written as `T.npyDType`.
    public init<T: NPYScalar>(shape: [Int], scalars: [T]) throws {
        let (count, _) = try NPYHeader.sizes(of: shape, dtype: T.npyDType)
        guard scalars.count == count else {
            throw NPYError(.size, "shape \(npyShapeText(shape)) needs \(count) elements, got \(scalars.count)")
        }
        self.init(validShape: shape, dtype: T.npyDType, count: count, data: Self.encode(scalars))
    }

    /// A 0-d array holding one value.
    public init<T: NPYScalar>(scalar: T) {
        self.init(validShape: [], dtype: T.npyDType, count: 1, data: Self.encode([scalar]))
    }

    /// For callers that have checked the sizes already.
    init(validShape shape: [Int], dtype: NPYDType, count: Int, data: Data) {
        self.shape = shape
        self.dtype = dtype
        self.count = count
        self.data = data
    }

    public var description: String { "NPYArray(\(dtype), shape \(npyShapeText(shape)))" }

    // MARK: Elements

    /// The element at C-order position `index` (`0..<count`).
    public func element(at index: Int) -> NPYElement {
        precondition(index >= 0 && index < count, "element \(index) is out of range for \(self)")
        return data.withUnsafeBytes { Self.element(in: $0, at: index, dtype: dtype) }
    }

    /// Every element, widened, in C order.
    public var elements: [NPYElement] {
        data.withUnsafeBytes { raw in (0..<count).map { Self.element(in: raw, at: $0, dtype: dtype) } }
    }

    static func element(in raw: UnsafeRawBufferPointer, at index: Int, dtype: NPYDType) -> NPYElement {
        let offset = index * dtype.itemSize
        switch dtype {
        case .bool: return .bool(raw[offset] != 0)
        case .uint8: return .unsigned(UInt64(raw[offset]))
        case .int8: return .signed(Int64(Int8(bitPattern: raw[offset])))
        case .uint16: return .unsigned(UInt64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
        case .int16: return .signed(Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int16.self))))
        case .uint32: return .unsigned(UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
        case .int32: return .signed(Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))))
        case .uint64: return .unsigned(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        case .int64: return .signed(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
        case .float32:
            let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            return .float(Double(Float(bitPattern: bits)))
        case .float64:
            return .float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
        }
    }

    // MARK: Typed access

    /// The elements as `T`, in C order; throws on the first element `T` cannot hold exactly.
    public func scalars<T: NPYScalar>(as type: T.Type = T.self) throws -> [T] {
        #if _endian(little)
        if dtype == T.npyDType, MemoryLayout<T>.stride == dtype.itemSize {
            // Same layout as the file: copy the bytes (bools were checked to be 0 or 1).
            return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                data.withUnsafeBytes { raw in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
                }
                initialized = count
            }
        }
        #endif
        return try data.withUnsafeBytes { raw in
            var out: [T] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                let e = Self.element(in: raw, at: i, dtype: dtype)
                guard let v = T(npyExactly: e) else { throw conversionError(at: i, element: e, to: T.self) }
                out.append(v)
            }
            return out
        }
    }

    public func asBool() throws -> [Bool] { try scalars() }
    public func asUInt8() throws -> [UInt8] { try scalars() }
    public func asInt8() throws -> [Int8] { try scalars() }
    public func asUInt16() throws -> [UInt16] { try scalars() }
    public func asInt16() throws -> [Int16] { try scalars() }
    public func asUInt32() throws -> [UInt32] { try scalars() }
    public func asInt32() throws -> [Int32] { try scalars() }
    public func asUInt64() throws -> [UInt64] { try scalars() }
    public func asInt64() throws -> [Int64] { try scalars() }
    public func asInt() throws -> [Int] { try scalars() }
    public func asFloat() throws -> [Float] { try scalars() }
    public func asDouble() throws -> [Double] { try scalars() }

    /// The multi-dimensional index of C-order position `index`, as Python prints it.
    func indexText(_ index: Int) -> String {
        var rest = index
        var parts: [Int] = []
        for extent in shape.reversed() {
            parts.append(rest % extent)
            rest /= extent
        }
        return "[" + parts.reversed().map(String.init).joined(separator: ", ") + "]"
    }

    private func conversionError<T>(at index: Int, element: NPYElement, to type: T.Type) -> NPYError {
        NPYError(.conversion, "element \(indexText(index)) of this \(dtype) array is \(element), which \(T.self) cannot hold exactly; convert the array in NumPy first (e.g. a.astype(...)) if that loss is intended")
    }

    // MARK: Encoding

    /// `values` as little-endian bytes of `T.npyDType`.
    static func encode<T: NPYScalar>(_ values: [T]) -> Data {
        let dtype = T.npyDType
        #if _endian(little)
        if MemoryLayout<T>.stride == dtype.itemSize {
            return values.withUnsafeBytes { Data($0) }
        }
        #endif
        var out = Data(capacity: values.count * dtype.itemSize)
        for v in values { appendBytes(of: v.npyElement, as: dtype, to: &out) }
        return out
    }

    /// Appends one element, which must be in range for `dtype`, as little-endian bytes.
    static func appendBytes(of element: NPYElement, as dtype: NPYDType, to out: inout Data) {
        let bits: UInt64
        switch element {
        case .bool(let b): bits = b ? 1 : 0
        case .signed(let v): bits = UInt64(bitPattern: v)
        case .unsigned(let v): bits = v
        case .float(let v): bits = dtype == .float32 ? UInt64(Float(v).bitPattern) : v.bitPattern
        }
        for k in 0..<dtype.itemSize { out.append(UInt8(truncatingIfNeeded: bits >> (8 * k))) }
    }
}
