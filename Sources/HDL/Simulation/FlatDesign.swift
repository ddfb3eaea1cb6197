/// An elaborated design with its instance hierarchy flattened: one node for every value of every
/// instance, with nets, ports, instance outputs and reinterpretations resolved to the node that
/// computes them.
///
/// Each instance path is a *context*, and gets its own copy of its module's nodes, registers
/// and memories. A child's input port is the parent's connected expression; a parent's read of
/// an instance output is the child's output net.
struct FlatDesign {
    struct Context {
        let module: Module
        /// Dotted instance path below the top (`""` for the top itself).
        let path: String
    }

    enum Kind {
        /// Not driven yet; a node left pending after building is an undriven net.
        case pending
        /// The same value as another node (a net, a port, a reinterpretation).
        case alias(Int)
        /// Holds state across evaluations: a register, a synchronous read register or a top input.
        case state
        case constant(Bits)
        /// An operator over `args` (node indices). `memory` indexes `memories` for a read.
        case op(Expr, memory: Int, args: [Int])
    }

    struct Node {
        var kind: Kind
        let width: Int
        let isSigned: Bool
        /// What to call the node in error messages.
        let label: String
    }

    struct Register {
        let node: Int
        let next: Int
        let enable: Int?
        let reset: Bits?
    }

    struct MemoryInstance {
        let memory: Memory
        let path: String
    }

    struct WritePort {
        let memory: Int
        let address: Int
        let data: Int
        let enable: Int
    }

    struct SyncRead {
        let memory: Int
        let node: Int
        let address: Int
        let enable: Int
    }

    private struct Key: Hashable {
        let context: Int
        let object: ObjectIdentifier
    }

    private(set) var contexts: [Context] = []
    private(set) var nodes: [Node] = []
    private(set) var registers: [Register] = []
    private(set) var memories: [MemoryInstance] = []
    private(set) var writePorts: [WritePort] = []
    private(set) var syncReads: [SyncRead] = []
    /// The top's ports in simulator order (`rst` first when present), with their nodes.
    private(set) var inputs: [(port: SimPort, node: Int)] = []
    private(set) var outputs: [(port: SimPort, node: Int)] = []
    private(set) var resetNode: Int?
    /// Named nets for `peek`: top-level names plain, deeper ones as `instance.path.name`.
    private(set) var names: [String: Int] = [:]
    /// Memories by dotted name, for inspection.
    private(set) var memoryNames: [String: Int] = [:]

    /// For each node, the node that computes its value (itself unless it is an alias).
    private(set) var representative: [Int] = []
    /// Operator nodes that are representatives, operands before users.
    private(set) var order: [Int] = []

    private var signalNodes: [Key: Int] = [:]
    private var syncReadNodes: [Key: Int] = [:]
    private var exprNodes: [Key: Int] = [:]
    private var memoryIndex: [Key: Int] = [:]
    private var childContext: [Key: Int] = [:]

    init(_ design: Design) throws {
        buildContexts(design)
        for c in contexts.indices { addNets(context: c, design: design, isTop: c == 0) }
        for c in contexts.indices { try addExpressions(context: c) }
        for c in contexts.indices { try connect(context: c) }
        try addTopPorts(design)
        addNames(design)
        try resolveAliases()
        try sortOperators()
    }

    // MARK: Building

    private mutating func newNode(_ kind: Kind, width: Int, signed: Bool, label: String) -> Int {
        nodes.append(Node(kind: kind, width: width, isSigned: signed, label: label))
        return nodes.count - 1
    }

    private static func join(_ path: String, _ name: String) -> String {
        path.isEmpty ? name : "\(path).\(name)"
    }

    /// Every instance path, parents before children (iterative, so deep hierarchies are fine).
    private mutating func buildContexts(_ design: Design) {
        contexts = [Context(module: design.top, path: "")]
        var next = 0
        while next < contexts.count {
            let ctx = contexts[next]
            let names = design.netlists[ObjectIdentifier(ctx.module)]
            for inst in ctx.module.instances {
                let name = names?.instanceNames[inst] ?? inst.name
                contexts.append(Context(module: inst.module, path: Self.join(ctx.path, name)))
                childContext[Key(context: next, object: ObjectIdentifier(inst))] = contexts.count - 1
            }
            next += 1
        }
    }

