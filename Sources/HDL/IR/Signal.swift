/// A named net of a module: a port, a wire or a register.
///
/// Signals are created through `Module` (`input`, `output`, `wire`, `reg`), which hands back an
/// `Expr` that reads the signal. A signal's identity is its object identity; its `name` is only a
/// hint until `AllocateNames` gives it a legal, unique Verilog name.
public final class Signal: Hashable, @unchecked Sendable {
    public enum Kind: String, Sendable {
        case input, output, wire, reg

        /// The word used in messages.
        public var label: String { self == .reg ? "register" : rawValue }
    }

    public let name: String
    public let width: Int
    public let isSigned: Bool
    public let kind: Kind
    public let loc: SourceLoc
    /// Value after a synchronous reset, for registers that have one.
    public let resetValue: Bits?
    /// Order of creation within its module; keeps every traversal deterministic.
    public let index: Int
    public unowned let module: Module

    init(name: String, width: Int, isSigned: Bool, kind: Kind, loc: SourceLoc,
         resetValue: Bits?, index: Int, module: Module) {
        self.name = name
        self.width = width
        self.isSigned = isSigned
        self.kind = kind
        self.loc = loc
        self.resetValue = resetValue
        self.index = index
        self.module = module
    }

    public static func == (a: Signal, b: Signal) -> Bool { a === b }
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }

    public var isPort: Bool { kind == .input || kind == .output }
}
