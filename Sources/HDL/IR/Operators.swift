// Expression operators. Operators that can grow a value say so: `+&` widens by one bit and
// `+%` wraps at the wider operand's width, as in Chisel. Nothing narrows without `truncate`.
//
// Swift operators cannot take `#fileID`/`#line` defaults, so nodes made with an operator symbol
// carry `SourceLoc.unknown` and are attributed to the statement (`assign`, `next`, ...) that
// uses them. The named methods (`add`, `and`, ...) record their own line.

precedencegroup HDLAdditionPrecedence {
    associativity: left
    higherThan: ComparisonPrecedence
    lowerThan: MultiplicationPrecedence
}
infix operator +& : HDLAdditionPrecedence
infix operator +% : HDLAdditionPrecedence
infix operator -& : HDLAdditionPrecedence
infix operator -% : HDLAdditionPrecedence

extension Expr {
    fileprivate static func binary(_ op: BinaryOp, _ a: Expr, _ b: Expr, loc: SourceLoc) -> Expr {
        var problem = a.problem ?? b.problem
        if problem == nil, a.isSigned != b.isSigned, op != .dynShiftLeft, op != .dynShiftRight {
            problem = "operator \(op.rawValue) mixes \(a.typeDescription) (\(a.loc)) and \(b.typeDescription) (\(b.loc)); convert one side with asSigned()/asUnsigned()"
        }
        let w = max(a.width, b.width)
        switch op {
        case .addWiden, .subWiden:
            return Expr(.binary(op), [a, b], width: w + 1, signed: a.isSigned, loc: loc, problem: problem)
        case .addWrap, .subWrap, .and, .or, .xor:
            return Expr(.binary(op), [a, b], width: w, signed: a.isSigned, loc: loc, problem: problem)
        case .mul:
            return Expr(.binary(op), [a, b], width: a.width + b.width, signed: a.isSigned, loc: loc, problem: problem)
        case .eq, .ne, .lt, .le, .gt, .ge:
            return Expr(.binary(op), [a, b], width: 1, signed: false, loc: loc, problem: problem)
        case .dynShiftLeft, .dynShiftRight:
            if problem == nil, b.isSigned {
                problem = "shift amount must be unsigned, got \(b.typeDescription) (\(b.loc))"
            }
            if problem == nil, b.width > 16 {
                problem = "shift amount of \(b.width) bits is wider than any sensible shift (16 bits at most)"
            }
            return Expr(.binary(op), [a, b], width: a.width, signed: a.isSigned, loc: loc, problem: problem)
        }
    }

    /// Sum, one bit wider than the wider operand: never overflows.
    public static func +& (a: Expr, b: Expr) -> Expr { a.add(b, fileID: SourceLoc.unknown.fileID, line: 0) }
    /// Sum wrapped to the wider operand's width.
    public static func +% (a: Expr, b: Expr) -> Expr { a.addWrap(b, fileID: SourceLoc.unknown.fileID, line: 0) }
    /// Difference, one bit wider than the wider operand. For unsigned operands a negative
    /// difference wraps in that width; use signed operands for signed differences.
    public static func -& (a: Expr, b: Expr) -> Expr { a.sub(b, fileID: SourceLoc.unknown.fileID, line: 0) }
    /// Difference wrapped to the wider operand's width.
    public static func -% (a: Expr, b: Expr) -> Expr { a.subWrap(b, fileID: SourceLoc.unknown.fileID, line: 0) }
    /// Full product: width is the sum of the operand widths.
    public static func * (a: Expr, b: Expr) -> Expr { a.mul(b, fileID: SourceLoc.unknown.fileID, line: 0) }
    public static func & (a: Expr, b: Expr) -> Expr { a.and(b, fileID: SourceLoc.unknown.fileID, line: 0) }
    public static func | (a: Expr, b: Expr) -> Expr { a.or(b, fileID: SourceLoc.unknown.fileID, line: 0) }
    public static func ^ (a: Expr, b: Expr) -> Expr { a.xor(b, fileID: SourceLoc.unknown.fileID, line: 0) }
    public static prefix func ~ (a: Expr) -> Expr { a.not(fileID: SourceLoc.unknown.fileID, line: 0) }