    private mutating func addNets(context c: Int, design: Design, isTop: Bool) {
        let ctx = contexts[c]
        let m = ctx.module
        let netlist = design.netlists[ObjectIdentifier(m)]
        for s in m.signals {
            let kind: Kind = s.kind == .reg || (s.kind == .input && isTop) ? .state : .pending
            let name = netlist?.signalNames[s] ?? s.name
            let node = newNode(kind, width: s.width, signed: s.isSigned,
                               label: "\(s.kind.rawValue) '\(Self.join(ctx.path, name))' (\(s.loc))")
            signalNodes[Key(context: c, object: ObjectIdentifier(s))] = node
        }
        for r in m.syncReads {
            let name = netlist?.syncReadNames[ObjectIdentifier(r)] ?? r.name
            let node = newNode(.state, width: r.memory.width, signed: r.memory.isSigned,
                               label: "read register '\(Self.join(ctx.path, name))' (\(r.loc))")
            syncReadNodes[Key(context: c, object: ObjectIdentifier(r))] = node
        }
        for mem in m.memories {
            memories.append(MemoryInstance(memory: mem, path: ctx.path))
            memoryIndex[Key(context: c, object: ObjectIdentifier(mem))] = memories.count - 1
        }
    }

    /// Names for `peek` and memory access: the Verilog names first (unique per module), then
    /// the names given in Swift where they differ and are still free.
    private mutating func addNames(_ design: Design) {
        if let r = resetNode { names["rst"] = r }
        for pass in 0..<2 {
            for (c, ctx) in contexts.enumerated() {
                let m = ctx.module
                let net = design.netlists[ObjectIdentifier(m)]
                func claim(_ verilog: String?, _ plain: String, _ node: Int) {
                    let name = pass == 0 ? (verilog ?? plain) : plain
                    let full = Self.join(ctx.path, name)
                    if names[full] == nil { names[full] = node }
                }
                for s in m.signals {
                    claim(net?.signalNames[s], s.name, signalNodes[Key(context: c, object: ObjectIdentifier(s))]!)
                }
                for r in m.syncReads {
                    claim(net?.syncReadNames[ObjectIdentifier(r)], r.name,
                          syncReadNodes[Key(context: c, object: ObjectIdentifier(r))]!)
                }
                for inst in m.instances {
                    guard let child = childContext[Key(context: c, object: ObjectIdentifier(inst))] else { continue }
                    for p in inst.module.outputs {
                        claim(net?.instanceOutputNames[.init(inst, p)], "\(inst.name)_\(p.name)",
                              signalNodes[Key(context: child, object: ObjectIdentifier(p))]!)
                    }
                }
                for mem in m.memories {
                    let name = pass == 0 ? (net?.memoryNames[mem] ?? mem.name) : mem.name
                    let full = Self.join(ctx.path, name)
                    if memoryNames[full] == nil {
                        memoryNames[full] = memoryIndex[Key(context: c, object: ObjectIdentifier(mem))]!
                    }
                }
            }
        }
    }

    /// One node per distinct expression node of the module's statements, operands first.
    private mutating func addExpressions(context c: Int) throws {
        let m = contexts[c].module
        let roots = StatementWalk.roots(of: m).map(\.expr)
        var failure: SimulationError?
        StatementWalk.postOrder(roots) { e in
            guard failure == nil else { return }
            do {
                let node = try expressionNode(e, context: c)
                exprNodes[Key(context: c, object: ObjectIdentifier(e))] = node
            } catch let error as SimulationError {
                failure = error
            } catch {
                failure = SimulationError("\(error)")
            }
        }
        if let failure { throw failure }
    }

