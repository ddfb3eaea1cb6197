/// Every wire and output is driven exactly once, every register has exactly one next value, and
/// every input of every instance is connected exactly once.
public struct CheckDrivers: ElaborationPass {
    public var name: String { "check-drivers" }

    public func run(_ design: inout Design) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for m in design.modules {
            var driven: [Signal: SourceLoc] = [:]
            for a in m.assignments {
                guard let t = a.target.signal else { continue }
                if let first = driven[t] {
                    problems.append(Diagnostic("\(t.kind.label) '\(t.name)' of module '\(m.name)' is driven twice; first at \(first)", at: a.loc))
                }
                driven[t] = a.loc
            }
            for u in m.updates {
                guard let t = u.target.signal else { continue }
                if let first = driven[t] {
                    problems.append(Diagnostic("register '\(t.name)' of module '\(m.name)' has two next values; first at \(first)", at: u.loc))
                }
                driven[t] = u.loc
            }
            for s in m.signals where s.kind != .input && driven[s] == nil {
                let how = s.kind == .reg ? "has no next value (call next())" : "is never driven (call assign())"
                problems.append(Diagnostic("\(s.kind.label) '\(s.name)' of module '\(m.name)' \(how)", at: s.loc))
            }
            for mem in m.memories where mem.initial == nil && mem.writePort == nil {
                problems.append(Diagnostic("memory '\(mem.name)' of module '\(m.name)' has neither initial contents nor a write port", at: mem.loc))
            }
            for inst in m.instances {
                var connected: [String: SourceLoc] = [:]
                for c in inst.connections {
                    if let first = connected[c.portName] {
                        problems.append(Diagnostic("input '\(c.portName)' of instance '\(inst.name)' is connected twice; first at \(first)", at: c.loc))
                    }
                    connected[c.portName] = c.loc
                }
                for p in inst.module.inputs where connected[p.name] == nil {
                    problems.append(Diagnostic("input '\(p.name)' of instance '\(inst.name)' (module '\(inst.module.name)') is unconnected", at: inst.loc))
                }
            }
        }
        return problems
    }
}
