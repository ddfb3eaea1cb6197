import Foundation

/// A bank of independent LIF neurons stepped together (docs/arithmetic.md §1).
///
/// Neurons are laid out with the channel innermost: neuron `i` uses
/// `channelParameters[i % channelParameters.count]`, so a bank of `N * C` neurons over a
/// `[N][C]` tensor shares one parameter set per channel, as a per-output-channel layer does.
/// Every neuron starts at its reset value; call `reset()` at the first time step of every
/// token/sample.
///
/// With `currentRanges`, the bank also checks itself: each current must lie in its declared
/// range, and, for unforced widths, each `H` and `V` must lie in the range that
/// `LIFIntervalAnalysis` proved (any number of steps), so an unsound analysis or an
/// out-of-contract input traps with a clear message instead of passing silently.
public struct LIFBank: Sendable {
    public let channelParameters: [LIFParameters]
    /// The membrane `V` of every neuron.
    public private(set) var membrane: [Int64]
    /// The charged membrane `H` of every neuron at its last step (for debugging).
    public private(set) var hidden: [Int64]
    /// The spike of every neuron at its last step.
    public private(set) var spikes: [UInt8]

    let kernels: [LIFKernel]
    private(set) var checks: [(current: ClosedRange<Int64>, range: LIFRange)]?

    /// A bank of `count` neurons sharing `parameters`.
    public init(count: Int, parameters: LIFParameters) {
        self.init(count: count, channelParameters: [parameters])
    }

    /// A bank of `count` neurons; neuron `i` uses `channelParameters[i % channelParameters.count]`.
    public init(count: Int, channelParameters: [LIFParameters]) {
        precondition(count >= 0, "LIFBank needs count >= 0")
        precondition(!channelParameters.isEmpty, "LIFBank needs at least one parameter set")
        precondition(count % channelParameters.count == 0,
                     "LIFBank of \(count) neurons cannot repeat \(channelParameters.count) channel parameter sets")
        self.channelParameters = channelParameters
        kernels = channelParameters.map(LIFKernel.init)
        checks = nil
        membrane = (0..<count).map { channelParameters[$0 % channelParameters.count].resetValue }
        hidden = membrane
        spikes = [UInt8](repeating: 0, count: count)
    }

    /// A self-checking bank: `currentRanges[c]` is the range of channel `c`'s current (before
    /// `<< E`). Throws when a channel's membrane range cannot be held in 64 bits.
    public init(count: Int, channelParameters: [LIFParameters], currentRanges: [ClosedRange<Int64>]) throws {
        precondition(currentRanges.count == channelParameters.count,
                     "LIFBank needs one current range per channel parameter set")
        self.init(count: count, channelParameters: channelParameters)
        var checks: [(current: ClosedRange<Int64>, range: LIFRange)] = []
        for (c, p) in channelParameters.enumerated() {
            do {
                checks.append((currentRanges[c], try LIFIntervalAnalysis.analyze(current: currentRanges[c], parameters: p)))
            } catch let e as GoldenError {
                throw e.within("channel[\(c)]")
            }
        }
        self.checks = checks
    }

    public var count: Int { membrane.count }

    /// Puts every neuron back at its reset value (first time step of a token/sample).
    public mutating func reset() {
        let n = channelParameters.count
        for i in membrane.indices {
            membrane[i] = channelParameters[i % n].resetValue
            hidden[i] = membrane[i]
            spikes[i] = 0
        }
    }

    /// Steps neuron `i` with `current` and returns the step.
    public mutating func step(neuron i: Int, current: Int64) -> LIFStep {
        let c = i % kernels.count
        let s = kernels[c].step(membrane[i], current)
        membrane[i] = s.membrane
        hidden[i] = s.hidden
        spikes[i] = s.spike ? 1 : 0
        if checks != nil { check(channel: c, neuron: i, current: current, step: s) }
        return s
    }

    /// Steps every neuron with its current and returns the spikes.
    public mutating func step(currents: [Int64]) -> [UInt8] {
        precondition(currents.count == count, "LIFBank.step needs \(count) currents, got \(currents.count)")
        _ = currents.withUnsafeBufferPointer { stepAll($0) }
        return spikes
    }

    /// Steps every neuron; returns how many fired. The bulk path: no per-neuron modulo and no
    /// bounds checks in the inner loop, the same arithmetic as `step(neuron:current:)`.
    @discardableResult
    mutating func stepAll(_ currents: UnsafeBufferPointer<Int64>) -> Int {
        if checks != nil {
            var fired = 0
            for i in 0..<currents.count where step(neuron: i, current: currents[i]).spike { fired += 1 }
            return fired
        }
        let channels = kernels.count
        var fired = 0
        kernels.withUnsafeBufferPointer { ks in
            membrane.withUnsafeMutableBufferPointer { v in
                hidden.withUnsafeMutableBufferPointer { h in
                    spikes.withUnsafeMutableBufferPointer { sp in
                        if channels == 1 {            // one shared parameter set: hoist it
                            let k = ks[0]
                            for i in 0..<currents.count {
                                let s = k.step(v[i], currents[i])
                                v[i] = s.membrane
                                h[i] = s.hidden
                                sp[i] = s.spike ? 1 : 0
                                fired &+= s.spike ? 1 : 0
                            }
                            return
                        }
                        var i = 0
                        while i < currents.count {
                            for c in 0..<channels {
                                let s = ks[c].step(v[i], currents[i])
                                v[i] = s.membrane
                                h[i] = s.hidden
                                sp[i] = s.spike ? 1 : 0
                                fired &+= s.spike ? 1 : 0
                                i += 1
                            }
                        }
                    }
                }
            }
        }
        return fired
    }

    func check(channel c: Int, neuron i: Int, current: Int64, step s: LIFStep) {
        guard let checks else { return }
        let (range, proven) = checks[c]
        precondition(range.contains(current),
                     "LIF neuron \(i): current \(current) is outside its declared range \(range)")
        if channelParameters[c].membraneWidth == nil {
            precondition(proven.hidden.contains(s.hidden) && proven.membrane.contains(s.membrane),
                         "LIF neuron \(i): H = \(s.hidden), V = \(s.membrane) escaped the interval analysis (H in \(proven.hidden), V in \(proven.membrane)); the analysis is unsound")
        }
    }
}