    private mutating func expressionNode(_ e: Expr, context c: Int) throws -> Int {
        let path = contexts[c].path
        let label = "expression at \(e.loc)\(path.isEmpty ? "" : " in \(path)")"
        if let p = e.problem {
            throw SimulationError("ill-formed \(label): \(p)")
        }
        func lookup(_ table: [Key: Int], _ object: AnyObject, _ what: String) throws -> Int {
            guard let n = table[Key(context: c, object: ObjectIdentifier(object))] else {
                throw SimulationError("\(label) reads \(what) that is not part of its module (was the design elaborated?)")
            }
            return n
        }
        var args: [Int] = []
        args.reserveCapacity(e.args.count)
        for a in e.args {
            guard let n = exprNodes[Key(context: c, object: ObjectIdentifier(a))] else {
                throw SimulationError("internal: operand of \(label) has no node")
            }
            args.append(n)
        }
        let kind: Kind
        switch e.op {
        case .const(let bits):
            kind = .constant(Bits(width: e.width, truncating: bits.words))
        case .signal(let s):
            kind = .alias(try lookup(signalNodes, s, "signal '\(s.name)'"))
        case .instanceOutput(let inst, let port):
            let child = try lookup(childContext, inst, "instance '\(inst.name)'")
            guard let n = signalNodes[Key(context: child, object: ObjectIdentifier(port))] else {
                throw SimulationError("\(label) reads unknown port '\(port.name)' of instance '\(inst.name)'")
            }
            kind = .alias(n)
        case .memorySyncRead(let r):
            kind = .alias(try lookup(syncReadNodes, r, "read port '\(r.name)'"))
        case .reinterpret:
            kind = .alias(args[0])
        case .memoryRead(let mem):
            kind = .op(e, memory: try lookup(memoryIndex, mem, "memory '\(mem.name)'"), args: args)
        case .unary, .binary, .slice, .concat, .mux, .extend, .truncate, .shiftLeft, .shiftRight:
            kind = .op(e, memory: -1, args: args)
        }
        return newNode(kind, width: e.width, signed: e.isSigned, label: label)
    }

    private func exprNode(_ e: Expr, _ c: Int) throws -> Int {
        guard let n = exprNodes[Key(context: c, object: ObjectIdentifier(e))] else {
            throw SimulationError("internal: expression at \(e.loc) has no node")
        }
        return n
    }

    /// Drives nets from their assignments and child inputs from their connections, and collects
    /// the clocked elements.
    private mutating func connect(context c: Int) throws {
        let m = contexts[c].module
        for a in m.assignments {
            guard let t = a.target.signal, let n = signalNodes[Key(context: c, object: ObjectIdentifier(t))] else {
                throw SimulationError("assignment at \(a.loc) does not target a net of module '\(m.name)'")
            }
            guard case .pending = nodes[n].kind else {
                throw SimulationError("\(nodes[n].label) is driven twice (\(a.loc))")
            }
            nodes[n].kind = .alias(try exprNode(a.value, c))
        }
        for inst in m.instances {
            guard let child = childContext[Key(context: c, object: ObjectIdentifier(inst))] else { continue }
            for conn in inst.connections {
                guard let port = inst.module.inputs.first(where: { $0.name == conn.portName }),
                      let n = signalNodes[Key(context: child, object: ObjectIdentifier(port))] else {
                    throw SimulationError("instance '\(inst.name)' has no input '\(conn.portName)' (\(conn.loc))")
                }
                guard case .pending = nodes[n].kind else {
                    throw SimulationError("\(nodes[n].label) is connected twice (\(conn.loc))")
                }
                nodes[n].kind = .alias(try exprNode(conn.value, c))
            }
        }
        for u in m.updates {
            guard let t = u.target.signal, t.kind == .reg,
                  let n = signalNodes[Key(context: c, object: ObjectIdentifier(t))] else {
                throw SimulationError("register update at \(u.loc) does not target a register of module '\(m.name)'")
            }
            registers.append(Register(node: n, next: try exprNode(u.value, c),
                                      enable: try u.enable.map { try exprNode($0, c) }, reset: t.resetValue))
        }
        for mem in m.memories {
            guard let w = mem.writePort, let mi = memoryIndex[Key(context: c, object: ObjectIdentifier(mem))] else { continue }
            writePorts.append(WritePort(memory: mi, address: try exprNode(w.address, c),
                                        data: try exprNode(w.data, c), enable: try exprNode(w.enable, c)))
        }
        for r in m.syncReads {
            guard let mi = memoryIndex[Key(context: c, object: ObjectIdentifier(r.memory))],
                  let n = syncReadNodes[Key(context: c, object: ObjectIdentifier(r))] else {
                throw SimulationError("read port '\(r.name)' reads memory '\(r.memory.name)' of another module")
            }
            syncReads.append(SyncRead(memory: mi, node: n, address: try exprNode(r.address, c),
                                      enable: try exprNode(r.enable, c)))
        }
    }

