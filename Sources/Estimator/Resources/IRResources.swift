import HDL

/// Resources that can be counted exactly from the elaborated IR, before any synthesis: the
/// flip-flops (register bits, including synchronous-read registers) and the memory bits, with
/// every instance counted as many times as it is placed.
public struct IRResources: Sendable, Equatable {
    public var flipFlops = 0
    public var memoryBits = 0
    /// Each memory: hierarchical path, depth, width.
    public var memories: [(path: String, depth: Int, width: Int)] = []

    public static func == (a: IRResources, b: IRResources) -> Bool {
        a.flipFlops == b.flipFlops && a.memoryBits == b.memoryBits && a.memories.map(\.path) == b.memories.map(\.path)
    }

    public init(_ design: Design) {
        walk(design.top, path: design.verilogName(design.top))
    }

    private mutating func walk(_ m: Module, path: String) {
        flipFlops += m.signals.filter { $0.kind == .reg }.reduce(0) { $0 + $1.width }
        flipFlops += m.syncReads.reduce(0) { $0 + $1.memory.width }
        for mem in m.memories {
            memoryBits += mem.depth * mem.width
            memories.append(("\(path).\(mem.name)", mem.depth, mem.width))
        }
        for inst in m.instances { walk(inst.module, path: "\(path).\(inst.name)") }
    }
}
