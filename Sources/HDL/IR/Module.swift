/// A hardware module under construction: ports, wires, registers, memories, instances and the
/// connections between them, in the order they were made.
///
/// It is built imperatively, with plain Swift functions and loops, as Chisel builds hardware:
///
///     let m = Module("counter")
///     let en = m.input("en", width: 1)
///     let count = m.reg("count", width: 8, reset: 0)
///     m.next(count, count +% .const(1, width: 8), enable: en)
///     m.output("value", count)
///
/// Every module has an implicit clock `clk` and synchronous active-high reset `rst`; they appear
/// as ports only when something inside needs them.
public final class Module: @unchecked Sendable {
    public let name: String
    public let loc: SourceLoc
    /// Generator parameters, shown in the emitted header comment.
    public private(set) var parameters: [(name: String, value: String)] = []
    /// Free text for the emitted header comment (ports, beat layout, latency...).
    public var doc: String

    public private(set) var signals: [Signal] = []
    public private(set) var memories: [Memory] = []
    public private(set) var instances: [Instance] = []
    public private(set) var syncReads: [MemorySyncRead] = []

    public struct Assignment: @unchecked Sendable {
        public let target: Expr
        public let value: Expr
        public let loc: SourceLoc
    }
    /// Continuous assignments to wires and outputs, in order.
    public private(set) var assignments: [Assignment] = []

    public struct RegisterUpdate: @unchecked Sendable {
        public let target: Expr
        public let value: Expr
        public let enable: Expr?
        public let loc: SourceLoc
    }
    /// Clocked updates of registers, in order.
    public private(set) var updates: [RegisterUpdate] = []

    /// Problems found while building (for example a port connected to a non-signal), reported by
    /// elaboration with the rest.
    public private(set) var buildProblems: [(message: String, loc: SourceLoc)] = []

    public init(_ name: String, doc: String = "", fileID: String = #fileID, line: Int = #line, function: String = #function) {
        self.name = name
        self.doc = doc
        self.loc = SourceLoc(fileID: fileID, line: line, function: function)
    }

    public var ports: [Signal] { signals.filter(\.isPort) }
    public var inputs: [Signal] { signals.filter { $0.kind == .input } }
    public var outputs: [Signal] { signals.filter { $0.kind == .output } }

    /// Records a generator parameter for the header comment.
    public func parameter(_ name: String, _ value: CustomStringConvertible) {
        parameters.append((name, value.description))
    }

    private func newSignal(_ name: String, _ width: Int, _ signed: Bool, _ kind: Signal.Kind,
                           _ loc: SourceLoc, reset: Bits? = nil) -> Expr {
        var w = width
        if width < 1 {
            buildProblems.append(("\(kind.rawValue) '\(name)' has width \(width); widths start at 1", loc))
            w = 1
        }
        let s = Signal(name: name, width: w, isSigned: signed, kind: kind, loc: loc,
                       resetValue: reset, index: signals.count, module: self)
        signals.append(s)
        return Expr(.signal(s), [], width: w, signed: signed, loc: loc)
    }

    // MARK: Ports and nets

    @discardableResult
    public func input(_ name: String, width: Int, signed: Bool = false,
                      fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        newSignal(name, width, signed, .input, SourceLoc(fileID: fileID, line: line, function: function))
    }

    /// An output port, to be driven later with `assign`.
    @discardableResult
    public func output(_ name: String, width: Int, signed: Bool = false,
                       fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        newSignal(name, width, signed, .output, SourceLoc(fileID: fileID, line: line, function: function))
    }

    /// An output port driven by `value`, of `value`'s width and signedness.
    @discardableResult
    public func output(_ name: String, _ value: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let o = output(name, width: value.width, signed: value.isSigned, fileID: fileID, line: line, function: function)
        assign(o, value, fileID: fileID, line: line, function: function)
        return o
    }

    /// A wire to be driven later with `assign`.
    public func wire(_ name: String, width: Int, signed: Bool = false,
                     fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        newSignal(name, width, signed, .wire, SourceLoc(fileID: fileID, line: line, function: function))
    }

    /// Names a value: a wire of `value`'s shape driven by it. Use it to give intermediate
    /// results readable names in the Verilog (`q_acc_3`).
    public func wire(_ name: String, _ value: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let w = wire(name, width: value.width, signed: value.isSigned, fileID: fileID, line: line, function: function)
        assign(w, value, fileID: fileID, line: line, function: function)
        return w
    }

    /// A register, optionally with a synchronous reset value. Give its next value with `next`.
    public func reg(_ name: String, width: Int, signed: Bool = false, reset: Int? = nil,
                    fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        var resetBits: Bits?
        if let r = reset {
            if !Bits.fits(r, width: max(width, 1), signed: signed) {
                buildProblems.append(("reset value \(r) of register '\(name)' does not fit \(width) \(signed ? "signed" : "unsigned") bits", loc))
            }
            resetBits = Bits(width: max(width, 1), truncating: r)
        }
        return newSignal(name, width, signed, .reg, loc, reset: resetBits)
    }

    /// A register with a reset pattern of any width.
    public func reg(_ name: String, width: Int, signed: Bool = false, resetBits: Bits,
                    fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        if resetBits.width != width {
            buildProblems.append(("reset pattern of register '\(name)' is \(resetBits.width) bits, the register \(width)", loc))
        }
        return newSignal(name, width, signed, .reg, loc, reset: Bits(width: max(width, 1), truncating: resetBits.words))
    }

