/// The parameters of one integer LIF neuron (docs/arithmetic.md §1), as the hardware sees them.
///
/// Every value is an integer on the neuron's membrane grid `2^-F`; `F` itself never reaches
/// the hardware, only `th`, `vr`, `k` and `E` do. One time step, with `I` the current on the
/// weight grid:
///
///     a = I << E
///     decayInput:   H = V + ((a - (V - vr)) >>> k)
///     otherwise:    H = V - ((V - vr) >>> k) + a
///     S = H >= th
///     hard reset:   V' = S ? vr : H
///     soft reset:   V' = H - S * th
///
/// With a forced `membraneWidth` (`Wv`) the neuron saturates at exactly two points, as the
/// contract says: `H` is clamped to `Wv` signed bits before the comparison, and `V'` is clamped
/// again after the reset (only a soft reset with a negative threshold can leave the range
/// there). The current and the differences are computed exactly, at the width their intervals
/// need. Without a forced width the membrane register is as wide as interval analysis proves
/// necessary (`LIFRangeAnalysis`), and nothing saturates.
public struct LIFNeuronConfig: Hashable, Sendable, CustomStringConvertible {
    /// How the membrane is reset after a spike.
    public enum Reset: Hashable, Sendable {
        /// `V' = S ? vr : H`, with `vr` on the membrane grid; the membrane starts at `vr`.
        case hard(Int)
        /// `V' = H - S * th`; the membrane starts at 0.
        case soft
    }

    /// `tau = 2^k`; the decay is an arithmetic shift right by `k`.
    public var k: Int
    /// The firing threshold `th` on the membrane grid: the neuron fires iff `H >= th`.
    public var threshold: Int
    public var reset: Reset
    /// spikingjelly's `decay_input` (true in every QKFormer neuron).
    public var decayInput: Bool
    /// `E`: the current is shifted left by `E` on entry (`I << E`).
    public var inputShift: Int
    /// A forced membrane width `Wv` in bits (saturating), or nil for the proven width.
    public var membraneWidth: Int?

    public init(k: Int = 1, threshold: Int, reset: Reset = .hard(0), decayInput: Bool = true,
                inputShift: Int = 0, membraneWidth: Int? = nil) {
        self.k = k
        self.threshold = threshold
        self.reset = reset
        self.decayInput = decayInput
        self.inputShift = inputShift
        self.membraneWidth = membraneWidth
    }

    /// QKFormer's neuron: tau = 2, hard reset to 0, decayInput, threshold 1.0 on the membrane
    /// grid `2^-(Fw+E)`, i.e. the integer `2^(Fw+E)`; the current is shifted left by `E`.
    /// A grid outside `0 <= Fw+E <= 60` gives a threshold that validation rejects.
    public static func qkformer(weightFractionBits fw: Int, extraFractionBits e: Int,
                                membraneWidth: Int? = nil) -> LIFNeuronConfig {
        LIFNeuronConfig(k: 1, threshold: (0...60).contains(fw + e) ? 1 << (fw + e) : Int.max, reset: .hard(0), decayInput: true,
                        inputShift: e, membraneWidth: membraneWidth)
    }

    /// QKFormer's `attn_lif`: tau = 2, hard reset to 0, decayInput, threshold 0.5 on the grid
    /// `2^-F` (the integer `2^(F-1)`); its integer input (a spike sum) is shifted left by `F`.
    public static func attention(fractionBits f: Int = 1, membraneWidth: Int? = nil) -> LIFNeuronConfig {
        LIFNeuronConfig(k: 1, threshold: (1...60).contains(f) ? 1 << (f - 1) : Int.max, reset: .hard(0), decayInput: true,
                        inputShift: f, membraneWidth: membraneWidth)
    }

    /// The value the membrane starts at and (hard reset) returns to.
    public var resetValue: Int {
        if case .hard(let vr) = reset { return vr }
        return 0
    }

    public var isHardReset: Bool {
        if case .hard = reset { return true }
        return false
    }

    public var description: String {
        let r: String
        switch reset {
        case .hard(let vr): r = "hard(vr=\(vr))"
        case .soft: r = "soft"
        }
        return "k=\(k) th=\(threshold) reset=\(r) decayInput=\(decayInput) E=\(inputShift) Wv=\(membraneWidth.map(String.init) ?? "auto")"
    }

    /// Checks the parameters; `field` prefixes the parameter names in the message.
    func validate(_ field: String) throws {
        guard (0...32).contains(k) else {
            throw BlockError("\(field).k = \(k): tau = 2^k needs 0 <= k <= 32; pick a k in that range")
        }
        guard (0...32).contains(inputShift) else {
            throw BlockError("\(field).inputShift = \(inputShift): the entry shift E must be in 0...32; lower E")
        }
        if let w = membraneWidth {
            guard (1...62).contains(w) else {
                throw BlockError("\(field).membraneWidth = \(w): a forced membrane width must be 1...62 bits; pick a width in that range or nil for the proven width")
            }
            let range = Interval.ofWidth(w, signed: true)
            guard range.contains(threshold) else {
                throw BlockError("\(field).threshold = \(threshold) does not fit the forced \(w)-bit membrane; widen membraneWidth to at least \(Interval.point(threshold).signedWidth)")
            }
            guard range.contains(resetValue) else {
                throw BlockError("\(field).reset value \(resetValue) does not fit the forced \(w)-bit membrane; widen membraneWidth to at least \(Interval.point(resetValue).signedWidth)")
            }
        }
        guard abs(threshold) < (1 << 60), abs(resetValue) < (1 << 60) else {
            throw BlockError("\(field).threshold/reset must have magnitude below 2^60; rescale the grid")
        }
    }
}
