import Foundation

extension NPYArray {
    /// The array of a tensor, in the tensor's C order.
    public init<T: NPYScalar>(_ tensor: Tensor<T>) throws {
        try self.init(shape: tensor.shape, scalars: tensor.scalars)
    }

    /// The array as a tensor of `T`, converting each element exactly (see `scalars(as:)`).
    public func tensor<T: NPYScalar>(of type: T.Type = T.self) throws -> Tensor<T> {
        try Tensor(shape: shape, scalars: scalars(as: T.self))
    }
}