    // MARK: Connections

    /// Continuous assignment `target = value`. Widths must match exactly (`CheckWidths`).
    public func assign(_ target: Expr, _ value: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) {
        assignments.append(Assignment(target: target, value: value, loc: SourceLoc(fileID: fileID, line: line, function: function)))
    }

    /// Clocked update `if (enable) reg <= value`. Widths must match exactly.
    public func next(_ register: Expr, _ value: Expr, enable: Expr? = nil,
                     fileID: String = #fileID, line: Int = #line, function: String = #function) {
        updates.append(RegisterUpdate(target: register, value: value, enable: enable,
                                      loc: SourceLoc(fileID: fileID, line: line, function: function)))
    }

    // MARK: Memories

    /// A memory of `depth` words of `width` bits, with optional initial contents (a ROM when
    /// no write port is added).
    public func memory(_ name: String, width: Int, depth: Int, signed: Bool = false,
                       initial: [Bits]? = nil, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Memory {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        if width < 1 || depth < 1 {
            buildProblems.append(("memory '\(name)' is \(depth) x \(width) bits; both must be at least 1", loc))
        }
        if let initial {
            if initial.count != depth {
                buildProblems.append(("memory '\(name)' has \(initial.count) initial words for depth \(depth)", loc))
            }
            if let bad = initial.first(where: { $0.width != width }) {
                buildProblems.append(("memory '\(name)' has an initial word of \(bad.width) bits; words are \(width) bits", loc))
            }
        }
        let mem = Memory(name: name, width: max(width, 1), depth: max(depth, 1), isSigned: signed,
                         initial: initial, loc: loc, index: memories.count, module: self)
        memories.append(mem)
        return mem
    }

    /// Combinational read `memory[address]`.
    public func read(_ memory: Memory, _ address: Expr, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        let problem = address.problem ?? addressProblem(memory, address)
        return Expr(.memoryRead(memory), [address], width: memory.width, signed: memory.isSigned, loc: loc, problem: problem)
    }

    /// Synchronous read: a register named `name` loaded with `memory[address]` when `enable`.
    public func readSync(_ memory: Memory, _ address: Expr, enable: Expr, name: String,
                         fileID: String = #fileID, line: Int = #line, function: String = #function) -> Expr {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        let port = MemorySyncRead(memory: memory, address: address, enable: enable, name: name, loc: loc)
        syncReads.append(port)
        var problem = address.problem ?? enable.problem ?? addressProblem(memory, address)
        if problem == nil, enable.width != 1 {
            problem = "read enable of memory '\(memory.name)' must be 1 bit, got \(enable.typeDescription)"
        }
        return Expr(.memorySyncRead(port), [], width: memory.width, signed: memory.isSigned, loc: loc, problem: problem)
    }

    /// Adds the memory's write port: `if (enable) memory[address] <= data`.
    public func write(_ memory: Memory, address: Expr, data: Expr, enable: Expr,
                      fileID: String = #fileID, line: Int = #line, function: String = #function) {
        let loc = SourceLoc(fileID: fileID, line: line, function: function)
        if memory.writePort != nil {
            buildProblems.append(("memory '\(memory.name)' already has a write port; one per memory", loc))
            return
        }
        if let p = addressProblem(memory, address) { buildProblems.append((p, loc)) }
        if data.width != memory.width {
            buildProblems.append(("write data of memory '\(memory.name)' is \(data.width) bits (\(data.loc)); words are \(memory.width) bits", loc))
        }
        if enable.width != 1 {
            buildProblems.append(("write enable of memory '\(memory.name)' must be 1 bit, got \(enable.typeDescription)", loc))
        }
        memory.writePort = MemoryWritePort(address: address, data: data, enable: enable, loc: loc)
    }

    /// Promises that no synchronous read of `memory` addresses the word its write port writes
    /// in the same cycle (the caller proves it from its own control). The Verilog then tells
    /// synthesis so (Yosys `(* no_rw_check *)`): an ECP5 DP16KD cannot return the old word to one
    /// port while the other writes it, and Yosys 0.23 would build that from LUTs and flip-flops,
    /// a multiplexer after the RAM's clock-to-out. Simulation checks the promise: the emitted
    /// Verilog stops (`$stop`, outside synthesis) on a read and a write of one address in one cycle.
    public func promiseNoReadWriteCollision(_ memory: Memory) {
        memory.readsNeverMeetWrite = true
    }

    private func addressProblem(_ memory: Memory, _ address: Expr) -> String? {
        if address.isSigned || address.width != memory.addressWidth {
            return "address of memory '\(memory.name)' (depth \(memory.depth)) must be \(memory.addressWidth)-bit unsigned, got \(address.typeDescription) (\(address.loc))"
        }
        if let c = address.constValue, c.low64 >= UInt64(memory.depth) {
            return "constant address \(c.low64) is outside memory '\(memory.name)' of depth \(memory.depth)"
        }
        return nil
    }

    // MARK: Hierarchy

    /// Places `module` here as instance `name`.
    public func instance(_ module: Module, _ name: String, fileID: String = #fileID, line: Int = #line, function: String = #function) -> Instance {
        let inst = Instance(name: name, module: module, loc: SourceLoc(fileID: fileID, line: line, function: function),
                            index: instances.count, parent: self)
        instances.append(inst)
        return inst
    }
}
