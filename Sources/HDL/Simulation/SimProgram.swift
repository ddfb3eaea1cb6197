/// A flattened design compiled to a flat instruction list over integer slots, executed by
/// `SimMachine`.
///
/// Slot layout: every value of 64 bits or fewer lives in a *narrow* slot (`UInt64`, bits above
/// the width always zero); every wider value in a *wide* slot (a GMP integer in `0 ..< 2^width`).
/// Inputs, registers, read registers and constants have slots of their own; each operator node
/// writes its own slot, except those that only rename bits (zero extension, a full slice,
/// shifts by 0, one-part concatenation), which share their operand's slot.
///
/// An instruction whose result and operands are all narrow is a native `Instruction`; any other
/// is a `WideInstruction`, run through GMP and reached by an `Instruction` of opcode `.wide`.
struct SimProgram {
    // MARK: Narrow instructions

    enum Opcode: UInt8 {
        // dst = f(a) & k
        case not, andReduce, orReduce, xorReduce
        // dst = (ext(a, sa) op ext(b, sb)) & k, where ext(x, s) sign-extends from bit 63-s
        case add, sub, mul, and, or, xor
        // dst = ext(a, sa) cmp ext(b, sb)
        case eq, ne, ltUnsigned, leUnsigned, ltSigned, leSigned
        // dst = (a << b) & k; a >> b; (ext(a, sa) >>> b) & k
        case shiftLeftDynamic, shiftRightLogical, shiftRightArithmetic
        /// dst = (a >> c) & k
        case slice
        /// dst = (a << c) & k
        case shiftLeft
        /// dst = ext(a, sa) & k
        case signExtend
        /// dst = (a != 0 ? ext(b, sb) : ext(c, sc)) & k
        case mux
        /// dst = (a << c) | b: one step of a concatenation
        case shiftOr
        /// dst = a < c ? narrowMemory[b + a] : 0
        case memoryRead
        /// runs wideCode[a]
        case wide
    }

    struct Instruction {
        var op: Opcode
        var sa: UInt8 = 0
        var sb: UInt8 = 0
        var sc: UInt8 = 0
        var dst: Int32 = 0
        var a: Int32 = 0
        var b: Int32 = 0
        var c: Int32 = 0
        var k: UInt64 = 0
    }

    // MARK: Wide instructions

    struct Operand {
        let slot: Int32
        let isWide: Bool
        let width: Int
        let isSigned: Bool
    }

    /// A wide operation. Plain data (no references), so running one costs no reference counting.
    struct WideInstruction {
        enum Kind: UInt8 {
            case not, andReduce, orReduce, xorReduce
            case add, sub, mul, and, or, xor
            case eq, ne, lt, le, gt, ge
            case shiftLeftDynamic, shiftRightDynamic
            /// Bits from `n` up, as many as the result holds.
            case slice
            case concat
            case mux
            case extend
            /// Shift left by the constant `n`.
            case shiftLeft
            /// Word `address` of the wide memory storage at base `n`, depth `m`.
            case memoryRead
        }
        let kind: Kind
        var n: Int = 0
        var m: Int = 0
        let dst: Operand
        /// Operands: `wideOperands[first ..< first + count]`.
        let first: Int32
        let count: Int32
    }

    // MARK: Clocked elements

    struct Register {
        let slot: Int32
        let next: Int32
        /// -1 when always enabled.
        let enable: Int32
        /// Narrow: the reset pattern; wide: a wide slot holding it. Used when `hasReset`.
        let reset: UInt64
        let hasReset: Bool
    }

    struct MemoryLayout {
        let name: String
        let width: Int
        let depth: Int
        let isWide: Bool
        /// First word in the narrow or wide memory storage.
        let base: Int
        let initial: [Bits]?
    }

    struct WritePort {
        let memory: Int
        let base: Int
        let depth: Int
        let address: Int32
        let data: Int32
        let enable: Int32
    }

    struct SyncRead {
        let memory: Int
        let base: Int
        let depth: Int
        let slot: Int32
        let address: Int32
        let enable: Int32
    }

    struct PortSlot {
        let port: SimPort
        let slot: Int32
        var isWide: Bool { port.width > 64 }
    }

    private(set) var code: [Instruction] = []
    private(set) var wideCode: [WideInstruction] = []
    private(set) var wideOperands: [Operand] = []
    /// Initial contents of the narrow slots (constants; zero elsewhere).
    private(set) var narrowInitial: [UInt64] = []
    /// Widths of the wide slots, and the constants among them.
    private(set) var wideWidths: [Int] = []
    private(set) var wideConstants: [(slot: Int32, value: Bits)] = []

