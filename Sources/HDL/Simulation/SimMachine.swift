/// Runs a `SimProgram`: the slot arrays, the memories, the evaluation loop and the clock edge.
///
/// The narrow path touches only raw `UInt64` buffers allocated once, so evaluating and clocking a
/// design of narrow values allocates nothing. Wide values are GMP integers allocated once too;
/// GMP may grow a value's limbs the first time it holds a larger intermediate, then reuses them.
final class SimMachine {
    typealias Instruction = SimProgram.Instruction

    let program: SimProgram
    /// Narrow slots.
    let narrow: UnsafeMutablePointer<UInt64>
    /// Wide slots.
    let wide: MPZBuffer
    let narrowMemory: UnsafeMutablePointer<UInt64>
    let wideMemory: MPZBuffer

    private let code: UnsafeMutablePointer<Instruction>
    private let codeCount: Int
    private let wideCode: UnsafeMutablePointer<SimProgram.WideInstruction>
    private let wideOperands: UnsafeMutablePointer<SimProgram.Operand>
    /// Values sampled at the clock edge before any is stored: registers, then read registers.
    private let staged: UnsafeMutablePointer<UInt64>
    private let stagedWide: MPZBuffer
    /// Per narrow write port: enable, address, data. Per wide write port: enable, address.
    private let stagedWrites: UnsafeMutablePointer<UInt64>
    private let stagedWideWrites: UnsafeMutablePointer<UInt64>
    private let stagedWideData: MPZBuffer
    /// Scratch integers of the wide path: two operand readings, a result, and zero.
    private let scratch = MPZBuffer(count: 4)
    private var s0: MPZRef { scratch[0] }
    private var s1: MPZRef { scratch[1] }
    private var t: MPZRef { scratch[2] }
    private var zero: MPZRef { scratch[3] }

    init(_ program: SimProgram) {
        self.program = program
        narrow = .allocate(capacity: max(program.narrowInitial.count, 1))
        narrow.initialize(repeating: 0, count: max(program.narrowInitial.count, 1))
        wide = MPZBuffer(count: program.wideWidths.count)
        narrowMemory = .allocate(capacity: max(program.narrowMemoryWords, 1))
        narrowMemory.initialize(repeating: 0, count: max(program.narrowMemoryWords, 1))
        wideMemory = MPZBuffer(count: program.wideMemoryWords)
        codeCount = program.code.count
        let code = UnsafeMutablePointer<Instruction>.allocate(capacity: max(codeCount, 1))
        program.code.withUnsafeBufferPointer { buf in
            if let base = buf.baseAddress { code.initialize(from: base, count: buf.count) }
        }
        self.code = code
        wideCode = Self.copy(program.wideCode)
        wideOperands = Self.copy(program.wideOperands)
        staged = .allocate(capacity: max(program.registers.count + program.syncReads.count, 1))
        staged.initialize(repeating: 0, count: max(program.registers.count + program.syncReads.count, 1))
        stagedWide = MPZBuffer(count: program.wideRegisters.count + program.wideSyncReads.count)
        stagedWrites = .allocate(capacity: max(3 * program.writePorts.count, 1))
        stagedWrites.initialize(repeating: 0, count: max(3 * program.writePorts.count, 1))
        stagedWideWrites = .allocate(capacity: max(2 * program.wideWritePorts.count, 1))
        stagedWideWrites.initialize(repeating: 0, count: max(2 * program.wideWritePorts.count, 1))
        stagedWideData = MPZBuffer(count: program.wideWritePorts.count)
        powerOn()
    }

