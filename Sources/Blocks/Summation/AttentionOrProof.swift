/// Which circuit an attention-mask generator emits.
public enum AttentionForm: String, Hashable, Sendable {
    /// The OR form where `AttentionOrProof` proves it exact, otherwise the sums and the LIF.
    case automatic
    /// Always the sums and the real LIF, even where the OR form is proven (for comparison).
    case general
    /// The OR form; building fails when the proof does not hold.
    case or
}

/// The proof, from the parameters alone, that an attention LIF fed with a spike sum is
/// exactly an OR: it fires iff the sum is at least 1, and it never keeps charge.
///
/// Claim. Let the neuron have a hard reset to `vr = 0`, threshold `th`, `tau = 2^k`, entry
/// shift `E`, optionally a forced width `Wv`, and let its input be an integer sum `s` of
/// spikes, `0 <= s` (after any saturation of the sum, `s <= smax`). Write
/// `g(s) = (s * 2^E) >>> k` (decayInput) or `g(s) = s * 2^E` (otherwise), clamped to
/// `2^(Wv-1) - 1` when `Wv` is forced. If
///
///     (1) th >= 1,    (2) g(1) >= th,    (3) smax >= 1,
///
/// then at every time step `V = 0` and `S = (s >= 1)`.
///
/// Proof, by induction over the time steps. `V` starts at `vr = 0`, and a `first` step starts
/// from 0 too. From `V = 0` both charge equations reduce to `H = g(s)`: with decayInput,
/// `H = 0 + ((s*2^E - (0 - 0)) >>> k)`; otherwise `H = 0 - ((0 - 0) >>> k) + s*2^E`; the
/// clamp of `H` to `Wv` bits is the clamp in `g` (`g >= 0`, so only the top clamp can act).
/// If `s = 0`: `H = g(0) = 0 < th` by (1), no spike, and `V' = H = 0`. If `s >= 1`: `g` is
/// non-decreasing (a shift and a clamp of a non-decreasing product), so `H = g(s) >= g(1)
/// >= th` by (2): a spike, and the hard reset gives `V' = vr = 0`. So `V` stays 0 and
/// `S = (s >= 1)`. A saturated sum keeps `s >= 1` exactly when the sum was at least 1, by
/// (3). And for a sum of 0/1 spikes, `s >= 1` is the OR of the spikes. QED.
///
/// docs/arithmetic.md §2's case is `k = 1`, `th = 0.5` on the grid `2^-E` (the integer
/// `2^(E-1)`, `E >= 1`), `vr = 0`, decayInput: `g(1) = 2^E >>> 1 = 2^(E-1) = th`. Threshold
/// 1.0 with `k = 1` fails (2): `g(1) = th / 2`, and the neuron does keep charge, so those
/// parameters get the real LIF.
public struct AttentionOrProof: Hashable, Sendable, CustomStringConvertible {
    /// Whether the OR form is exact for these parameters.
    public let holds: Bool
    /// The condition that failed, or the values that make it hold.
    public let reason: String

    public var description: String { (holds ? "OR form proven: " : "OR form not proven: ") + reason }

    /// Checks conditions (1)-(3) for `neuron` fed with sums in `0...maxSum`.
    public static func check(neuron n: LIFNeuronConfig, maxSum: Int) -> AttentionOrProof {
        guard case .hard(let vr) = n.reset, vr == 0 else {
            return AttentionOrProof(holds: false, reason: "the reset is not a hard reset to 0, so the membrane can keep charge")
        }
        guard n.threshold >= 1 else {
            return AttentionOrProof(holds: false, reason: "threshold \(n.threshold) < 1: a sum of 0 fires (condition 1)")
        }
        guard maxSum >= 1 else {
            return AttentionOrProof(holds: false, reason: "the saturated sum is always 0 (condition 3)")
        }
        guard (0...62).contains(n.inputShift), (0...62).contains(n.k) else {
            return AttentionOrProof(holds: false, reason: "shifts out of range")
        }
        var g1 = n.decayInput ? (1 << n.inputShift) >> n.k : 1 << n.inputShift
        if let w = n.membraneWidth, w >= 1 { g1 = min(g1, (1 << (w - 1)) - 1) }
        guard g1 >= n.threshold else {
            return AttentionOrProof(holds: false, reason: "a sum of 1 charges H = \(g1) < threshold \(n.threshold) (condition 2): the neuron keeps charge")
        }
        return AttentionOrProof(holds: true, reason: "hard reset to 0, 1 <= threshold \(n.threshold) <= H(sum 1) = \(g1), sums in 0...\(maxSum): the neuron fires iff the sum >= 1 and never keeps charge")
    }

    /// The form to build for `form`, or a `BlockError` when `.or` is asked for without a proof.
    static func resolve(_ form: AttentionForm, _ proof: AttentionOrProof) throws -> Bool {
        switch form {
        case .general: return false
        case .automatic: return proof.holds
        case .or:
            guard proof.holds else {
                throw BlockError("form = .or: \(proof.reason); use .automatic or .general for these parameters")
            }
            return true
        }
    }
}
