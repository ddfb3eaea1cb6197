import Foundation

/// A small seeded random generator (SplitMix64), so the benchmark and the randomised tests are
/// reproducible from a printed seed (the system generator cannot be seeded). Internal on
/// purpose: HDL exports a public generator of the same name, and modules importing both
/// layers (Cosim, CLI) must not see two.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private(set) var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
