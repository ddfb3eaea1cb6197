/// A cycle-based, two-state simulator of an elaborated design, bit-exact with the Verilog that
/// `VerilogEmitter` writes for it.
///
///     let sim = try Simulator(try Elaborate.run(counter))
///     try sim.poke("rst", 1); sim.tick()
///     try sim.poke("rst", 0); try sim.poke("en", 1)
///     sim.tick()
///     try sim.peek("value")   // 8'h01
///
/// The hierarchy is flattened (each instance has its own registers and memories) and compiled
/// once into a flat instruction list (see `SimProgram`). The clock is implicit: `tick()` is one
/// rising edge. Registers and memories start at zero, except memories with initial contents;
/// this matches the Verilator harness, which builds models with `randReset(0)`.
///
/// Out-of-range memory accesses (possible when the depth is not a power of two) behave as in
/// Verilator: a read gives 0 and a write is ignored.
public final class Simulator {
    /// `rst` first when the top has a reset, then the top's inputs in declaration order: the
    /// Verilog port order without `clk`.
    public let inputs: [SimPort]
    /// The top's outputs in declaration order.
    public let outputs: [SimPort]

    private let machine: SimMachine
    private let program: SimProgram
    private let inputIndex: [String: Int]
    private let outputIndex: [String: Int]
    /// Inputs changed since the last `eval()`.
    private var inputsChanged = true

