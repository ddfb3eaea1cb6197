/// Every connection joins two things of exactly the same width: nothing widens or wraps
/// implicitly. A mismatch names both sides, their widths and their source lines.
public struct CheckWidths: ElaborationPass {
    public var name: String { "check-widths" }

    public func run(_ design: inout Design) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for m in design.modules {
            for a in m.assignments {
                guard let t = a.target.signal, t.kind == .wire || t.kind == .output else {
                    problems.append(Diagnostic("assign target must be a wire or an output of module '\(m.name)'; \(describe(a.target)) is not (use next() for registers)", at: a.loc))
                    continue
                }
                if t.width != a.value.width {
                    problems.append(Diagnostic("width mismatch: '\(t.name)' is \(t.width) bits (\(t.loc)) but is assigned a \(a.value.width)-bit value (\(a.value.loc)); use extend(to:), truncate(to:) or saturate(to:)", at: a.loc))
                }
            }
            for u in m.updates {
                guard let t = u.target.signal, t.kind == .reg else {
                    problems.append(Diagnostic("next() target must be a register; \(describe(u.target)) is not", at: u.loc))
                    continue
                }
                if t.width != u.value.width {
                    problems.append(Diagnostic("width mismatch: register '\(t.name)' is \(t.width) bits (\(t.loc)) but its next value is \(u.value.width) bits (\(u.value.loc)); use extend(to:), truncate(to:) or saturate(to:)", at: u.loc))
                }
                if let e = u.enable, e.width != 1 {
                    problems.append(Diagnostic("enable of register '\(t.name)' must be 1 bit, got \(e.width) bits (\(e.loc))", at: u.loc))
                }
            }
            for inst in m.instances {
                for c in inst.connections {
                    guard let port = inst.module.ports.first(where: { $0.name == c.portName }) else {
                        let known = inst.module.inputs.map(\.name).joined(separator: ", ")
                        problems.append(Diagnostic("module '\(inst.module.name)' has no port '\(c.portName)' (instance '\(inst.name)'; inputs: \(known))", at: c.loc))
                        continue
                    }
                    if port.kind != .input {
                        problems.append(Diagnostic("port '\(c.portName)' of module '\(inst.module.name)' is an output; read it with output(\"\(c.portName)\")", at: c.loc))
                    } else if port.width != c.value.width {
                        problems.append(Diagnostic("width mismatch: port '\(c.portName)' of instance '\(inst.name)' is \(port.width) bits (\(port.loc)) but is connected to a \(c.value.width)-bit value (\(c.value.loc))", at: c.loc))
                    }
                }
            }
        }
        return problems
    }

    private func describe(_ e: Expr) -> String {
        if let s = e.signal { return "\(s.kind.label) '\(s.name)'" }
        return "an expression (\(e.loc))"
    }
}