    private(set) var registers: [Register] = []
    private(set) var wideRegisters: [Register] = []
    private(set) var memories: [MemoryLayout] = []
    private(set) var narrowMemoryWords = 0
    private(set) var wideMemoryWords = 0
    private(set) var writePorts: [WritePort] = []
    private(set) var wideWritePorts: [WritePort] = []
    private(set) var syncReads: [SyncRead] = []
    private(set) var wideSyncReads: [SyncRead] = []

    private(set) var inputs: [PortSlot] = []
    private(set) var outputs: [PortSlot] = []
    /// Narrow slot of `rst`, or -1.
    private(set) var resetSlot: Int32 = -1
    /// Named nets: slot and width (the width says whether the slot is wide).
    private(set) var names: [String: (slot: Int32, width: Int)] = [:]
    private(set) var memoryNames: [String: Int] = [:]
    /// Operator nodes of the flattened design (before sharing slots).
    private(set) var operatorCount = 0

    /// Slot of each flat node (narrow or wide by the node's width).
    private var slot: [Int32] = []
    private var narrowConstants: [UInt64: Int32] = [:]
    private var wideConstantSlots: [Bits: Int32] = [:]

    private static let simpleBinary: [Expr.BinaryOp: Opcode] = [
        .addWiden: .add, .addWrap: .add, .subWiden: .sub, .subWrap: .sub, .mul: .mul,
        .and: .and, .or: .or, .xor: .xor, .eq: .eq, .ne: .ne,
    ]

    static func mask(_ width: Int) -> UInt64 { width >= 64 ? ~0 : (UInt64(1) << UInt64(width)) - 1 }

    init(_ flat: FlatDesign) throws {
        slot = [Int32](repeating: -1, count: flat.nodes.count)
        operatorCount = flat.order.count
        try layOutMemories(flat)
        // State and constants first, then operators in dependency order.
        for n in flat.nodes.indices where flat.representative[n] == n {
            switch flat.nodes[n].kind {
            case .state:
                slot[n] = try newSlot(width: flat.nodes[n].width)
            case .constant(let bits):
                slot[n] = try constantSlot(bits)
            default:
                break
            }
        }
        for n in flat.order { try lower(n, flat) }
        for n in flat.nodes.indices { slot[n] = slot[flat.representative[n]] }
        try compileClocked(flat)
        inputs = flat.inputs.map { PortSlot(port: $0.port, slot: slot[$0.node]) }
        outputs = flat.outputs.map { PortSlot(port: $0.port, slot: slot[$0.node]) }
        resetSlot = flat.resetNode.map { slot[$0] } ?? -1
        for (name, n) in flat.names { names[name] = (slot[n], flat.nodes[n].width) }
        memoryNames = flat.memoryNames
    }

    // MARK: Slots

    private mutating func newSlot(width: Int) throws -> Int32 {
        if width > 64 {
            guard wideWidths.count < Int32.max else { throw SimulationError("design too large: more than 2^31 wide values") }
            wideWidths.append(width)
            return Int32(wideWidths.count - 1)
        }
        guard narrowInitial.count < Int32.max else { throw SimulationError("design too large: more than 2^31 values") }
        narrowInitial.append(0)
        return Int32(narrowInitial.count - 1)
    }

    private mutating func constantSlot(_ bits: Bits) throws -> Int32 {
        if bits.width > 64 {
            if let s = wideConstantSlots[bits] { return s }
            let s = try newSlot(width: bits.width)
            wideConstants.append((s, bits))
            wideConstantSlots[bits] = s
            return s
        }
        if let s = narrowConstants[bits.low64] { return s }
        let s = try newSlot(width: bits.width)
        narrowInitial[Int(s)] = bits.low64
        narrowConstants[bits.low64] = s
        return s
    }

    private mutating func layOutMemories(_ flat: FlatDesign) throws {
        for m in flat.memories {
            let mem = m.memory
            let isWide = mem.width > 64
            let base = isWide ? wideMemoryWords : narrowMemoryWords
            if isWide { wideMemoryWords += mem.depth } else { narrowMemoryWords += mem.depth }
            guard narrowMemoryWords < Int32.max, wideMemoryWords < Int32.max else {
                throw SimulationError("memories too large: more than 2^31 words")
            }
            if let initial = mem.initial, initial.count != mem.depth || initial.contains(where: { $0.width != mem.width }) {
                throw SimulationError("memory '\(mem.name)' has initial contents that do not match its \(mem.depth) x \(mem.width) shape")
            }
            let name = m.path.isEmpty ? mem.name : "\(m.path).\(mem.name)"
            memories.append(MemoryLayout(name: name, width: mem.width, depth: mem.depth, isWide: isWide,
                                         base: base, initial: mem.initial))
        }
    }

    // MARK: Operators

