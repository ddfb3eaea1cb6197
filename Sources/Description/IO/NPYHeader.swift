import Foundation

/// The header of a `.npy` file: what its dict literal says, checked.
struct NPYHeader: Equatable {
    let dtype: NPYDType
    /// Whether the data is stored big-endian (`'>i4'`); it is swapped on reading.
    let bigEndian: Bool
    let shape: [Int]
    let count: Int
    let byteCount: Int

    static let keys = ["descr", "fortran_order", "shape"]
    /// numpy's own limit on dimensions (NPY_MAXDIMS since numpy 2.0).
    static let maxDimensions = 64

    init(_ literal: PythonLiteral) throws {
        let resave = "re-save the array with np.save"
        guard case .dict(let items) = literal else {
            throw NPYError(.header, "header is \(literal.kindName), not a dict with the keys 'descr', 'fortran_order' and 'shape'; \(resave)")
        }
        if let unknown = items.first(where: { !Self.keys.contains($0.key) }) {
            throw NPYError(.header, "header has an unknown key '\(npyQuoted(text: unknown.key))'; only 'descr', 'fortran_order' and 'shape' are allowed; \(resave)")
        }
        func value(_ key: String) throws -> PythonLiteral {
            guard let item = items.first(where: { $0.key == key }) else {
                throw NPYError(.header, "header has no '\(key)' key; it needs 'descr', 'fortran_order' and 'shape'; \(resave)")
            }
            return item.value
        }
        let descr = try value("descr"), fortranOrder = try value("fortran_order"), shapeValue = try value("shape")

        switch descr {
        case .string(let s): (dtype, bigEndian) = try NPYDType.parse(descr: s)
        case .list:
            throw NPYError(.dtype, "structured dtypes (record arrays) are not supported; save each field as its own array, e.g. np.save(path, a['field'])")
        default:
            throw NPYError(.header, "descr must be a dtype string such as '<f4', found \(descr.kindName) \(descr.text); \(resave)")
        }

        switch fortranOrder {
        case .bool(false): break
        case .bool(true):
            throw NPYError(.fortranOrder, "Fortran-order arrays are not supported; save with np.ascontiguousarray: np.save(path, np.ascontiguousarray(a))")
        default:
            throw NPYError(.header, "fortran_order must be True or False, found \(fortranOrder.text); \(resave)")
        }

        guard case .tuple(let dims) = shapeValue else {
            throw NPYError(.shape, "shape must be a tuple of integers, found \(shapeValue.kindName) \(shapeValue.text); \(resave)")
        }
        guard dims.count <= Self.maxDimensions else {
            throw NPYError(.shape, "shape has \(dims.count) dimensions, more than numpy's limit of \(Self.maxDimensions); the header is damaged, \(resave)")
        }
        var shape: [Int] = []
        for d in dims {
            guard case .integer(let negative, let digits) = d else {
                throw NPYError(.shape, "shape \(shapeValue.text) has \(d.kindName) \(d.text) where a dimension should be; \(resave)")
            }
            guard !negative || digits == "0" else {
                throw NPYError(.shape, "shape \(shapeValue.text) has a negative dimension; the header is damaged, \(resave)")
            }
            guard let n = Int(digits) else {
                throw NPYError(.shape, "shape \(shapeValue.text) has a dimension larger than \(Int.max); the header is damaged, \(resave)")
            }
            shape.append(n)
        }
        self.shape = shape
        (count, byteCount) = try Self.sizes(of: shape, dtype: dtype)
    }

    /// The element count and byte count of `shape`, or an error when a dimension is negative
    /// or either count overflows `Int`. Zero-size arrays still need their other dimensions to
    /// multiply without overflow, as in numpy.
    static func sizes(of shape: [Int], dtype: NPYDType) throws -> (count: Int, bytes: Int) {
        guard shape.count <= maxDimensions else {
            throw NPYError(.shape, "shape has \(shape.count) dimensions, more than numpy's limit of \(maxDimensions)")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw NPYError(.shape, "shape \(npyShapeText(shape)) has a negative dimension")
        }
        var product = 1
        for d in shape where d != 0 {
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw NPYError(.shape, "shape \(npyShapeText(shape)) has more elements than a 64-bit count can hold; the header is damaged or the array is absurdly large")
            }
            product = p
        }
        let (bytes, overflow) = product.multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow else {
            throw NPYError(.shape, "shape \(npyShapeText(shape)) of \(dtype) needs more bytes than a 64-bit size can hold; the header is damaged or the array is absurdly large")
        }
        return shape.contains(0) ? (0, 0) : (product, bytes)
    }
}
