import Foundation

/// The parameters of one integer LIF neuron (docs/arithmetic.md §1).
///
/// Every value is an integer on the neuron's membrane grid `2^-F`. The names follow the arithmetic
/// contract's formulas (`k`, `th`, `vr`, `E`, `Wv`) so the golden model, the RTL generator and docs/arithmetic.md
/// can be read side by side.
///
/// Saturation (clamping) convention, when `membraneWidth` (`Wv`) is forced:
/// - the current `I` is **not** clamped by the neuron: `I << E` and the difference terms
///   `I - (V - vr)` / `(V - vr) >>> k` are computed exactly, at whatever width that needs;
///   the current's own width belongs to the layer that produced it (see `LinearLayer`);
/// - clamp point 1: the charged membrane `H` is saturated to `[-2^(Wv-1), 2^(Wv-1) - 1]`
///   *before* the threshold comparison (so the spike is decided on the clamped `H`);
/// - clamp point 2: the post-reset membrane `V` is saturated to the same range (this only
///   bites for a soft reset with a negative threshold, where `H - th` can exceed the maximum).
/// `validate()` requires `th` and `vr` to fit `Wv`, because the RTL must store them at that width;
/// with `th` in range, comparing the clamped `H` gives the same spike as comparing the exact `H`
/// whenever `H` itself is in range.
public struct LIFParameters: Hashable, Sendable {
    /// How the membrane is reset after a spike.
    public enum Reset: Hashable, Sendable {
        /// `V = S ? vr : H`, with the reset value `vr` on the membrane grid.
        case hard(Int64)
        /// `V = H - S * th`; the membrane starts at 0.
        case soft
    }

    /// `tau = 2^k`; the decay is an arithmetic shift right by `k` (floor division by `2^k`).
    public var k: Int
    /// The firing threshold `th` on the membrane grid: the neuron fires iff `H >= th`.
    public var threshold: Int64
    /// Hard reset to `vr`, or soft reset by subtracting the threshold.
    public var reset: Reset
    /// spikingjelly's `decay_input`: whether the input current is decayed too (true in QKFormer).
    public var decayInput: Bool
    /// `F`, the membrane grid's fraction bits. Informational only: the arithmetic is on integers
    /// already on the grid. It may be negative when the weight grid is coarser than 1.
    public var fractionBits: Int
    /// `E`: the current is shifted left by `E` on entry (`I << E`), moving it from the weight grid
    /// `2^-Fw` to the membrane grid `2^-(Fw+E)`. `E = T*k` makes every decay shift exact.
    public var inputShift: Int
    /// A forced membrane width `Wv` (saturating), or nil for the width interval analysis proves
    /// sufficient (the golden model then computes exactly and traps if that were ever wrong).
    public var membraneWidth: Int?

    public init(k: Int = 1, threshold: Int64, reset: Reset = .hard(0), decayInput: Bool = true,
                fractionBits: Int = 0, inputShift: Int = 0, membraneWidth: Int? = nil) {
        self.k = k
        self.threshold = threshold
        self.reset = reset
        self.decayInput = decayInput
        self.fractionBits = fractionBits
        self.inputShift = inputShift
        self.membraneWidth = membraneWidth
    }

    /// The value the membrane starts at and (hard reset) returns to: `vr`, or 0 for a soft reset.
    public var resetValue: Int64 {
        switch reset {
        case .hard(let vr): return vr
        case .soft: return 0
        }
    }

    /// Whether the reset is hard.
    public var isHardReset: Bool {
        if case .hard = reset { return true }
        return false
    }

    /// QKFormer's neuron: tau = 2, hard reset to 0, decayInput, threshold 1.0 on the membrane grid
    /// `2^-(Fw+E)`; the current arrives on the weight grid `2^-Fw` and is shifted left by `E`.
    /// `weightFractionBits + extraFractionBits` must be >= 0 so that 1.0 is an integer on the grid.
    public static func qkformer(weightFractionBits: Int, extraFractionBits: Int,
                                membraneWidth: Int? = nil) -> LIFParameters {
        let f = weightFractionBits + extraFractionBits
        precondition(f >= 0 && f <= 62, "threshold 1.0 needs 0 <= Fw + E <= 62, got \(f)")
        return LIFParameters(k: 1, threshold: Int64(1) << Int64(f), reset: .hard(0), decayInput: true,
                             fractionBits: f, inputShift: extraFractionBits, membraneWidth: membraneWidth)
    }

    /// QKFormer's `attn_lif`: tau = 2, hard reset to 0, decayInput, threshold 0.5. Its input is an
    /// integer spike sum (grid 2^0), shifted left by `F` onto the membrane grid `2^-F`, where
    /// 0.5 is the integer `2^(F-1)`; `F >= 1`. (`F = T` is exact mode; `F = 1` is already exact
    /// for non-negative integer sums, because this neuron then never keeps charge.)
    public static func attention(fractionBits: Int = 1, membraneWidth: Int? = nil) -> LIFParameters {
        precondition(fractionBits >= 1 && fractionBits <= 62, "threshold 0.5 needs 1 <= F <= 62")
        return LIFParameters(k: 1, threshold: Int64(1) << Int64(fractionBits - 1), reset: .hard(0),
                             decayInput: true, fractionBits: fractionBits, inputShift: fractionBits,
                             membraneWidth: membraneWidth)
    }

    /// Checks the parameters; the error names the field and the fix.
    public func validate() throws {
        guard k >= 0 && k <= 62 else {
            throw GoldenError(field: "k", "tau = 2^k needs 0 <= k <= 62, got \(k)")
        }
        guard inputShift >= 0 && inputShift <= 62 else {
            throw GoldenError(field: "inputShift", "the current shift E must be in 0...62, got \(inputShift)")
        }
        if let w = membraneWidth {
            guard w >= 1 && w <= 64 else {
                throw GoldenError(field: "membraneWidth", "a forced membrane width must be in 1...64 bits, got \(w)")
            }
            guard SignedWidth.fits(threshold, w) else {
                throw GoldenError(field: "threshold",
                                  "\(threshold) does not fit the forced \(w)-bit membrane; widen membraneWidth to at least \(SignedWidth.required(threshold))")
            }
            guard SignedWidth.fits(resetValue, w) else {
                throw GoldenError(field: "reset",
                                  "reset value \(resetValue) does not fit the forced \(w)-bit membrane; widen membraneWidth to at least \(SignedWidth.required(resetValue))")
            }
        }
    }
}