    /// Compiles operator node `n`; its operands are compiled already.
    private mutating func lower(_ n: Int, _ flat: FlatDesign) throws {
        guard case .op(let e, let memory, let rawArgs) = flat.nodes[n].kind else { return }
        let args = rawArgs.map { flat.representative[$0] }
        let w = e.width
        for (i, a) in args.enumerated() where flat.nodes[a].width != e.args[i].width {
            throw SimulationError("internal: operand \(i) of \(flat.nodes[n].label) has width \(flat.nodes[a].width), expected \(e.args[i].width)")
        }
        if w > 64 || e.args.contains(where: { $0.width > 64 }) {
            try lowerWide(n, e, args, memory)
            return
        }
        let x = e.args.first
        let wa = x?.width ?? 0
        let k = Self.mask(w)
        /// Sign-extension shift of operand `i`: 64 - width when signed, else 0.
        func s(_ i: Int) -> UInt8 { e.args[i].isSigned ? UInt8(64 - e.args[i].width) : 0 }
        func a(_ i: Int) -> Int32 { slot[args[i]] }

        var ins: Instruction
        switch e.op {
        case .unary(let u):
            switch u {
            case .not: ins = Instruction(op: .not, a: a(0), k: k)
            case .andReduce: ins = Instruction(op: .andReduce, a: a(0), k: Self.mask(wa))
            case .orReduce: ins = Instruction(op: .orReduce, a: a(0))
            case .xorReduce: ins = Instruction(op: .xorReduce, a: a(0))
            }
        case .binary(let b):
            let signed = x!.isSigned
            switch b {
            case .lt, .le, .gt, .ge:
                let op: Opcode = (b == .lt || b == .gt) ? (signed ? .ltSigned : .ltUnsigned)
                    : (signed ? .leSigned : .leUnsigned)
                // a > b is b < a.
                let (l, r) = (b == .gt || b == .ge) ? (1, 0) : (0, 1)
                ins = Instruction(op: op, sa: s(l), sb: s(r), a: a(l), b: a(r))
            case .dynShiftLeft:
                ins = Instruction(op: .shiftLeftDynamic, a: a(0), b: a(1), k: k)
            case .dynShiftRight:
                ins = signed ? Instruction(op: .shiftRightArithmetic, sa: s(0), a: a(0), b: a(1), k: k)
                    : Instruction(op: .shiftRightLogical, a: a(0), b: a(1))
            default:
                ins = Instruction(op: Self.simpleBinary[b]!, sa: s(0), sb: s(1), a: a(0), b: a(1), k: k)
            }
        case .slice(let hi, let lo):
            if lo == 0 && hi == wa - 1 { slot[n] = a(0); return }
            ins = Instruction(op: .slice, a: a(0), c: Int32(lo), k: k)
        case .truncate:
            ins = Instruction(op: .slice, a: a(0), c: 0, k: k)
        case .concat:
            if args.count == 1 { slot[n] = a(0); return }
            let d = try newSlot(width: w)
            slot[n] = d
            code.append(Instruction(op: .shiftOr, dst: d, a: a(0), b: a(1), c: Int32(e.args[1].width)))
            for i in 2..<max(args.count, 2) {
                code.append(Instruction(op: .shiftOr, dst: d, a: d, b: a(i), c: Int32(e.args[i].width)))
            }
            return
        case .mux:
            ins = Instruction(op: .mux, sb: s(1), sc: s(2), a: a(0), b: a(1), c: a(2), k: k)
        case .extend:
            if !x!.isSigned || wa == w { slot[n] = a(0); return }
            ins = Instruction(op: .signExtend, sa: s(0), a: a(0), k: k)
        case .shiftLeft(let by):
            if by == 0 { slot[n] = a(0); return }
            ins = Instruction(op: .shiftLeft, a: a(0), c: Int32(by), k: k)
        case .shiftRight(let by):
            if by == 0 { slot[n] = a(0); return }
            if by >= wa {
                // Nothing but the sign is left: the top bit when signed, else zero.
                if !x!.isSigned { slot[n] = try constantSlot(.zero(w)); return }
                ins = Instruction(op: .slice, a: a(0), c: Int32(wa - 1), k: 1)
            } else {
                ins = Instruction(op: .slice, a: a(0), c: Int32(by), k: k)
            }
        case .memoryRead:
            let mem = memories[memory]
            ins = Instruction(op: .memoryRead, a: a(0), b: Int32(mem.base), c: Int32(mem.depth))
        case .const, .signal, .instanceOutput, .memorySyncRead, .reinterpret:
            throw SimulationError("internal: \(flat.nodes[n].label) is not an operator")
        }
        let d = try newSlot(width: w)
        slot[n] = d
        ins.dst = d
        code.append(ins)
    }

