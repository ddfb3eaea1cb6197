/// Finds every module below the top, children first, and gives each a unique, legal Verilog
/// module name. A module that instantiates itself, directly or not, is an error.
public struct CollectHierarchy: ElaborationPass {
    public var name: String { "collect-hierarchy" }

    public func run(_ design: inout Design) -> [Diagnostic] {
        var order: [Module] = []
        var state: [ObjectIdentifier: Int] = [:]   // 1 = on the path, 2 = done
        var problems: [Diagnostic] = []
        // Iterative DFS over the instance tree.
        var stack: [(Module, Int)] = [(design.top, 0)]
        state[ObjectIdentifier(design.top)] = 1
        while let (m, i) = stack.last {
            if i < m.instances.count {
                stack[stack.count - 1].1 = i + 1
                let inst = m.instances[i]
                let child = inst.module
                switch state[ObjectIdentifier(child)] {
                case 1:
                    let path = stack.map(\.0.name) + [child.name]
                    problems.append(Diagnostic("module '\(child.name)' instantiates itself: \(path.joined(separator: " -> "))", at: inst.loc))
                case 2:
                    break
                default:
                    state[ObjectIdentifier(child)] = 1
                    stack.append((child, 0))
                }
            } else {
                stack.removeLast()
                state[ObjectIdentifier(m)] = 2
                order.append(m)
            }
        }
        design.modules = order
        var used = Set<String>()
        for m in order {
            let base = VerilogNames.legal(m.name)
            var candidate = base
            var n = 1
            while used.contains(candidate) {
                candidate = "\(base)_\(n)"
                n += 1
            }
            used.insert(candidate)
            design.moduleNames[ObjectIdentifier(m)] = candidate
        }
        return problems
    }
}
