import Foundation
@testable import Golden

/// A seed for a randomised test: `QKFORGE_SEED` if set, otherwise a fresh one. It is printed so
/// that any failure can be replayed with `QKFORGE_SEED=<seed> swift test ...`.
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
        seed = UInt64.random(in: 0...UInt64.max)
    }
    print("seed", seed, "(\(test); replay with QKFORGE_SEED=\(seed))")
    return seed
}
