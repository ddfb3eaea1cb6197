/// Finds combinational loops: paths from a net back to itself that pass through no register.
/// The error lists the loop, net by net, with source lines.
///
/// Modules are checked children first. Each child leaves a summary (which inputs each output
/// depends on combinationally), so a loop through an instance is found in the parent without
/// flattening the hierarchy.
public struct CheckCombinationalLoops: ElaborationPass {
    public var name: String { "check-combinational-loops" }

    public func run(_ design: inout Design) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for m in design.modules {
            let graph = CombGraph(module: m, summaries: design.combinationalPaths)
            if let loop = graph.findLoop() {
                let path = loop.map { "'\($0.name)' (\($0.loc))" }.joined(separator: " -> ")
                let first = loop.first.map { "'\($0.name)'" } ?? "?"
                problems.append(Diagnostic("combinational loop in module '\(m.name)': \(path) -> \(first)", at: loop.first?.loc ?? m.loc))
                continue
            }
            design.combinationalPaths[ObjectIdentifier(m)] = graph.outputDependencies()
        }
        return problems
    }
}

/// The combinational dependency graph of one module: nets, instance outputs and expression
/// nodes, with an edge from each to what it reads without passing a register.
struct CombGraph {
    struct Label {
        let name: String
        let loc: SourceLoc
    }

    private(set) var successors: [[Int]] = []
    private var labels: [Label?] = []
    private var exprIDs: [ObjectIdentifier: Int] = [:]
    private var signalIDs: [Signal: Int] = [:]
    private var inputBit: [Int: Int] = [:]
    private let module: Module

    init(module: Module, summaries: [ObjectIdentifier: [Signal: Set<Signal>]]) {
        self.module = module
        for s in module.signals {
            signalIDs[s] = newNode(Label(name: s.name, loc: s.loc))
            if s.kind == .input { inputBit[signalIDs[s]!] = inputBit.count }
        }
        for a in module.assignments {
            if let t = a.target.signal, let id = signalIDs[t], t.kind != .reg, t.kind != .input {
                let e = exprNode(a.value)
                successors[id].append(e)
            }
        }
        // Registers, memories and sync reads start no combinational path; instance outputs
        // depend on the connections of the inputs their module's summary names.
        for inst in module.instances {
            let summary = summaries[ObjectIdentifier(inst.module)] ?? [:]
            for port in inst.module.outputs {
                let id = instanceOutputNode(inst, port)
                for dep in summary[port] ?? [] {
                    for c in inst.connections where c.portName == dep.name {
                        let e = exprNode(c.value)
                        successors[id].append(e)
                    }
                }
            }
        }
    }

    private var instanceOutputIDs: [String: Int] = [:]

    private mutating func newNode(_ label: Label?) -> Int {
        successors.append([])
        labels.append(label)
        return successors.count - 1
    }

    private mutating func instanceOutputNode(_ inst: Instance, _ port: Signal) -> Int {
        let key = "\(inst.index).\(port.index)"
        if let id = instanceOutputIDs[key] { return id }
        let id = newNode(Label(name: "\(inst.name).\(port.name)", loc: inst.loc))
        instanceOutputIDs[key] = id
        return id
    }

    /// Adds the expression DAG under `root`, returning the root's node.
    private mutating func exprNode(_ root: Expr) -> Int {
        if let id = exprIDs[ObjectIdentifier(root)] { return id }
        var pending: [Expr] = []
        StatementWalk.postOrder([root]) { e in
            if exprIDs[ObjectIdentifier(e)] == nil { pending.append(e) }
        }
        for e in pending where exprIDs[ObjectIdentifier(e)] == nil {
            let id = newNode(nil)
            exprIDs[ObjectIdentifier(e)] = id
            switch e.op {
            case .signal(let s):
                if let sid = signalIDs[s], s.kind != .reg { successors[id].append(sid) }
            case .instanceOutput(let inst, let port):
                successors[id].append(instanceOutputNode(inst, port))
            case .memorySyncRead, .const:
                break
            default:
                for a in e.args { successors[id].append(exprIDs[ObjectIdentifier(a)]!) }
            }
        }
        return exprIDs[ObjectIdentifier(root)]!
    }

    /// The named nets of the first loop found, in path order, or nil.
    func findLoop() -> [Label]? {
        var color = [UInt8](repeating: 0, count: successors.count)
        var stack: [(node: Int, next: Int)] = []
        for start in 0..<successors.count where color[start] == 0 {
            color[start] = 1
            stack.append((start, 0))
            while let (n, i) = stack.last {
                if i < successors[n].count {
                    stack[stack.count - 1].next = i + 1
                    let s = successors[n][i]
                    if color[s] == 1 {
                        guard let from = stack.firstIndex(where: { $0.node == s }) else { return [] }
                        return stack[from...].compactMap { labels[$0.node] }
                    }
                    if color[s] == 0 {
                        color[s] = 1
                        stack.append((s, 0))
                    }
                } else {
                    color[n] = 2
                    stack.removeLast()
                }
            }
        }
        return nil
    }

    /// For each output port, the input ports it depends on combinationally. Only valid on a
    /// loop-free graph.
    func outputDependencies() -> [Signal: Set<Signal>] {
        let inputs = module.inputs
        let words = max((inputs.count + 63) / 64, 1)
        var reach = [[UInt64]?](repeating: nil, count: successors.count)
        var stack: [(node: Int, next: Int)] = []
        var result: [Signal: Set<Signal>] = [:]
        for out in module.outputs {
            guard let root = signalIDs[out] else { continue }
            if reach[root] == nil {
                stack.append((root, 0))
                while let (n, i) = stack.last {
                    if i < successors[n].count {
                        stack[stack.count - 1].next = i + 1
                        let s = successors[n][i]
                        if reach[s] == nil { stack.append((s, 0)) }
                    } else {
                        stack.removeLast()
                        var bits = [UInt64](repeating: 0, count: words)
                        if let b = inputBit[n] { bits[b / 64] |= 1 << UInt64(b % 64) }
                        for s in successors[n] {
                            if let r = reach[s] { for w in 0..<words { bits[w] |= r[w] } }
                        }
                        reach[n] = bits
                    }
                }
            }
            var deps = Set<Signal>()
            let bits = reach[root]!
            for (i, input) in inputs.enumerated() where (bits[i / 64] >> UInt64(i % 64)) & 1 == 1 {
                deps.insert(input)
            }
            result[out] = deps
        }
        return result
    }
}