    private static func copy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(array.count, 1))
        array.withUnsafeBufferPointer { buf in
            if let base = buf.baseAddress { p.initialize(from: base, count: buf.count) }
        }
        return p
    }

    deinit {
        wideCode.deallocate()
        wideOperands.deallocate()
        narrow.deallocate()
        narrowMemory.deallocate()
        code.deallocate()
        staged.deallocate()
        stagedWrites.deallocate()
        stagedWideWrites.deallocate()
    }

    /// Registers and memories to zero (memories with initial contents to those), constants set.
    func powerOn() {
        program.narrowInitial.withUnsafeBufferPointer { buf in
            if let base = buf.baseAddress { narrow.update(from: base, count: buf.count) }
        }
        for i in 0..<wide.count { wide[i].set(0) }
        for (s, value) in program.wideConstants { wide[Int(s)].set(value) }
        narrowMemory.update(repeating: 0, count: max(program.narrowMemoryWords, 1))
        for i in 0..<wideMemory.count { wideMemory[i].set(0) }
        for mem in program.memories {
            guard let initial = mem.initial else { continue }
            for (i, word) in initial.enumerated() {
                if mem.isWide { wideMemory[mem.base + i].set(word) } else { narrowMemory[mem.base + i] = word.low64 }
            }
        }
    }

    // MARK: Evaluation

    /// Sign-extends `x` from bit `63 - s` (no change when `s` is 0).
    @inline(__always)
    private static func ext(_ x: UInt64, _ s: UInt8) -> UInt64 {
        UInt64(bitPattern: Int64(bitPattern: x &<< UInt64(s)) &>> Int64(s))
    }

    /// Settles the combinational logic: every instruction once, in dependency order.
    func eval() {
        let v = narrow
        let mem = narrowMemory
        var p = UnsafePointer(code)
        let end = p + codeCount
        while p < end {
            let i = p.pointee
            p += 1
            let d = Int(i.dst)
            switch i.op {
            case .not:
                v[d] = ~v[Int(i.a)] & i.k
            case .andReduce:
                v[d] = v[Int(i.a)] == i.k ? 1 : 0
            case .orReduce:
                v[d] = v[Int(i.a)] != 0 ? 1 : 0
            case .xorReduce:
                v[d] = UInt64(v[Int(i.a)].nonzeroBitCount & 1)
            case .add:
                v[d] = (Self.ext(v[Int(i.a)], i.sa) &+ Self.ext(v[Int(i.b)], i.sb)) & i.k
            case .sub:
                v[d] = (Self.ext(v[Int(i.a)], i.sa) &- Self.ext(v[Int(i.b)], i.sb)) & i.k
            case .mul:
                v[d] = (Self.ext(v[Int(i.a)], i.sa) &* Self.ext(v[Int(i.b)], i.sb)) & i.k
            case .and:
                v[d] = (Self.ext(v[Int(i.a)], i.sa) & Self.ext(v[Int(i.b)], i.sb)) & i.k
            case .or:
                v[d] = (Self.ext(v[Int(i.a)], i.sa) | Self.ext(v[Int(i.b)], i.sb)) & i.k
            case .xor:
                v[d] = (Self.ext(v[Int(i.a)], i.sa) ^ Self.ext(v[Int(i.b)], i.sb)) & i.k
            case .eq:
                v[d] = Self.ext(v[Int(i.a)], i.sa) == Self.ext(v[Int(i.b)], i.sb) ? 1 : 0
            case .ne:
                v[d] = Self.ext(v[Int(i.a)], i.sa) != Self.ext(v[Int(i.b)], i.sb) ? 1 : 0
            case .ltUnsigned:
                v[d] = v[Int(i.a)] < v[Int(i.b)] ? 1 : 0
            case .leUnsigned:
                v[d] = v[Int(i.a)] <= v[Int(i.b)] ? 1 : 0
            case .ltSigned:
                v[d] = Int64(bitPattern: Self.ext(v[Int(i.a)], i.sa)) < Int64(bitPattern: Self.ext(v[Int(i.b)], i.sb)) ? 1 : 0
            case .leSigned:
                v[d] = Int64(bitPattern: Self.ext(v[Int(i.a)], i.sa)) <= Int64(bitPattern: Self.ext(v[Int(i.b)], i.sb)) ? 1 : 0
            case .shiftLeftDynamic:
                let by = v[Int(i.b)]
                v[d] = by >= 64 ? 0 : (v[Int(i.a)] &<< by) & i.k
            case .shiftRightLogical:
                let by = v[Int(i.b)]
                v[d] = by >= 64 ? 0 : v[Int(i.a)] &>> by
            case .shiftRightArithmetic:
                let by = min(v[Int(i.b)], 63)
                v[d] = UInt64(bitPattern: Int64(bitPattern: Self.ext(v[Int(i.a)], i.sa)) &>> Int64(by)) & i.k
            case .slice:
                v[d] = (v[Int(i.a)] &>> UInt64(i.c)) & i.k
            case .shiftLeft:
                v[d] = (v[Int(i.a)] &<< UInt64(i.c)) & i.k
            case .signExtend:
                v[d] = Self.ext(v[Int(i.a)], i.sa) & i.k
            case .mux:
                v[d] = (v[Int(i.a)] != 0 ? Self.ext(v[Int(i.b)], i.sb) : Self.ext(v[Int(i.c)], i.sc)) & i.k
            case .shiftOr:
                v[d] = (v[Int(i.a)] &<< UInt64(i.c)) | v[Int(i.b)]
            case .memoryRead:
                let address = v[Int(i.a)]
                v[d] = address < UInt64(i.c) ? mem[Int(i.b) + Int(address)] : 0
            case .wide:
                runWide(Int(i.a))
            }
        }
    }

    // MARK: Clock edge

    /// The rising clock edge: every register, read register and memory write samples its inputs,
    /// then all of them update (non-blocking assignment). Does not evaluate.
    func clock() {
        let v = narrow
        let p = program
        let reset = p.resetSlot >= 0 && v[Int(p.resetSlot)] != 0
        let nRegs = p.registers.count

        // Sample.
        p.registers.withUnsafeBufferPointer { regs in
            for (i, r) in regs.enumerated() {
                if r.hasReset && reset {
                    staged[i] = r.reset
                } else if r.enable < 0 || v[Int(r.enable)] != 0 {
                    staged[i] = v[Int(r.next)]
                } else {
                    staged[i] = v[Int(r.slot)]
                }
            }
        }
        for (j, r) in p.syncReads.enumerated() {
            if v[Int(r.enable)] != 0 {
                let address = v[Int(r.address)]
                staged[nRegs + j] = address < UInt64(r.depth) ? narrowMemory[r.base + Int(address)] : 0
            } else {
                staged[nRegs + j] = v[Int(r.slot)]
            }
        }
        for (j, w) in p.writePorts.enumerated() {
            stagedWrites[3 * j] = v[Int(w.enable)]
            stagedWrites[3 * j + 1] = v[Int(w.address)]
            stagedWrites[3 * j + 2] = v[Int(w.data)]
        }
        let nWideRegs = p.wideRegisters.count
        for (i, r) in p.wideRegisters.enumerated() {
            if r.hasReset && reset {
                stagedWide[i].set(wide[Int(r.reset)])
            } else if r.enable < 0 || v[Int(r.enable)] != 0 {
                stagedWide[i].set(wide[Int(r.next)])
            } else {
                stagedWide[i].set(wide[Int(r.slot)])
            }
        }
        for (j, r) in p.wideSyncReads.enumerated() {
            if v[Int(r.enable)] != 0 {
                let address = v[Int(r.address)]
                stagedWide[nWideRegs + j].set(address < UInt64(r.depth) ? wideMemory[r.base + Int(address)] : zero)
            } else {
                stagedWide[nWideRegs + j].set(wide[Int(r.slot)])
            }
        }
        for (j, w) in p.wideWritePorts.enumerated() {
            stagedWideWrites[2 * j] = v[Int(w.enable)]
            stagedWideWrites[2 * j + 1] = v[Int(w.address)]
            if v[Int(w.enable)] != 0 { stagedWideData[j].set(wide[Int(w.data)]) }
        }

        // Update.
        p.registers.withUnsafeBufferPointer { regs in
            for (i, r) in regs.enumerated() { v[Int(r.slot)] = staged[i] }
        }
        for (j, r) in p.syncReads.enumerated() { v[Int(r.slot)] = staged[nRegs + j] }
        for (j, w) in p.writePorts.enumerated() where stagedWrites[3 * j] != 0 {
            let address = stagedWrites[3 * j + 1]
            if address < UInt64(w.depth) { narrowMemory[w.base + Int(address)] = stagedWrites[3 * j + 2] }
        }
        for (i, r) in p.wideRegisters.enumerated() { wide[Int(r.slot)].set(stagedWide[i]) }
        for (j, r) in p.wideSyncReads.enumerated() { wide[Int(r.slot)].set(stagedWide[nWideRegs + j]) }
        for (j, w) in p.wideWritePorts.enumerated() where stagedWideWrites[2 * j] != 0 {
            let address = stagedWideWrites[2 * j + 1]
            if address < UInt64(w.depth) { wideMemory[w.base + Int(address)].set(stagedWideData[j]) }
        }
    }

    // MARK: Wide instructions

    /// The value of `o` as a GMP integer: its two's-complement reading when `signedReading` and
    /// the operand is signed, else its unsigned reading. May return `scratch` or the slot itself.
    @inline(__always)
    private func value(_ o: SimProgram.Operand, _ scratch: MPZRef, signedReading: Bool) -> MPZRef {
        if o.isWide {
            let x = wide[Int(o.slot)]
            if signedReading && o.isSigned && x.testBit(o.width - 1) {
                scratch.signedReading(x, width: o.width)
                return scratch
            }
            return x
        }
        let x = narrow[Int(o.slot)]
        if signedReading && o.isSigned {
            scratch.set(signed: Int64(bitPattern: Self.ext(x, UInt8(64 - o.width))))
        } else {
            scratch.set(x)
        }
        return scratch
    }

    /// Stores `r` reduced modulo `2^width` into the destination slot.
    @inline(__always)
    private func store(_ r: MPZRef, _ d: SimProgram.Operand) {
        if d.isWide {
            wide[Int(d.slot)].lowBits(r, d.width)
        } else if r.isNegative {
            t.lowBits(r, d.width)
            narrow[Int(d.slot)] = t.low64
        } else {
            narrow[Int(d.slot)] = r.low64 & SimProgram.mask(d.width)
        }
    }

    @inline(never)
    private func runWide(_ index: Int) {
        let ins = wideCode[index]
        let d = ins.dst
        let args = wideOperands + Int(ins.first)
        switch ins.kind {
        case .not:
            t.complement(value(args[0], s0, signedReading: false))
            store(t, d)
        case .andReduce:
            narrow[Int(d.slot)] = value(args[0], s0, signedReading: false).popcount() == args[0].width ? 1 : 0
        case .orReduce:
            narrow[Int(d.slot)] = value(args[0], s0, signedReading: false).isZero ? 0 : 1
        case .xorReduce:
            narrow[Int(d.slot)] = UInt64(value(args[0], s0, signedReading: false).popcount() & 1)
        case .add, .sub, .mul, .and, .or, .xor:
            // Extension to the result width by signedness, then arithmetic modulo 2^width, is
            // arithmetic on the operands' readings reduced modulo 2^width.
            let a = value(args[0], s0, signedReading: true)
            let b = value(args[1], s1, signedReading: true)
            switch ins.kind {
            case .add: t.add(a, b)
            case .sub: t.sub(a, b)
            case .mul: t.mul(a, b)
            case .and: t.and(a, b)
            case .or: t.or(a, b)
            default: t.xor(a, b)
            }
            store(t, d)
        case .eq, .ne, .lt, .le, .gt, .ge:
            let c = value(args[0], s0, signedReading: true).compare(value(args[1], s1, signedReading: true))
            let r: Bool
            switch ins.kind {
            case .eq: r = c == 0
            case .ne: r = c != 0
            case .lt: r = c < 0
            case .le: r = c <= 0
            case .gt: r = c > 0
            default: r = c >= 0
            }
            narrow[Int(d.slot)] = r ? 1 : 0
        case .shiftLeftDynamic:
            let by = shiftAmount(args[1])
            if by >= d.width {
                store(zero, d)
            } else {
                t.shiftLeft(value(args[0], s0, signedReading: false), by)
                store(t, d)
            }
        case .shiftRightDynamic:
            // floor(reading / 2^n): arithmetic for a signed reading, logical otherwise. Shifting by
            // the full width leaves only the sign (0 or -1), as any larger amount would.
            let by = min(shiftAmount(args[1]), d.width)
            t.shiftRight(value(args[0], s0, signedReading: true), by)
            store(t, d)
        case .slice:
            let a = value(args[0], s0, signedReading: false)
            if d.isWide {
                t.shiftRight(a, ins.n)
                store(t, d)
            } else {
                let word = ins.n / 64, bit = ins.n % 64
                var x = a.limb(word) >> UInt64(bit)
                if bit != 0 { x |= a.limb(word + 1) << UInt64(64 - bit) }
                narrow[Int(d.slot)] = x & SimProgram.mask(d.width)
            }
        case .concat:
            let r = wide[Int(d.slot)]
            r.set(0 as UInt64)
            for i in 0..<Int(ins.count) {
                r.shiftLeft(r, args[i].width)
                r.or(r, value(args[i], s0, signedReading: false))
            }
        case .mux:
            let chosen = narrow[Int(args[0].slot)] != 0 ? args[1] : args[2]
            store(value(chosen, s0, signedReading: true), d)
        case .extend:
            store(value(args[0], s0, signedReading: true), d)
        case .shiftLeft:
            t.shiftLeft(value(args[0], s0, signedReading: false), ins.n)
            store(t, d)
        case .memoryRead:
            let address = narrow[Int(args[0].slot)]
            store(address < UInt64(ins.m) ? wideMemory[ins.n + Int(address)] : zero, d)
        }
    }

    private func shiftAmount(_ o: SimProgram.Operand) -> Int {
        let x = narrow[Int(o.slot)]
        return x > UInt64(Int.max) ? Int.max : Int(x)
    }

    // MARK: Slot access

    func read(slot: Int32, width: Int) -> Bits {
        if width > 64 { return wide[Int(slot)].bits(width: width) }
        return Bits(width: width, truncating: [narrow[Int(slot)]])
    }

    func write(slot: Int32, width: Int, _ value: Bits) {
        if width > 64 {
            let w = wide[Int(slot)]
            w.set(value)
            w.lowBits(w, width)
        } else {
            narrow[Int(slot)] = value.low64 & SimProgram.mask(width)
        }
    }
}
