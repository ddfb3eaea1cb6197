/// Port names are the module's interface, so they are never renamed behind the user's back:
/// a duplicate, an illegal Verilog identifier, or a clash with the implicit `clk`/`rst` is an
/// error naming both places.
public struct CheckPortNames: ElaborationPass {
    public var name: String { "check-port-names" }

    public func run(_ design: inout Design) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for m in design.modules {
            var seen: [String: Signal] = [:]
            for p in m.ports {
                if let first = seen[p.name] {
                    problems.append(Diagnostic("duplicate port '\(p.name)' in module '\(m.name)'; first declared at \(first.loc)", at: p.loc))
                    continue
                }
                seen[p.name] = p
                if VerilogNames.legal(p.name) != p.name {
                    problems.append(Diagnostic("port name '\(p.name)' of module '\(m.name)' is not a legal Verilog identifier; use letters, digits and '_' and avoid keywords", at: p.loc))
                } else if VerilogNames.implicitPorts.contains(p.name) {
                    problems.append(Diagnostic("port name '\(p.name)' of module '\(m.name)' is reserved for the implicit clock and reset", at: p.loc))
                }
            }
            var instNames: [String: Instance] = [:]
            for inst in m.instances {
                if let first = instNames[inst.name] {
                    problems.append(Diagnostic("duplicate instance name '\(inst.name)' in module '\(m.name)'; first at \(first.loc)", at: inst.loc))
                }
                instNames[inst.name] = inst
            }
        }
        return problems
    }
}
