import Foundation

/// The work an event-driven linear layer did (docs/arithmetic.md §3), for the cost model.
///
/// The hardware's cycles follow input events, not `C_in`: a zero input costs nothing, and a
/// non-zero count adds its weight row (times the count) once.
public struct SynapticOps: Hashable, Sendable, CustomStringConvertible {
    /// Non-zero inputs (one per input channel with a non-zero count, whatever the count).
    public var events: Int
    /// Accumulator additions: `events * C_out`.
    public var adds: Int
    /// The sum of the input counts (= events on a 0/1 spike stream; more on a SEW residual stream),
    /// for cost models that charge a count `m` as `m` additions.
    public var countSum: Int

    public init(events: Int = 0, adds: Int = 0, countSum: Int = 0) {
        self.events = events
        self.adds = adds
        self.countSum = countSum
    }

    public static func + (a: SynapticOps, b: SynapticOps) -> SynapticOps {
        SynapticOps(events: a.events + b.events, adds: a.adds + b.adds, countSum: a.countSum + b.countSum)
    }

    public static func += (a: inout SynapticOps, b: SynapticOps) { a = a + b }

    public var description: String { "\(events) events, \(adds) adds, count sum \(countSum)" }
}
