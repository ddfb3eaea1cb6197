import Foundation

/// Seeds of randomised tests: fixed by default so CI is repeatable, overridden with
/// `QKFORGE_SEED` to explore or to replay a printed seed.
enum TestSeed {
    static func value(default d: UInt64) -> UInt64 {
        if let s = ProcessInfo.processInfo.environment["QKFORGE_SEED"], let v = UInt64(s) { return v }
        return d
    }
}
