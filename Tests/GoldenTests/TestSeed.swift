import Foundation
@testable import Golden

/// A seed for a randomised test: `QKFORGE_SEED` if set, otherwise a fixed one derived from the
/// test's name, so that CI is repeatable (the same policy as CosimTests' `TestSeed`). It is
/// printed so that any failure can be replayed with `QKFORGE_SEED=<seed> swift test ...`; set
/// `QKFORGE_SEED` to a new value to explore.
struct TestSeedError: Error, CustomStringConvertible {
    let description: String
}

func testSeed(_ test: String) throws -> UInt64 {
    let seed: UInt64
    if let text = ProcessInfo.processInfo.environment["QKFORGE_SEED"] {
        guard let value = UInt64(text) else {
            throw TestSeedError(description: "QKFORGE_SEED=\(text) is not an unsigned 64-bit integer")
        }
        seed = value
    } else {
        // FNV-1a of the test's name: a stable default that differs between tests.
        seed = test.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
    print("seed", seed, "(\(test); replay with QKFORGE_SEED=\(seed))")
    return seed
}
