/// Elaboration: the visible, ordered list of passes that turns a module under construction into
/// a checked, named design ready for emission and simulation. Reading `passes` tells the whole
/// story, as SpinalHDL's phase list does.
public enum Elaborate {
    public static let passes: [any ElaborationPass] = [
        CollectHierarchy(),
        CheckExpressions(),
        CheckPortNames(),
        CheckWidths(),
        CheckDrivers(),
        CheckCombinationalLoops(),
        InferClockAndReset(),
        AllocateNames(),
    ]

    /// Runs every pass on the hierarchy below `top`. Throws the first pass's diagnostics.
    public static func run(_ top: Module) throws -> Design {
        var design = Design(top: top)
        for pass in passes {
            let found = pass.run(&design)
            if !found.isEmpty {
                throw ElaborationError(pass: pass.name, diagnostics: found)
            }
        }
        return design
    }
}

/// A step of elaboration. It reads and extends the design and returns the problems it found.
public protocol ElaborationPass: Sendable {
    var name: String { get }
    func run(_ design: inout Design) -> [Diagnostic]
}

/// The elaborated hierarchy: every module once, children before parents, with what the passes
/// learned about each.
public struct Design: @unchecked Sendable {
    public let top: Module
    /// Every module of the hierarchy once, children before their parents; `top` is last.
    public internal(set) var modules: [Module] = []
    /// Unique, legal Verilog module names.
    public internal(set) var moduleNames: [ObjectIdentifier: String] = [:]
    /// For each module, for each output port index, the input ports it depends on
    /// combinationally (used by the loop check of the modules above).
    public internal(set) var combinationalPaths: [ObjectIdentifier: [Signal: Set<Signal>]] = [:]
    public internal(set) var needsClock: Set<ObjectIdentifier> = []
    public internal(set) var needsReset: Set<ObjectIdentifier> = []
    public internal(set) var netlists: [ObjectIdentifier: Netlist] = [:]

    init(top: Module) { self.top = top }

    public func verilogName(_ m: Module) -> String { moduleNames[ObjectIdentifier(m)] ?? m.name }
    public func netlist(_ m: Module) -> Netlist { netlists[ObjectIdentifier(m)]! }
    public func hasClock(_ m: Module) -> Bool { needsClock.contains(ObjectIdentifier(m)) }
    public func hasReset(_ m: Module) -> Bool { needsReset.contains(ObjectIdentifier(m)) }
}

/// Walks a module's statements: every expression that something in the module reads, with a
/// naming hint and the line that made the statement.
struct StatementWalk {
    struct Root {
        let expr: Expr
        let hint: String
        /// The signal this expression drives directly, if any (`assign target = expr`).
        let target: Signal?
        /// The line of the statement, for nodes made by operator symbols.
        let loc: SourceLoc
    }

    static func roots(of m: Module) -> [Root] {
        var out: [Root] = []
        for a in m.assignments {
            let t = a.target.signal
            out.append(Root(expr: a.value, hint: t?.name ?? "value", target: t, loc: a.loc))
        }
        for u in m.updates {
            let t = u.target.signal?.name ?? "reg"
            out.append(Root(expr: u.value, hint: "\(t)_next", target: nil, loc: u.loc))
            if let e = u.enable { out.append(Root(expr: e, hint: "\(t)_en", target: nil, loc: u.loc)) }
        }
        for mem in m.memories {
            if let w = mem.writePort {
                out.append(Root(expr: w.address, hint: "\(mem.name)_waddr", target: nil, loc: w.loc))
                out.append(Root(expr: w.data, hint: "\(mem.name)_wdata", target: nil, loc: w.loc))
                out.append(Root(expr: w.enable, hint: "\(mem.name)_we", target: nil, loc: w.loc))
            }
        }
        for r in m.syncReads {
            out.append(Root(expr: r.address, hint: "\(r.name)_addr", target: nil, loc: r.loc))
            out.append(Root(expr: r.enable, hint: "\(r.name)_en", target: nil, loc: r.loc))
        }
        for inst in m.instances {
            for c in inst.connections {
                out.append(Root(expr: c.value, hint: "\(inst.name)_\(c.portName)", target: nil, loc: c.loc))
            }
        }
        return out
    }

    /// Every distinct node reachable from `roots`, operands before users (iterative, so deep
    /// chains do not exhaust the stack).
    static func postOrder(_ roots: [Expr], visit: (Expr) -> Void) {
        var seen = Set<ObjectIdentifier>()
        var stack: [(Expr, Int)] = []
        for r in roots {
            if seen.contains(ObjectIdentifier(r)) { continue }
            seen.insert(ObjectIdentifier(r))
            stack.append((r, 0))
            while let (e, i) = stack.last {
                if i < e.args.count {
                    stack[stack.count - 1].1 = i + 1
                    let a = e.args[i]
                    if !seen.contains(ObjectIdentifier(a)) {
                        seen.insert(ObjectIdentifier(a))
                        stack.append((a, 0))
                    }
                } else {
                    stack.removeLast()
                    visit(e)
                }
            }
        }
    }
}