    private mutating func addTopPorts(_ design: Design) throws {
        let top = design.top
        if design.hasReset(top) {
            let n = newNode(.state, width: 1, signed: false, label: "input 'rst'")
            resetNode = n
            inputs.append((SimPort(name: "rst", width: 1), n))
        }
        for s in top.inputs {
            inputs.append((SimPort(name: s.name, width: s.width), signalNodes[Key(context: 0, object: ObjectIdentifier(s))]!))
        }
        for s in top.outputs {
            outputs.append((SimPort(name: s.name, width: s.width), signalNodes[Key(context: 0, object: ObjectIdentifier(s))]!))
        }
        for r in registers where nodes[r.node].width != nodes[r.next].width {
            throw SimulationError("\(nodes[r.node].label) is \(nodes[r.node].width) bits but its next value is \(nodes[r.next].width) bits")
        }
    }

    // MARK: Resolution and ordering

    /// Follows alias chains to the computing node, with path compression.
    private mutating func resolveAliases() throws {
        representative = [Int](repeating: -1, count: nodes.count)
        var chain: [Int] = []
        for start in nodes.indices where representative[start] < 0 {
            chain.removeAll(keepingCapacity: true)
            var x = start
            while representative[x] < 0, case .alias(let target) = nodes[x].kind {
                chain.append(x)
                x = target
                if chain.count > nodes.count {
                    throw SimulationError("combinational loop through \(nodes[start].label)")
                }
            }
            let r = representative[x] >= 0 ? representative[x] : x
            representative[x] = r
            for n in chain { representative[n] = r }
            if case .pending = nodes[r].kind {
                throw SimulationError("\(nodes[r].label) is never driven")
            }
            if nodes[r].width != nodes[start].width {
                throw SimulationError("\(nodes[start].label) is \(nodes[start].width) bits but is driven by \(nodes[r].width) bits (\(nodes[r].label))")
            }
        }
    }

    /// Operator nodes in dependency order (iterative depth-first search).
    private mutating func sortOperators() throws {
        var state = [UInt8](repeating: 0, count: nodes.count)   // 1 = on the stack, 2 = done
        var stack: [(node: Int, next: Int)] = []
        order.reserveCapacity(nodes.count)
        for start in nodes.indices where representative[start] == start && state[start] == 0 {
            guard case .op = nodes[start].kind else { continue }
            state[start] = 1
            stack.append((start, 0))
            while let (n, i) = stack.last {
                guard case .op(_, _, let args) = nodes[n].kind else { preconditionFailure() }
                if i < args.count {
                    stack[stack.count - 1].next = i + 1
                    let a = representative[args[i]]
                    guard case .op = nodes[a].kind else { continue }
                    if state[a] == 1 {
                        throw SimulationError("combinational loop through \(nodes[a].label)")
                    }
                    if state[a] == 0 {
                        state[a] = 1
                        stack.append((a, 0))
                    }
                } else {
                    state[n] = 2
                    order.append(n)
                    stack.removeLast()
                }
            }
        }
    }
}
