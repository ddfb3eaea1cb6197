import Foundation

/// `LIF(BN(Conv1d_k1(x)))`: a linear layer (BN folded into its weights and bias) followed by one
/// LIF neuron per output channel, each with its own threshold, grid and shift (per-channel
/// quantization gives every channel its own `F = Fw + E`).
public struct SpikingLinearLayer: Hashable, Sendable {
    public let linear: LinearLayer
    /// `neurons[o]` is the LIF of output channel `o`; its `inputShift` moves the current onto
    /// its membrane grid.
    public let neurons: [LIFParameters]

    public init(linear: LinearLayer, neurons: [LIFParameters]) throws {
        guard neurons.count == linear.outputs else {
            throw GoldenError(field: "neurons", "expected one LIF per output channel (\(linear.outputs)), got \(neurons.count)")
        }
        for (o, p) in neurons.enumerated() {
            do { try p.validate() } catch let e as GoldenError { throw e.within("neurons[\(o)]") }
        }
        self.linear = linear
        self.neurons = neurons
    }

    /// Every output channel with the same neuron.
    public init(linear: LinearLayer, neuron: LIFParameters) throws {
        try self.init(linear: linear, neurons: [LIFParameters](repeating: neuron, count: linear.outputs))
    }

    /// A self-checking LIF bank of `groups * outputs` neurons (channel innermost) for inputs whose
    /// counts are at most `maxCount`.
    func makeBank(groups: Int, maxCount: UInt8) throws -> LIFBank {
        try LIFBank(count: groups * linear.outputs, channelParameters: neurons,
                    currentRanges: try linear.outputRange(maxCount: maxCount))
    }
}
