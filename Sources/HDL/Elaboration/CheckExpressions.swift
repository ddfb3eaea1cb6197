/// Reports ill-formed expressions (mixed signedness, slices out of range, bad constants...) and
/// the problems recorded while the module was built. Also catches an expression that reads a
/// signal, memory or instance of another module.
public struct CheckExpressions: ElaborationPass {
    public var name: String { "check-expressions" }

    public func run(_ design: inout Design) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for m in design.modules {
            for p in m.buildProblems { problems.append(Diagnostic(p.message, at: p.loc)) }
            let roots = StatementWalk.roots(of: m)
                + m.assignments.map { StatementWalk.Root(expr: $0.target, hint: "", target: nil, loc: $0.loc) }
                + m.updates.map { StatementWalk.Root(expr: $0.target, hint: "", target: nil, loc: $0.loc) }
            var seen = Set<ObjectIdentifier>()
            for root in roots {
              StatementWalk.postOrder([root.expr]) { e in
                guard seen.insert(ObjectIdentifier(e)).inserted else { return }
                let loc = e.loc.or(root.loc)
                if let p = e.problem, !e.args.contains(where: { $0.problem == p }) {
                    problems.append(Diagnostic(p, at: loc))
                }
                switch e.op {
                case .signal(let s) where s.module !== m:
                    problems.append(Diagnostic("signal '\(s.name)' of module '\(s.module.name)' (\(s.loc)) is used in module '\(m.name)'; pass it through a port", at: root.loc))
                case .instanceOutput(let inst, _) where inst.parent !== m:
                    problems.append(Diagnostic("instance '\(inst.name)' of module '\(inst.parent.name)' is read in module '\(m.name)'", at: loc))
                case .memoryRead(let mem) where mem.module !== m:
                    problems.append(Diagnostic("memory '\(mem.name)' of module '\(mem.module.name)' is read in module '\(m.name)'", at: loc))
                case .memorySyncRead(let r) where r.memory.module !== m:
                    problems.append(Diagnostic("memory '\(r.memory.name)' of module '\(r.memory.module.name)' is read in module '\(m.name)'", at: loc))
                default:
                    break
                }
              }
            }
        }
        return problems
    }
}
