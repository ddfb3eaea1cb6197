import Description
/// Energy per operation and per memory bit. The defaults are the 45 nm figures of Horowitz,
/// "Computing's energy problem (and what we can do about it)", ISSCC 2014, the numbers the
/// spiking-transformer papers (Spikformer, QKFormer) use for their energy estimates:
/// a 32-bit floating-point add (an accumulate, AC) costs 0.9 pJ, a 32-bit floating-point
/// multiply-add (MAC) 4.6 pJ. They are conventions for comparing with those papers, not a
/// prediction for an FPGA; the hardware here adds small integers, which costs far less.
public struct EnergyParameters: Sendable, Hashable, Codable {
    /// pJ per accumulate (AC).
    public var accumulate: Double
    /// pJ per multiply-accumulate (MAC).
    public var multiplyAccumulate: Double
    /// pJ per bit read from or written to an on-chip memory (weights, accumulator and membrane
    /// state, buffers).
    public var memoryBit: Double
    /// Where the numbers come from, for the report.
    public var source: String

    public init(accumulate: Double = 0.9, multiplyAccumulate: Double = 4.6, memoryBit: Double = defaultMemoryBit,
                source: String = EnergyParameters.defaultSource) {
        (self.accumulate, self.multiplyAccumulate, self.memoryBit, self.source) = (accumulate, multiplyAccumulate, memoryBit, source)
    }

    /// 10 pJ per 64-bit access of an 8 KB SRAM (Horowitz 2014, 45 nm): 0.15625 pJ per bit.
    public static let defaultMemoryBit = 10.0 / 64.0
    public static let defaultSource = "45 nm, Horowitz ISSCC 2014: fp32 add 0.9 pJ (AC), fp32 mult+add 4.6 pJ (MAC), 8 KB SRAM 10 pJ per 64-bit access (0.15625 pJ/bit)"
}

/// The work of one sample through the block, counted from the microarchitecture.
///
/// Synaptic operations (what the QKFormer and Spikformer papers count):
/// - Q and K projections: each input event adds one weight row into `C` accumulators, in each
///   of the two layers: `2 * C` ACs per event. An event of count `m > 1` (SEW residual streams)
///   is a small multiply in the hardware (`count * weight`): counted as `2 * C` MACs instead.
/// - Projection: each `X'` event adds one row: `C` ACs.
/// - The attention (row sums or column ORs, the AND mask) and the LIF neurons are not synaptic
///   operations; the LIF updates are reported separately (`neuronUpdates`: Q, K and projection
///   banks, `3 * C` per vector), charged one AC each.
///
/// Memory traffic (bits), with the generator's widths:
/// - Weight reads: `G` words of `P * Ww` bits per accumulate event (every lane reads its weight,
///   padding lanes included).
/// - Accumulator state: every issued group reads and writes `P` accumulators of `Wa` bits; every
///   drain reads them once more (`G` beats per vector per accumulator).
/// - Membrane state: each LIF bank reads and writes `C` membranes of `Wv` bits per vector.
/// - QKCA: the K buffer is written and read once per (token, time step, group): `N*T*G` words of
///   `min(P, C)` bits each way.
public struct OperationCounts: Sendable, Hashable, Codable {
    public var inputEvents: Double
    public var maskedEvents: Double
    public var accumulates: Double
    public var multiplyAccumulates: Double
    public var neuronUpdates: Double
    public var weightBitsRead: Double
    public var stateBitsRead: Double
    public var stateBitsWritten: Double
    public var bufferBitsRead: Double
    public var bufferBitsWritten: Double

    public var memoryBits: Double { weightBitsRead + stateBitsRead + stateBitsWritten + bufferBitsRead + bufferBitsWritten }

    /// The counts of one sample with `inputEvents` input events (of which a fraction
    /// `multiCountFraction` carry a count above 1) and `maskedEvents` `X'` events.
    public init(shape s: AcceleratorShape, inputEvents e: Double, maskedEvents x: Double, multiCountFraction: Double = 0) {
        let C = Double(s.channels), G = Double(s.groups), P = Double(s.lanes)
        let V = Double(s.vectorsPerSample)
        inputEvents = e
        maskedEvents = x
        accumulates = 2 * C * e * (1 - multiCountFraction) + C * x
        multiplyAccumulates = 2 * C * e * multiCountFraction
        neuronUpdates = 3 * C * V
        // Q and K accumulators both read their rows; the projection reads its own.
        weightBitsRead = (2 * e + x) * G * P * Double(s.weightWidth)
        // Read-modify-write per issued group, plus one read per drained group (3 accumulators).
        // An all-zero vector still drains its bias (counted as reads of G groups, as any drain).
        let issued = (2 * e + x) * G
        let drains = 3 * V * G
        stateBitsRead = (issued + drains) * P * Double(s.accumulatorWidth) + 3 * V * C * Double(s.membraneWidth)
        stateBitsWritten = issued * P * Double(s.accumulatorWidth) + 3 * V * C * Double(s.membraneWidth)
        if s.mask == .channel {
            let bits = V * G * Double(min(s.lanes, s.channels))
            bufferBitsRead = bits
            bufferBitsWritten = bits
        } else {
            bufferBitsRead = 0
            bufferBitsWritten = 0
        }
    }
}

/// Energy of one sample, split by where it goes (pJ).
public struct EnergyBreakdown: Sendable, Hashable, Codable {
    public var synapticAccumulate: Double
    public var synapticMultiply: Double
    public var neuronUpdates: Double
    public var weightMemory: Double
    public var stateMemory: Double
    public var bufferMemory: Double
    public var total: Double { synapticAccumulate + synapticMultiply + neuronUpdates + weightMemory + stateMemory + bufferMemory }

    public init(_ ops: OperationCounts, _ p: EnergyParameters) {
        synapticAccumulate = ops.accumulates * p.accumulate
        synapticMultiply = ops.multiplyAccumulates * p.multiplyAccumulate
        neuronUpdates = ops.neuronUpdates * p.accumulate
        weightMemory = ops.weightBitsRead * p.memoryBit
        stateMemory = (ops.stateBitsRead + ops.stateBitsWritten) * p.memoryBit
        bufferMemory = (ops.bufferBitsRead + ops.bufferBitsWritten) * p.memoryBit
    }
}
