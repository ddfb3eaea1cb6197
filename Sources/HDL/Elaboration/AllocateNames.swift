/// Gives every net of every module a stable, readable, unique Verilog name, and decides which
/// expression nodes become wires of their own.
///
/// Order of claims, per module: ports (kept exactly), then signals, memories, synchronous read
/// registers, instances and instance outputs in creation order, then expression wires as the
/// statements are walked. A node assigned straight to a wire or output takes that net's name;
/// any other operator node becomes a wire named after the statement that reads it
/// (`acc_next_add`, `sum_cat_1`). The same design always gets the same names.
public struct AllocateNames: ElaborationPass {
    public var name: String { "allocate-names" }

    public func run(_ design: inout Design) -> [Diagnostic] {
        for m in design.modules {
            design.netlists[ObjectIdentifier(m)] = Netlist(module: m)
        }
        return []
    }
}

/// The names of one module's nets, and the expression nodes that are emitted as wires.
public struct Netlist: @unchecked Sendable {
    public private(set) var signalNames: [Signal: String] = [:]
    public private(set) var memoryNames: [Memory: String] = [:]
    public private(set) var syncReadNames: [ObjectIdentifier: String] = [:]
    public private(set) var instanceNames: [Instance: String] = [:]
    /// Wire holding output `port` of instance `inst`: key `InstancePortKey`.
    public private(set) var instanceOutputNames: [InstancePortKey: String] = [:]
    /// Names of operator nodes: their own wire, or the net they are assigned to.
    public private(set) var exprNames: [ObjectIdentifier: String] = [:]
    /// Operator nodes declared as wires of their own, operands before users.
    public private(set) var temps: [Expr] = []
    /// Nodes whose operator is written directly into the assignment of the net named after them.
    public private(set) var inlinedRoots: Set<ObjectIdentifier> = []
    /// Where each wire-producing node was made: its own line, or its statement's line when an
    /// operator symbol made it.
    public private(set) var exprLocs: [ObjectIdentifier: SourceLoc] = [:]

    public struct InstancePortKey: Hashable, Sendable {
        public let instance: ObjectIdentifier
        public let port: ObjectIdentifier
        public init(_ inst: Instance, _ portSignal: Signal) {
            instance = ObjectIdentifier(inst)
            port = ObjectIdentifier(portSignal)
        }
    }

    init(module m: Module) {
        var ns = Namespace(reserved: VerilogNames.implicitPorts)
        for s in m.signals where s.isPort { signalNames[s] = ns.claim(s.name) }
        for s in m.signals where !s.isPort { signalNames[s] = ns.claim(s.name) }
        for mem in m.memories { memoryNames[mem] = ns.claim(mem.name) }
        for r in m.syncReads { syncReadNames[ObjectIdentifier(r)] = ns.claim(r.name) }
        for inst in m.instances { instanceNames[inst] = ns.claim(inst.name) }
        for inst in m.instances {
            for p in inst.module.outputs {
                instanceOutputNames[InstancePortKey(inst, p)] = ns.claim("\(inst.name)_\(p.name)")
            }
        }
        for root in StatementWalk.roots(of: m) {
            StatementWalk.postOrder([root.expr]) { e in
                guard Netlist.needsWire(e), exprNames[ObjectIdentifier(e)] == nil else { return }
                exprLocs[ObjectIdentifier(e)] = e.loc.or(root.loc)
                if e === root.expr, let t = root.target, let tn = signalNames[t] {
                    exprNames[ObjectIdentifier(e)] = tn
                    inlinedRoots.insert(ObjectIdentifier(e))
                } else {
                    exprNames[ObjectIdentifier(e)] = ns.claim("\(root.hint)_\(Netlist.opName(e))")
                    temps.append(e)
                }
            }
        }
    }

    /// Operator nodes need a wire; leaves (constants, nets, instance outputs, read registers)
    /// and reinterpretations (same bits) do not.
    static func needsWire(_ e: Expr) -> Bool {
        switch e.op {
        case .const, .signal, .instanceOutput, .memorySyncRead, .reinterpret: return false
        default: return true
        }
    }

    /// The name of the net that carries `e`, or nil for a constant.
    public func name(of e: Expr) -> String? {
        switch e.op {
        case .const: return nil
        case .signal(let s): return signalNames[s]
        case .instanceOutput(let inst, let port): return instanceOutputNames[InstancePortKey(inst, port)]
        case .memorySyncRead(let r): return syncReadNames[ObjectIdentifier(r)]
        case .reinterpret: return name(of: e.args[0])
        default: return exprNames[ObjectIdentifier(e)]
        }
    }

    static func opName(_ e: Expr) -> String {
        switch e.op {
        case .unary(let u):
            switch u {
            case .not: return "not"
            case .andReduce: return "and_r"
            case .orReduce: return "or_r"
            case .xorReduce: return "xor_r"
            }
        case .binary(let b):
            switch b {
            case .addWiden, .addWrap: return "add"
            case .subWiden, .subWrap: return "sub"
            case .mul: return "mul"
            case .and: return "and"
            case .or: return "or"
            case .xor: return "xor"
            case .eq: return "eq"
            case .ne: return "ne"
            case .lt: return "lt"
            case .le: return "le"
            case .gt: return "gt"
            case .ge: return "ge"
            case .dynShiftLeft: return "shl"
            case .dynShiftRight: return "shr"
            }
        case .slice: return "bits"
        case .concat: return "cat"
        case .mux: return "mux"
        case .extend: return "ext"
        case .truncate: return "trunc"
        case .shiftLeft: return "shl"
        case .shiftRight: return "shr"
        case .memoryRead: return "rd"
        default: return "val"
        }
    }
}
