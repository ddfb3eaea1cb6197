/// A memory array: RAM when it has a write port, ROM when it has none.
///
/// Contents are given in Swift and emitted as a `$readmemh` image beside the Verilog, so the
/// same numbers reach the IR simulator, Verilator and synthesis. The address width is fixed by
/// the depth (`max(1, ceil(log2(depth)))`), which keeps every index lint-clean.
public final class Memory: Hashable, @unchecked Sendable {
    public let name: String
    public let width: Int
    public let depth: Int
    public let isSigned: Bool
    public let initial: [Bits]?
    public let loc: SourceLoc
    public let index: Int
    public unowned let module: Module

    /// Set by `Module.write`.
    public internal(set) var writePort: MemoryWritePort?
    /// Set by `Module.promiseNoReadWriteCollision`: no synchronous read addresses the word
    /// written in the same cycle, so synthesis may leave out the read-old-data bypass.
    public internal(set) var readsNeverMeetWrite = false

    init(name: String, width: Int, depth: Int, isSigned: Bool, initial: [Bits]?, loc: SourceLoc,
         index: Int, module: Module) {
        self.name = name
        self.width = width
        self.depth = depth
        self.isSigned = isSigned
        self.initial = initial
        self.loc = loc
        self.index = index
        self.module = module
    }

    public var addressWidth: Int { Memory.addressWidth(depth: depth) }

    public static func addressWidth(depth: Int) -> Int {
        var w = 1
        while (1 << w) < depth { w += 1 }
        return w
    }

    public static func == (a: Memory, b: Memory) -> Bool { a === b }
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }
}

/// `if (enable) memory[address] <= data` on the rising clock edge.
public struct MemoryWritePort: @unchecked Sendable {
    public let address: Expr
    public let data: Expr
    public let enable: Expr
    public let loc: SourceLoc
}

/// A synchronous read port: a register loaded with `memory[address]` when `enable` is high.
/// It is what block-RAM inference wants.
public final class MemorySyncRead: @unchecked Sendable {
    public let memory: Memory
    public let address: Expr
    public let enable: Expr
    public let name: String
    public let loc: SourceLoc

    init(memory: Memory, address: Expr, enable: Expr, name: String, loc: SourceLoc) {
        self.memory = memory
        self.address = address
        self.enable = enable
        self.name = name
        self.loc = loc
    }
}
