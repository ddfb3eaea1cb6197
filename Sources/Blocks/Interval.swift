/// A closed integer interval `[lo, hi]`: the set of values a signal can take. Every width in
/// the block library comes from one of these, so that no value can overflow its register.
///
/// Arithmetic is exact or throws: an interval whose bounds leave Int's range is a design the
/// library refuses, never one it silently wraps.
public struct Interval: Hashable, Sendable, CustomStringConvertible {
    public let lo: Int
    public let hi: Int

    public init(_ lo: Int, _ hi: Int) {
        precondition(lo <= hi, "empty interval [\(lo), \(hi)]")
        self.lo = lo
        self.hi = hi
    }

    public static func point(_ v: Int) -> Interval { Interval(v, v) }

    /// Every value of a `width`-bit unsigned or signed signal.
    public static func ofWidth(_ width: Int, signed: Bool) -> Interval {
        precondition(width >= 1 && width <= 62)
        return signed ? Interval(-(1 << (width - 1)), (1 << (width - 1)) - 1) : Interval(0, (1 << width) - 1)
    }

    public var description: String { "[\(lo), \(hi)]" }

    public func contains(_ v: Int) -> Bool { lo <= v && v <= hi }
    public func contains(_ o: Interval) -> Bool { lo <= o.lo && o.hi <= hi }

    /// Smallest interval holding both.
    public func union(_ o: Interval) -> Interval { Interval(Swift.min(lo, o.lo), Swift.max(hi, o.hi)) }

    private static func checked(_ r: (partialValue: Int, overflow: Bool), _ what: String) throws -> Int {
        if r.overflow { throw BlockError("interval arithmetic overflows 64 bits in \(what); the parameters give values too wide to build") }
        return r.partialValue
    }

    public func adding(_ o: Interval) throws -> Interval {
        Interval(try Self.checked(lo.addingReportingOverflow(o.lo), "\(self) + \(o)"),
                 try Self.checked(hi.addingReportingOverflow(o.hi), "\(self) + \(o)"))
    }

    public func subtracting(_ o: Interval) throws -> Interval {
        Interval(try Self.checked(lo.subtractingReportingOverflow(o.hi), "\(self) - \(o)"),
                 try Self.checked(hi.subtractingReportingOverflow(o.lo), "\(self) - \(o)"))
    }

    public func multiplying(_ o: Interval) throws -> Interval {
        let c = [try Self.checked(lo.multipliedReportingOverflow(by: o.lo), "\(self) * \(o)"),
                 try Self.checked(lo.multipliedReportingOverflow(by: o.hi), "\(self) * \(o)"),
                 try Self.checked(hi.multipliedReportingOverflow(by: o.lo), "\(self) * \(o)"),
                 try Self.checked(hi.multipliedReportingOverflow(by: o.hi), "\(self) * \(o)")]
        return Interval(c.min()!, c.max()!)
    }

    /// `x << n` for every x.
    public func shiftedLeft(_ n: Int) throws -> Interval {
        try multiplying(.point(try Self.checked((1 as Int).multipliedReportingOverflow(by: 1 << Swift.min(n, 62)), "<< \(n)")))
    }

    /// `x >>> n` (floor division by 2^n) for every x: monotone, so the ends map to the ends.
    public func shiftedRight(_ n: Int) -> Interval { Interval(lo >> n, hi >> n) }

    /// Bits of the narrowest signed two's-complement register holding every value.
    public var signedWidth: Int {
        func bits(_ v: Int) -> Int { v >= 0 ? (Int.bitWidth - v.leadingZeroBitCount) + 1 : (Int.bitWidth - (~v).leadingZeroBitCount) + 1 }
        return Swift.max(bits(lo), bits(hi), 1)
    }

    /// Bits of the narrowest unsigned register holding every value (requires lo >= 0).
    public var unsignedWidth: Int {
        precondition(lo >= 0, "unsigned width of an interval with negative values")
        return Swift.max(Int.bitWidth - hi.leadingZeroBitCount, 1)
    }
}
