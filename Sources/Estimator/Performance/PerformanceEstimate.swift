/// Cycles, latency, throughput and energy of one QKTA or QKCA block at given firing rates and
/// clock, without simulation.
public struct PerformanceEstimate: Sendable {
    public let shape: AcceleratorShape
    public let rates: FiringRates
    public let clockMHz: Double
    public let energy: EnergyParameters
    /// Steady-state cycles per sample (a long stream of samples).
    public let cyclesPerSample: Double
    /// Cycles from the first input beat of one sample to its last output beat, pipeline empty.
    public let latencyCycles: Int
    public let ops: OperationCounts
    public let breakdown: EnergyBreakdown

    /// Latency of one sample in microseconds.
    public var latencyMicroseconds: Double { Double(latencyCycles) / clockMHz }
    /// Samples per second in steady state.
    public var samplesPerSecond: Double { clockMHz * 1e6 / cyclesPerSample }
    /// Energy per sample in microjoules.
    public var energyMicrojoules: Double { breakdown.total * 1e-6 }
    /// The event-driven lower bound: the busier accumulator's events times `G`.
    public var eventBoundCycles: Double { max(ops.inputEvents, ops.maskedEvents) * Double(shape.groups) }

    public init(shape: AcceleratorShape, rates: FiringRates, clockMHz: Double = 200, energy: EnergyParameters = EnergyParameters()) {
        self.shape = shape
        self.rates = rates
        self.clockMHz = clockMHz
        self.energy = energy
        let model = RateCycleModel(shape)
        cyclesPerSample = model.cyclesPerSample(rates)
        latencyCycles = model.runCycles(rates: rates, samples: 1)
        let V = Double(shape.vectorsPerSample), C = Double(shape.channels)
        let m = shape.maxInputCount
        ops = OperationCounts(shape: shape, inputEvents: rates.input * C * V, maskedEvents: rates.xPrime * C * V,
                              multiCountFraction: m > 1 ? Double(m - 1) / Double(m) : 0)
        breakdown = EnergyBreakdown(ops, energy)
    }
}
