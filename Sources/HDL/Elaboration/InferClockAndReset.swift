/// A module gets the implicit `clk` port when it, or anything below it, has registers, memory
/// writes or synchronous reads; it gets `rst` when some register below it has a reset value.
/// Ports nobody uses would be lint warnings, so they are added only where needed.
public struct InferClockAndReset: ElaborationPass {
    public var name: String { "infer-clock-and-reset" }

    public func run(_ design: inout Design) -> [Diagnostic] {
        for m in design.modules {   // children first
            let id = ObjectIdentifier(m)
            let ownClock = m.signals.contains { $0.kind == .reg } || !m.syncReads.isEmpty
                || m.memories.contains { $0.writePort != nil }
            let ownReset = m.signals.contains { $0.kind == .reg && $0.resetValue != nil }
            let childClock = m.instances.contains { design.needsClock.contains(ObjectIdentifier($0.module)) }
            let childReset = m.instances.contains { design.needsReset.contains(ObjectIdentifier($0.module)) }
            if ownClock || childClock { design.needsClock.insert(id) }
            if ownReset || childReset { design.needsReset.insert(id) }
        }
        return []
    }
}
