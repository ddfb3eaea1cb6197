import Foundation

/// A dense row-major (C order) tensor: the layout of a `.npy` file, so tensors move to and from
/// NumPy without reordering. Spike tensors are `[T][N][C]`.
public struct Tensor<Element>: CustomStringConvertible {
    /// The extent of each axis, outermost first.
    public let shape: [Int]
    /// The elements in C order.
    public var scalars: [Element]

    public init(shape: [Int], repeating value: Element) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor shape \(shape) has a negative extent")
        self.shape = shape
        scalars = [Element](repeating: value, count: shape.reduce(1, *))
    }

    public init(shape: [Int], scalars: [Element]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw ConfigError(field: "shape", "\(shape) has a negative extent")
        }
        guard scalars.count == shape.reduce(1, *) else {
            throw ConfigError(field: "shape", "\(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A `[T][N][C]` tensor from nested arrays; throws when they are ragged.
    public init(_ nested: [[[Element]]]) throws {
        let t = nested.count, n = nested.first?.count ?? 0, c = nested.first?.first?.count ?? 0
        var flat: [Element] = []
        flat.reserveCapacity(t * n * c)
        for (i, plane) in nested.enumerated() {
            guard plane.count == n else {
                throw ConfigError(field: "input[\(i)]", "has \(plane.count) rows, expected \(n) (ragged tensor)")
            }
            for (j, row) in plane.enumerated() {
                guard row.count == c else {
                    throw ConfigError(field: "input[\(i)][\(j)]", "has \(row.count) elements, expected \(c) (ragged tensor)")
                }
                flat.append(contentsOf: row)
            }
        }
        try self.init(shape: [t, n, c], scalars: flat)
    }

    /// The C-order offset of an index.
    @inlinable
    public func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) has the wrong rank for shape \(shape)")
        var o = 0
        for (i, e) in zip(index, shape) {
            precondition(i >= 0 && i < e, "index \(index) is out of bounds for shape \(shape)")
            o = o * e + i
        }
        return o
    }

    public subscript(_ index: Int...) -> Element {
        get { scalars[offset(index)] }
        set { scalars[offset(index)] = newValue }
    }

    /// A 3-axis tensor as nested arrays.
    public var nested3: [[[Element]]] {
        precondition(shape.count == 3, "nested3 needs a 3-axis tensor, shape is \(shape)")
        let (n, c) = (shape[1], shape[2])
        return (0..<shape[0]).map { t in
            (0..<n).map { j in Array(scalars[((t * n + j) * c)..<((t * n + j) * c + c)]) }
        }
    }

    public var description: String { "Tensor\(shape)" }
}

extension Tensor: Equatable where Element: Equatable {}
extension Tensor: Hashable where Element: Hashable {}
extension Tensor: Sendable where Element: Sendable {}

/// Spike counts or spikes, `[T][N][C]`.
public typealias SpikeTensor = Tensor<UInt8>
