/// One use of a submodule inside a module.
///
/// Inputs are connected with `connect(_:_:)`; outputs are read with `output(_:)`, which gives an
/// expression of the port's width. Every input must be connected exactly once (`CheckDrivers`).
public final class Instance: Hashable, @unchecked Sendable {
    public let name: String
    public let module: Module
    public let loc: SourceLoc
    public let index: Int
    public unowned let parent: Module

    public struct Connection: @unchecked Sendable {
        public let portName: String
        public let value: Expr
        public let loc: SourceLoc
    }
    public internal(set) var connections: [Connection] = []

    init(name: String, module: Module, loc: SourceLoc, index: Int, parent: Module) {
        self.name = name
        self.module = module
        self.loc = loc
        self.index = index
        self.parent = parent
    }

    /// Drives input port `port` of the submodule with `value`.
    public func connect(_ port: String, _ value: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) {
        connections.append(Connection(portName: port, value: value, loc: SourceLoc(fileID: fileID, line: line, function: function)))
    }

    /// Reads output port `port`. An unknown port makes an ill-formed expression that
    /// elaboration reports.
    public func output(_ port: String, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        if let s = module.ports.first(where: { $0.name == port && $0.kind == .output }) {
            return Expr(.instanceOutput(self, port: s), [], width: s.width, signed: s.isSigned, loc: loc)
        }
        let known = module.ports.filter { $0.kind == .output }.map(\.name).joined(separator: ", ")
        return Expr(.const(.zero(1)), [], width: 1, signed: false, loc: loc,
                    problem: "module '\(module.name)' has no output port '\(port)' (outputs: \(known))")
    }

    public static func == (a: Instance, b: Instance) -> Bool { a === b }
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }
}