    private mutating func lowerWide(_ n: Int, _ e: Expr, _ args: [Int], _ memory: Int) throws {
        typealias Kind = WideInstruction.Kind
        let w = e.width
        let operands = args.enumerated().map { i, a in
            Operand(slot: slot[a], isWide: e.args[i].width > 64, width: e.args[i].width, isSigned: e.args[i].isSigned)
        }
        let wa = e.args.first?.width ?? 0
        var kind: Kind
        var payload = (0, 0)
        switch e.op {
        case .unary(let u):
            switch u {
            case .not: kind = .not
            case .andReduce: kind = .andReduce
            case .orReduce: kind = .orReduce
            case .xorReduce: kind = .xorReduce
            }
        case .binary(let b):
            switch b {
            case .addWiden, .addWrap: kind = .add
            case .subWiden, .subWrap: kind = .sub
            case .mul: kind = .mul
            case .and: kind = .and
            case .or: kind = .or
            case .xor: kind = .xor
            case .eq: kind = .eq
            case .ne: kind = .ne
            case .lt: kind = .lt
            case .le: kind = .le
            case .gt: kind = .gt
            case .ge: kind = .ge
            case .dynShiftLeft: kind = .shiftLeftDynamic
            case .dynShiftRight: kind = .shiftRightDynamic
            }
            if (b == .dynShiftLeft || b == .dynShiftRight) && e.args[1].width > 64 {
                throw SimulationError("shift amount of \(e.args[1].width) bits is not supported (\(e.loc))")
            }
        case .slice(let hi, let lo):
            if lo == 0 && hi == wa - 1 { slot[n] = slot[args[0]]; return }
            kind = .slice
            payload.0 = lo
        case .truncate:
            kind = .slice
        case .concat:
            if args.count == 1 { slot[n] = slot[args[0]]; return }
            kind = .concat
        case .mux:
            kind = .mux
        case .extend:
            if (!e.args[0].isSigned && wa > 64) || wa == w { slot[n] = slot[args[0]]; return }
            kind = .extend
        case .shiftLeft(let by):
            if by == 0 { slot[n] = slot[args[0]]; return }
            kind = .shiftLeft
            payload.0 = by
        case .shiftRight(let by):
            if by == 0 { slot[n] = slot[args[0]]; return }
            if by >= wa {
                if !e.args[0].isSigned { slot[n] = try constantSlot(.zero(w)); return }
                payload.0 = wa - 1
            } else {
                payload.0 = by
            }
            kind = .slice
        case .memoryRead:
            if e.args[0].width > 64 {
                throw SimulationError("memory address of \(e.args[0].width) bits is not supported (\(e.loc))")
            }
            kind = .memoryRead
            payload = (memories[memory].base, memories[memory].depth)
        case .const, .signal, .instanceOutput, .memorySyncRead, .reinterpret:
            throw SimulationError("internal: expression at \(e.loc) is not an operator")
        }
        let d = try newSlot(width: w)
        slot[n] = d
        wideCode.append(WideInstruction(kind: kind, n: payload.0, m: payload.1,
                                        dst: Operand(slot: d, isWide: w > 64, width: w, isSigned: e.isSigned),
                                        first: Int32(wideOperands.count), count: Int32(operands.count)))
        wideOperands += operands
        code.append(Instruction(op: .wide, a: Int32(wideCode.count - 1)))
    }

    // MARK: Clocked elements

    private mutating func compileClocked(_ flat: FlatDesign) throws {
        for r in flat.registers {
            let width = flat.nodes[r.node].width
            let enable = r.enable.map { slot[$0] } ?? -1
            if width > 64 {
                let reset = try r.reset.map { try constantSlot($0) }
                wideRegisters.append(Register(slot: slot[r.node], next: slot[r.next], enable: enable,
                                              reset: UInt64(reset ?? 0), hasReset: reset != nil))
            } else {
                registers.append(Register(slot: slot[r.node], next: slot[r.next], enable: enable,
                                          reset: r.reset?.low64 ?? 0, hasReset: r.reset != nil))
            }
        }
        for p in flat.writePorts {
            let mem = memories[p.memory]
            let port = WritePort(memory: p.memory, base: mem.base, depth: mem.depth, address: slot[p.address], data: slot[p.data], enable: slot[p.enable])
            if flat.nodes[p.address].width > 64 {
                throw SimulationError("memory address of \(flat.nodes[p.address].width) bits is not supported")
            }
            if mem.isWide { wideWritePorts.append(port) } else { writePorts.append(port) }
        }
        for r in flat.syncReads {
            let mem = memories[r.memory]
            let port = SyncRead(memory: r.memory, base: mem.base, depth: mem.depth, slot: slot[r.node], address: slot[r.address], enable: slot[r.enable])
            if flat.nodes[r.address].width > 64 {
                throw SimulationError("memory address of \(flat.nodes[r.address].width) bits is not supported")
            }
            if mem.isWide { wideSyncReads.append(port) } else { syncReads.append(port) }
        }
    }
}