    public func add(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.addWiden, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func addWrap(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.addWrap, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func sub(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.subWiden, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func subWrap(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.subWrap, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func mul(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.mul, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func and(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.and, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func or(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.or, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func xor(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.xor, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func eq(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.eq, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func ne(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.ne, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func lt(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.lt, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func le(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.le, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func gt(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.gt, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    public func ge(_ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.ge, self, b, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    /// Shift left by a run-time amount, wrapping at this operand's width.
    public func shiftLeft(by amount: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.dynShiftLeft, self, amount, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }
    /// Shift right by a run-time amount: arithmetic when signed, logical when unsigned.
    public func shiftRight(by amount: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        .binary(.dynShiftRight, self, amount, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }

    public func not(fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        Expr(.unary(.not), [self], width: width, signed: isSigned,
             loc: SourceLoc(fileID: fileID, line: line, function: function), problem: problem)
    }
    public func andReduce(fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        Expr(.unary(.andReduce), [self], width: 1, signed: false, loc: SourceLoc(fileID: fileID, line: line, function: function), problem: problem)
    }
    public func orReduce(fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        Expr(.unary(.orReduce), [self], width: 1, signed: false, loc: SourceLoc(fileID: fileID, line: line, function: function), problem: problem)
    }
    public func xorReduce(fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        Expr(.unary(.xorReduce), [self], width: 1, signed: false, loc: SourceLoc(fileID: fileID, line: line, function: function), problem: problem)
    }

    /// Negation, one bit wider so that the most negative value negates exactly.
    public func negate(fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        Expr.const(0, width: 1, signed: isSigned, fileID: fileID, line: line, function: function).sub(self, fileID: fileID, line: line, function: function)
    }

    /// Shift left by a constant: the result is `n` bits wider, so no bit is lost.
    public func shiftLeft(_ n: Int, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        let problem = self.problem ?? (n < 0 ? "shift left by negative amount \(n)" : nil)
        return Expr(.shiftLeft(max(n, 0)), [self], width: width + max(n, 0), signed: isSigned, loc: loc, problem: problem)
    }

    /// Shift right by a constant: floor division by `2^n` (arithmetic for signed values). The
    /// result drops the `n` shifted-out bits, keeping at least one bit.
    public func shiftRight(_ n: Int, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        let problem = self.problem ?? (n < 0 ? "shift right by negative amount \(n)" : nil)
        return Expr(.shiftRight(max(n, 0)), [self], width: max(width - max(n, 0), 1), signed: isSigned, loc: loc, problem: problem)
    }

    /// Bits `hi` down to `lo`, unsigned.
    public func slice(_ hi: Int, _ lo: Int, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        var problem = self.problem
        if problem == nil, !(0 <= lo && lo <= hi && hi < width) {
            problem = "slice [\(hi):\(lo)] is out of range for a \(typeDescription) value (\(self.loc))"
        }
        return Expr(.slice(hi: hi, lo: lo), [self], width: hi - lo + 1, signed: false, loc: loc, problem: problem)
    }

    /// Bit `i`, unsigned.
    public func bit(_ i: Int, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        slice(i, i, fileID: fileID, line: line, function: function)
    }

    /// Zero- or sign-extension (by signedness) to `width`, which must not be narrower.
    public func extend(to newWidth: Int, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        if newWidth == width, problem == nil { return self }
        let problem = self.problem ?? (newWidth < width
            ? "extend to \(newWidth) bits would narrow a \(typeDescription) value (\(self.loc)); use truncate(to:) to wrap on purpose"
            : nil)
        return Expr(.extend, [self], width: newWidth, signed: isSigned, loc: loc, problem: problem)
    }

    /// The low `width` bits: an explicit, visible wrap. Keeps signedness.
    public func truncate(to newWidth: Int, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        if newWidth == width, problem == nil { return self }
        let problem = self.problem ?? (newWidth > width || newWidth < 1
            ? "truncate to \(newWidth) bits of a \(typeDescription) value (\(self.loc)); use extend(to:) to widen"
            : nil)
        return Expr(.truncate, [self], width: newWidth, signed: isSigned, loc: loc, problem: problem)
    }

    /// The same bits read as signed two's complement.
    public func asSigned(fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        if isSigned { return self }
        return Expr(.reinterpret, [self], width: width, signed: true, loc: SourceLoc(fileID: fileID, line: line, function: function), problem: problem)
    }

    /// The same bits read as unsigned.
    public func asUnsigned(fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        if !isSigned { return self }
        return Expr(.reinterpret, [self], width: width, signed: false, loc: SourceLoc(fileID: fileID, line: line, function: function), problem: problem)
    }

    /// Clamps this value into a `newWidth`-bit range of the same signedness: values above the
    /// largest representable become the largest, values below the smallest become the smallest.
    /// This is the saturation that forced widths use; a wider result is just an extension.
    public func saturate(to newWidth: Int, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        if newWidth >= width { return extend(to: newWidth, fileID: fileID, line: line, function: function) }
        let maxBits: Bits, minBits: Bits
        if isSigned {
            // max = 0111..1, min = 1000..0 in newWidth bits.
            maxBits = Bits(width: newWidth, truncating: Bits.allOnes(newWidth - 1).words)
            var minWords = [UInt64](repeating: 0, count: (newWidth + 63) / 64)
            minWords[(newWidth - 1) / 64] = UInt64(1) << UInt64((newWidth - 1) % 64)
            minBits = Bits(width: newWidth, truncating: minWords)
        } else {
            maxBits = Bits.allOnes(newWidth)
            minBits = Bits.zero(newWidth)
        }
        let hiC = Expr.const(maxBits, signed: isSigned, fileID: fileID, line: line, function: function).extend(to: width, fileID: fileID, line: line, function: function)
        let loC = Expr.const(minBits, signed: isSigned, fileID: fileID, line: line, function: function).extend(to: width, fileID: fileID, line: line, function: function)
        let low = truncate(to: newWidth, fileID: fileID, line: line, function: function)
        let clampedHigh = mux(gt(hiC, fileID: fileID, line: line, function: function),
                              Expr.const(maxBits, signed: isSigned, fileID: fileID, line: line, function: function), low, fileID: fileID, line: line, function: function)
        if !isSigned { return clampedHigh }
        return mux(lt(loC, fileID: fileID, line: line, function: function),
                   Expr.const(minBits, signed: true, fileID: fileID, line: line, function: function), clampedHigh, fileID: fileID, line: line, function: function)
    }
}

extension Bits {
    /// `width` one bits.
    public static func allOnes(_ width: Int) -> Bits {
        Bits(width: max(width, 1), truncating: [UInt64](repeating: ~0, count: (max(width, 1) + 63) / 64))
    }
}

/// `{parts[0], parts[1], ...}`: the first part is most significant. Unsigned.
public func cat(_ parts: [Expr], fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
    let loc = SourceLoc(fileID: fileID, line: line, function: function)
    guard !parts.isEmpty else {
        return Expr(.const(.zero(1)), [], width: 1, signed: false, loc: loc, problem: "concatenation of no parts")
    }
    return Expr(.concat, parts, width: parts.reduce(0) { $0 + $1.width }, signed: false, loc: loc,
                problem: parts.lazy.compactMap(\.problem).first)
}

public func cat(_ parts: Expr..., fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
    cat(parts, fileID: fileID, line: line, function: function)
}

/// `sel ? a : b`. `sel` is one bit; the arms are extended to the wider of the two.
public func mux(_ sel: Expr, _ a: Expr, _ b: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
    let loc = SourceLoc(fileID: fileID, line: line, function: function)
    var problem = sel.problem ?? a.problem ?? b.problem
    if problem == nil, sel.width != 1 {
        problem = "mux select must be 1 bit, got \(sel.typeDescription) (\(sel.loc))"
    }
    if problem == nil, a.isSigned != b.isSigned {
        problem = "mux arms mix \(a.typeDescription) (\(a.loc)) and \(b.typeDescription) (\(b.loc)); convert one with asSigned()/asUnsigned()"
    }
    return Expr(.mux, [sel, a, b], width: max(a.width, b.width), signed: a.isSigned, loc: loc, problem: problem)
}
