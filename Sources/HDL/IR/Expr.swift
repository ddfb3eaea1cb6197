/// A node of a combinational expression DAG. Each node knows its own width and signedness,
/// computed once when the node is made (as in Amaranth's `Shape`), so no width-inference pass
/// has to be kept in sync with the operators.
///
/// Operators never trap. A node whose operands do not fit together (mixed signedness, a slice
/// out of range, ...) is built anyway with `problem` set; the `CheckExpressions` pass reports it
/// with the Swift source line that made it.
public final class Expr: @unchecked Sendable {
    public enum Op: Sendable {
        case const(Bits)
        case signal(Signal)
        /// Output `port` of a submodule instance.
        case instanceOutput(Instance, port: Signal)
        /// Combinational read `memory[args[0]]`.
        case memoryRead(Memory)
        /// The register that a synchronous memory read loads (`rdata <= memory[addr]`).
        case memorySyncRead(MemorySyncRead)
        case unary(UnaryOp)
        case binary(BinaryOp)
        /// Bits `hi` down to `lo` of `args[0]`; unsigned.
        case slice(hi: Int, lo: Int)
        /// `args[0]` is most significant; unsigned.
        case concat
        /// `args[0] ? args[1] : args[2]`.
        case mux
        /// Zero- or sign-extension (by the operand's signedness) to `width`.
        case extend
        /// Keeps the low `width` bits: an explicit wrap.
        case truncate
        /// Same bits, other signedness.
        case reinterpret
        /// Shift left by a constant: width grows by `n`.
        case shiftLeft(Int)
        /// Shift right by a constant: logical for unsigned, arithmetic for signed; width shrinks.
        case shiftRight(Int)
    }

    public enum UnaryOp: String, Sendable { case not, andReduce, orReduce, xorReduce }

    public enum BinaryOp: String, Sendable {
        case addWiden, addWrap, subWiden, subWrap, mul
        case and, or, xor
        case eq, ne, lt, le, gt, ge
        /// Shift by a run-time amount (`args[1]`, unsigned); width stays that of `args[0]`.
        case dynShiftLeft, dynShiftRight

        public var isComparison: Bool {
            switch self {
            case .eq, .ne, .lt, .le, .gt, .ge: return true
            default: return false
            }
        }
    }

    public let op: Op
    public private(set) var args: [Expr]
    public let width: Int
    public let isSigned: Bool
    public let loc: SourceLoc
    /// Why this node is ill-formed, if it is.
    public let problem: String?

    init(_ op: Op, _ args: [Expr], width: Int, signed: Bool, loc: SourceLoc, problem: String? = nil) {
        self.op = op
        self.args = args
        self.width = max(width, 1)
        self.isSigned = signed
        self.loc = loc
        self.problem = problem
    }

    /// Frees long operand chains without recursion: a 100k-deep chain would otherwise release
    /// node by node on the stack and overflow it.
    deinit {
        guard !args.isEmpty else { return }
        var pending = args
        args = []
        while var e = pending.popLast() {
            if isKnownUniquelyReferenced(&e) {
                pending.append(contentsOf: e.args)
                e.args = []
            }
        }
    }

    /// The signal this expression reads directly, if it is a plain signal reference.
    public var signal: Signal? {
        if case .signal(let s) = op { return s }
        return nil
    }

    public var constValue: Bits? {
        if case .const(let b) = op { return b }
        return nil
    }

    /// A short type description for error messages, e.g. `8-bit signed`.
    public var typeDescription: String { "\(width)-bit \(isSigned ? "signed" : "unsigned")" }
}

extension Expr {
    // MARK: Constants

    /// A constant of the given width. A value that does not fit makes an ill-formed node.
    public static func const(_ value: Int, width: Int, signed: Bool = false,
                             fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        guard width >= 1 else {
            return Expr(.const(.zero(1)), [], width: 1, signed: signed, loc: loc,
                        problem: "constant \(value) has width \(width); widths start at 1")
        }
        let problem = Bits.fits(value, width: width, signed: signed) ? nil
            : "constant \(value) does not fit \(width) \(signed ? "signed" : "unsigned") bits"
        return Expr(.const(Bits(width: width, truncating: value)), [], width: width, signed: signed,
                    loc: loc, problem: problem)
    }

    /// A constant bit pattern of any width.
    public static func const(_ bits: Bits, signed: Bool = false,
                             fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        Expr(.const(bits), [], width: bits.width, signed: signed, loc: SourceLoc(fileID: fileID, line: line, function: function))
    }

    /// The smallest unsigned constant that holds `value` (>= 0).
    public static func const(_ value: Int, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let width = value > 0 ? (Int.bitWidth - value.leadingZeroBitCount) : 1
        return .const(value, width: max(width, 1), signed: false, fileID: fileID, line: line, function: function)
    }
}
