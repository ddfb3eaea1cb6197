import Foundation

/// The project's one seed policy for randomised runs (tests, soaks, benchmarks): a fixed seed by
/// default, so that CI is repeatable, overridden with `QKFORGE_SEED` to explore or to replay a
/// printed seed. Every seed feeds `SplitMix64`.
public enum TestSeed {
    /// `QKFORGE_SEED` if set, else `d`.
    public static func value(default d: UInt64) -> UInt64 {
        if let s = ProcessInfo.processInfo.environment["QKFORGE_SEED"], let v = UInt64(s) { return v }
        return d
    }

    /// `QKFORGE_SEED` if set, else a stable default derived from `test` (FNV-1a of its name, so
    /// that tests differ); printed with the line that replays it.
    public static func named(_ test: String) throws -> UInt64 {
        let seed: UInt64
        if let text = ProcessInfo.processInfo.environment["QKFORGE_SEED"] {
            guard let value = UInt64(text) else {
                throw ConfigError(field: "QKFORGE_SEED", "\(text) is not an unsigned 64-bit integer; unset it or give one")
            }
            seed = value
        } else {
            seed = test.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        }
        print("seed", seed, "(\(test); replay with QKFORGE_SEED=\(seed))")
        return seed
    }
}