    public init(_ design: Design) throws {
        let flat = try FlatDesign(design)
        program = try SimProgram(flat)
        machine = SimMachine(program)
        inputs = program.inputs.map(\.port)
        outputs = program.outputs.map(\.port)
        inputIndex = Dictionary(inputs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        outputIndex = Dictionary(outputs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        eval()
    }

    // MARK: Ports by name

    /// Sets input `name`. A value narrower than the port is zero-extended; a wider one must have
    /// no bits set at or above the port's width.
    public func poke(_ name: String, _ value: Bits) throws {
        let slot = try inputSlot(name)
        let w = slot.port.width
        if value.width > w {
            for i in w..<value.width where value.bit(i) {
                throw SimulationError("value \(value) does not fit the \(w)-bit input '\(name)'")
            }
        }
        machine.write(slot: slot.slot, width: w, Bits(width: w, truncating: value.words))
        inputsChanged = true
    }

    /// Sets input `name`; the value must fit the port's width (unsigned).
    public func poke(_ name: String, _ value: UInt64) throws {
        let slot = try inputSlot(name)
        let w = slot.port.width
        if w < 64 && value >> UInt64(w) != 0 {
            throw SimulationError("value \(value) does not fit the \(w)-bit input '\(name)'")
        }
        machine.write(slot: slot.slot, width: w, Bits(width: w, truncating: [value]))
        inputsChanged = true
    }

    /// The value of a top output or input, or of any named net: a top-level wire, register,
    /// read register or instance output by its Verilog (or Swift) name, or a net inside an
    /// instance as `instance.name` (`u0.count`). Settles the logic first if inputs changed.
    public func peek(_ name: String) throws -> Bits {
        if inputsChanged { eval() }
        if let i = outputIndex[name] {
            let o = program.outputs[i]
            return machine.read(slot: o.slot, width: o.port.width)
        }
        if let i = inputIndex[name] {
            let p = program.inputs[i]
            return machine.read(slot: p.slot, width: p.port.width)
        }
        if let n = program.names[name] {
            return machine.read(slot: n.slot, width: n.width)
        }
        throw SimulationError("no port or net named '\(name)' (outputs: \(outputs.map(\.name).joined(separator: ", ")))")
    }

    // MARK: Memories

    /// Word `index` of memory `name` (`mem`, or `instance.mem` below the top).
    public func readMemory(_ name: String, _ index: Int) throws -> Bits {
        let mem = try memory(name, index)
        if mem.isWide { return machine.wideMemory[mem.base + index].bits(width: mem.width) }
        return Bits(width: mem.width, truncating: [machine.narrowMemory[mem.base + index]])
    }

    /// Overwrites word `index` of memory `name`, as a testbench backdoor load would.
    public func writeMemory(_ name: String, _ index: Int, _ value: Bits) throws {
        let mem = try memory(name, index)
        if value.width > mem.width, (mem.width..<value.width).contains(where: { value.bit($0) }) {
            throw SimulationError("value \(value) does not fit the \(mem.width)-bit words of memory '\(name)'")
        }
        let word = Bits(width: mem.width, truncating: value.words)
        if mem.isWide {
            machine.wideMemory[mem.base + index].set(word)
        } else {
            machine.narrowMemory[mem.base + index] = word.low64
        }
        inputsChanged = true
    }

    private func memory(_ name: String, _ index: Int) throws -> SimProgram.MemoryLayout {
        guard let m = program.memoryNames[name] else {
            throw SimulationError("no memory named '\(name)'")
        }
        let mem = program.memories[m]
        guard index >= 0 && index < mem.depth else {
            throw SimulationError("index \(index) is out of range for memory '\(name)' of depth \(mem.depth)")
        }
        return mem
    }

    // MARK: Time

    /// Settles the combinational logic.
    public func eval() {
        machine.eval()
        inputsChanged = false
    }

    /// One rising clock edge: registers, read registers and memory writes sample their inputs
    /// (settling first if inputs changed since `eval()`), all update, then the logic settles.
    public func tick() {
        if inputsChanged { machine.eval() }
        machine.clock()
        eval()
    }

    /// Back to power-on: registers zero, memories zero or their initial contents. Inputs are
    /// kept.
    public func powerOn() {
        var saved: [Bits] = []
        for p in program.inputs { saved.append(machine.read(slot: p.slot, width: p.port.width)) }
        machine.powerOn()
        for (p, v) in zip(program.inputs, saved) { machine.write(slot: p.slot, width: p.port.width, v) }
        eval()
    }

    // MARK: Packed interface (the Verilator harness's layout)

    /// 32-bit words of all inputs: each port takes `ceil(width/32)`, least significant first.
    public var inputWords: Int { inputs.reduce(0) { $0 + $1.words } }
    public var outputWords: Int { outputs.reduce(0) { $0 + $1.words } }

    /// Sets every input from packed words; bits above a port's width are ignored.
    public func setInputs(_ words: UnsafeBufferPointer<UInt32>) {
        precondition(words.count >= inputWords, "setInputs needs \(inputWords) words, got \(words.count)")
        setInputs(words.baseAddress!)
    }

    /// Copies every output into packed words; bits above a port's width are zero.
    public func getOutputs(_ words: UnsafeMutableBufferPointer<UInt32>) {
        precondition(words.count >= outputWords, "getOutputs needs \(outputWords) words, got \(words.count)")
        if inputsChanged { eval() }
        getOutputs(words.baseAddress!)
    }

    /// For each cycle: set inputs, eval, copy outputs, tick, exactly as the Verilator harness's
    /// `qk_run`. `inputs` holds `cycles * inputWords` words, `outputs` `cycles * outputWords`.
    public func run(cycles: Int, inputs: UnsafeBufferPointer<UInt32>, outputs: UnsafeMutableBufferPointer<UInt32>) {
        let iw = inputWords, ow = outputWords
        precondition(cycles >= 0, "run needs a non-negative cycle count")
        precondition(inputs.count >= cycles * iw, "run needs \(cycles * iw) input words, got \(inputs.count)")
        precondition(outputs.count >= cycles * ow, "run needs \(cycles * ow) output words, got \(outputs.count)")
        guard cycles > 0 else { return }
        for c in 0..<cycles {
            if iw > 0 { setInputs(inputs.baseAddress! + c * iw) }
            machine.eval()
            if ow > 0 { getOutputs(outputs.baseAddress! + c * ow) }
            machine.clock()
        }
        // Each cycle's eval settles the logic after the previous edge; only the last needs its own.
        eval()
    }

    private func setInputs(_ words: UnsafePointer<UInt32>) {
        var at = 0
        for p in program.inputs {
            let w = p.port.width
            if w <= 64 {
                var x = UInt64(words[at])
                if w > 32 { x |= UInt64(words[at + 1]) << 32 }
                machine.narrow[Int(p.slot)] = x & SimProgram.mask(w)
            } else {
                machine.wide[Int(p.slot)].setWords(words + at, count: p.port.words, width: w)
            }
            at += p.port.words
        }
        inputsChanged = true
    }

    private func getOutputs(_ words: UnsafeMutablePointer<UInt32>) {
        var at = 0
        for p in program.outputs {
            let w = p.port.width
            if w <= 64 {
                let x = machine.narrow[Int(p.slot)]
                words[at] = UInt32(truncatingIfNeeded: x)
                if w > 32 { words[at + 1] = UInt32(truncatingIfNeeded: x >> 32) }
            } else {
                machine.wide[Int(p.slot)].getWords(words + at, count: p.port.words)
            }
            at += p.port.words
        }
    }

    private func inputSlot(_ name: String) throws -> SimProgram.PortSlot {
        guard let i = inputIndex[name] else {
            throw SimulationError("no input named '\(name)' (inputs: \(inputs.map(\.name).joined(separator: ", ")))")
        }
        return program.inputs[i]
    }

    // MARK: Statistics

    /// Operator nodes of the flattened design.
    public var operatorCount: Int { program.operatorCount }
    /// Instructions run per evaluation (operators that only rename bits need none).
    public var instructionCount: Int { program.code.count }
    /// Instructions among those that run through GMP (a value or operand wider than 64 bits).
    public var wideInstructionCount: Int { program.wideCode.count }
}
