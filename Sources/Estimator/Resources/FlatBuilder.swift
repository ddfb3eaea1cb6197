import HDL

/// One placed module of the flattened design (a node of the instance tree).
struct Placement {
    let index: Int
    let path: String
    let module: Module
    var inputs: [Signal: [Int]] = [:]
    var children: [Int] = []
    var instanceIndex: [ObjectIdentifier: Int] = [:]
}

/// A flip-flop bit: output leaf `q`, data `d`, clock enable `en`, synchronous reset value.
struct FlopBit {
    let q: Int
    var d: Int
    var en: Int
    let reset: Int?
    let owner: Int
    /// The pins Yosys wires when `opt_dff` turns a constant arm of the next value into a
    /// synchronous reset (`c ? K : x`, a register without its own reset): D reads `x`
    /// (`dPin`) and R or S reads `c` (`rPin`); `d` keeps the whole next value for the
    /// constant and duplicate analyses. Nil otherwise.
    var dPin: Int? = nil
    var rPin: Int? = nil
    /// Register identity for the fixpoint (placement, signal index or sync-read key, bit).
    let key: FlopKey
}

struct FlopKey: Hashable { let placement: Int; let item: Int; let bit: Int }

/// A hard block: a carry chain, a comparator on a carry chain, a DSP, a RAM, or extra flops
/// that synthesis adds. Its outputs are leaves; it is live when any output is.
struct HardBlock {
    enum Kind { case adder, compare, dsp, memory, flops }
    let kind: Kind
    let owner: Int
    var outputs: [Int]
    /// Input bits consumed directly (each must be a LUT output or a leaf).
    var inputs: [Int] = []
    /// Adder bits: the propagate `x ^ y` (CARRY4 S) and the operand `x` (CARRY4 DI), per bit.
    /// Both are outputs of the LUT logic, so the LUT mapper sees them as sinks.
    var pairs: [(Int, Int)] = []
    var fixedLUTs = 0
    var carry4 = 0
    var dsps = 0
    var bram18 = 0
    var bram36 = 0
    var lutRAMSites = 0
    var extraFlops = 0
}

/// Expands the IR hierarchy into a `BitNetlist` with its flip-flops and hard blocks.
final class FlatBuilder {
    let design: Design
    let net = BitNetlist()
    var placements: [Placement] = []
    var flops: [FlopBit] = []
    var blocks: [HardBlock] = []
    var leafFlop: [Int: Int] = [:]
    var leafBlock: [Int: Int] = [:]
    var topOutputs: [Int] = []
    /// Comparisons against a constant, by output bit: their variable operand bits. xc7 maps
    /// them as logic (as here); Yosys `synth_ecp5` keeps them on a carry chain (`$alu`), which
    /// `LogicDepth` times. Resources are not affected.
    var constantCompares: [Int: [Int]] = [:]
    /// Register bits proven constant (0 or 1, or a late constant 2 or 3: `BitNetlist`), and
    /// register bits merged into an identical one.
    let constantFlops: [FlopKey: Int]
    let mergedFlops: [FlopKey: FlopKey]

    private var memo: [[ObjectIdentifier: [Int]]] = []
    private var regBits: [[Signal: [Int]]] = []
    private var syncBits: [[ObjectIdentifier: [Int]]] = []
    private var drivers: [ObjectIdentifier: [Signal: Expr]] = [:]
    private var mappings: [ObjectIdentifier: [ObjectIdentifier: MemoryMapping]] = [:]
    private var memOut: [[ObjectIdentifier: [Int]]] = []
    /// For merged flops: the leaf of the representative, filled as flops are made.
    private var flopLeaf: [FlopKey: Int] = [:]
    /// Hard blocks by kind and inputs: identical carry chains and DSPs are one after
    /// `opt_merge` (the Q and K accumulators of a block see the same events).
    private var blockHash: [[Int]: [Int]] = [:]
    /// Register inputs and memory ports still to evaluate.
    private var deferred: [() -> Void] = []

    init(_ design: Design, constantFlops: [FlopKey: Int] = [:], mergedFlops: [FlopKey: FlopKey] = [:]) {
        self.design = design
        self.constantFlops = constantFlops
        self.mergedFlops = mergedFlops
        for m in design.modules {
            var d: [Signal: Expr] = [:]
            for a in m.assignments { if let t = a.target.signal { d[t] = a.value } }
            drivers[ObjectIdentifier(m)] = d
            mappings[ObjectIdentifier(m)] = Self.memoryMappings(m, drivers: d)
        }
    }

    func mapping(_ mem: Memory) -> MemoryMapping { mappings[ObjectIdentifier(mem.module)]![ObjectIdentifier(mem)]! }

    /// Counts each memory's read ports and maps it.
    static func memoryMappings(_ m: Module, drivers: [Signal: Expr]) -> [ObjectIdentifier: MemoryMapping] {
        var asyncReads: [ObjectIdentifier: Int] = [:], registered: [ObjectIdentifier: Int] = [:]
        var seen = Set<ObjectIdentifier>()
        var stack: [Expr] = []
        for a in m.assignments { stack.append(a.value) }
        for u in m.updates { stack.append(u.value); if let e = u.enable { stack.append(e) } }
        for mem in m.memories { if let w = mem.writePort { stack += [w.address, w.data, w.enable] } }
        for r in m.syncReads { stack += [r.address, r.enable] }
        for i in m.instances { for c in i.connections { stack.append(c.value) } }
        while let e = stack.popLast() {
            if !seen.insert(ObjectIdentifier(e)).inserted { continue }
            if case .memoryRead(let mem) = e.op {
                asyncReads[ObjectIdentifier(mem), default: 0] += 1
                if isRegister(e.args[0], drivers) { registered[ObjectIdentifier(mem), default: 0] += 1 }
            }
            stack += e.args
        }
        var out: [ObjectIdentifier: MemoryMapping] = [:]
        for mem in m.memories {
            let id = ObjectIdentifier(mem)
            let sync = m.syncReads.filter { $0.memory === mem }.count
            out[id] = MemoryMapping.map(mem, asyncReads: asyncReads[id] ?? 0, registeredAsyncReads: registered[id] ?? 0, syncReads: sync)
        }
        return out
    }

    /// Whether `e` is, through wires and reinterpretations, a register's output.
    static func isRegister(_ e: Expr, _ drivers: [Signal: Expr]) -> Bool {
        var e = e
        for _ in 0..<64 {
            if case .reinterpret = e.op { e = e.args[0]; continue }
            if case .memorySyncRead = e.op { return true }
            guard let s = e.signal else { return false }
            if s.kind == .reg { return true }
            guard let d = drivers[s] else { return false }
            e = d
        }
        return false
    }

    // MARK: Building

    func build() {
        _ = place(design.top, path: design.verilogName(design.top), inputs: [:])
        placeAll(0)
        for p in 0..<placements.count { elaborateSinks(p) }
        let top = placements[0]
        for o in top.module.outputs { topOutputs += signalBits(0, o) }
        while !deferred.isEmpty {
            let jobs = deferred
            deferred = []
            for j in jobs { j() }
        }
    }

    private func place(_ m: Module, path: String, inputs: [Signal: [Int]]) -> Int {
        let idx = placements.count
        placements.append(Placement(index: idx, path: path, module: m, inputs: inputs))
        memo.append([:]); regBits.append([:]); syncBits.append([:]); memOut.append([:])
        return idx
    }

    /// The placement of instance `inst` inside placement `p`, made on first use.
    private func child(_ p: Int, _ inst: Instance) -> Int {
        if let c = placements[p].instanceIndex[ObjectIdentifier(inst)] { return c }
        let c = place(inst.module, path: "\(placements[p].path).\(inst.name)", inputs: [:])
        placements[p].instanceIndex[ObjectIdentifier(inst)] = c
        placements[p].children.append(c)
        // Inputs are evaluated lazily in the parent's context.
        return c
    }

    private func withOwner<T>(_ p: Int, _ body: () -> T) -> T {
        let saved = net.currentOwner
        net.currentOwner = Int32(p)
        defer { net.currentOwner = saved }
        return body()
    }

    /// Makes every instance placement (depth first, in order) so indices follow the tree.
    private func placeAll(_ p: Int) {
        for inst in placements[p].module.instances { placeAll(child(p, inst)) }
    }

    private func elaborateSinks(_ p: Int) {
        let m = placements[p].module
        withOwner(p) {
            for s in m.signals where s.kind == .reg { _ = signalBits(p, s) }
            for r in m.syncReads { _ = syncReadBits(p, r) }
            for mem in m.memories { _ = memoryOutputs(p, mem) }
        }
    }

    private func inputBits(_ p: Int, _ s: Signal) -> [Int] {
        if let b = placements[p].inputs[s] { return b }
        // Find the parent connection.
        guard let (parent, inst) = parentOf(p) else {
            // Top-level input: one leaf per bit.
            let bits = withOwner(p) { (0..<s.width).map { _ in net.leaf() } }
            placements[p].inputs[s] = bits
            return bits
        }
        let conn = inst.connections.first { $0.portName == s.name }!
        let bits = withOwner(parent) { eval(parent, conn.value) }
        placements[p].inputs[s] = bits
        return bits
    }

    private var parents: [Int: (Int, Instance)] = [:]
    private func parentOf(_ p: Int) -> (Int, Instance)? {
        if p == 0 { return nil }
        if let r = parents[p] { return r }
        for q in placements.indices {
            for inst in placements[q].module.instances where placements[q].instanceIndex[ObjectIdentifier(inst)] == p {
                parents[p] = (q, inst)
                return (q, inst)
            }
        }
        return nil
    }

    func signalBits(_ p: Int, _ s: Signal) -> [Int] {
        switch s.kind {
        case .input: return inputBits(p, s)
        case .wire, .output:
            guard let d = drivers[ObjectIdentifier(placements[p].module)]![s] else { return [Int](repeating: 0, count: s.width) }
            return withOwner(p) { eval(p, d) }
        case .reg:
            if let b = regBits[p][s] { return b }
            let m = placements[p].module
            let item = s.index
            let (bits, pending) = flopOutputs(p, item: item, width: s.width)
            regBits[p][s] = bits
            // Data and enable later, from the work list: registers feed back, and evaluating
            // them here would re-enter expressions still being evaluated.
            deferred.append {
                if let u = m.updates.last(where: { $0.target.signal === s }) {
                    let (d, en) = self.withOwner(p) { (self.eval(p, u.value), u.enable.map { self.eval(p, $0)[0] } ?? 1) }
                    // opt_dff: `c ? K : x` on a register with no reset of its own becomes a
                    // synchronous reset (or set) on `c`, D = x.
                    var pins: (d: [Int], r: Int)? = nil
                    if s.resetValue == nil, let arm = self.constantArm(p, u.value) {
                        pins = self.withOwner(p) {
                            let c = self.eval(p, arm.cond)[0]
                            return (self.ext(p, arm.rest, s.width), arm.invert ? self.net.not(c) : c)
                        }
                    }
                    for (i, key) in pending {
                        let reset = s.resetValue.map { $0.bit(i) ? 1 : 0 }
                        self.addFlop(q: bits[i], d: d[i], en: en, reset: reset, owner: p, key: key)
                        // Only where the rest fits one LUT6: a wider rest (an 8:1 group read) keeps
                        // the condition in its last LUT (Yosys: 3 LUT6 per bit, no LUT on R).
                        if let pins, pins.r > 3, self.support(pins.d[i], limit: 6) <= 6 {
                            self.flops[self.flops.count - 1].dPin = pins.d[i]
                            self.flops[self.flops.count - 1].rPin = pins.r
                        }
                    }
                } else {
                    for (i, key) in pending { self.addFlop(q: bits[i], d: bits[i], en: 0, reset: s.resetValue.map { $0.bit(i) ? 1 : 0 }, owner: p, key: key) }
                }
            }
            return bits
        }
    }

    private func addFlop(q: Int, d: Int, en: Int, reset: Int?, owner: Int, key: FlopKey) {
        var d = d, en = en
        // opt_dff: a feedback multiplexer becomes the clock enable.
        while net.kind[d] == .mux {
            let s = Int(net.a[d]), t = Int(net.b[d]), f = Int(net.c[d])
            if f == q { en = net.and(en, s); d = t } else if t == q { en = net.and(en, net.not(s)); d = f } else { break }
        }
        if d == q { en = 0 }
        leafFlop[q] = flops.count
        flops.append(FlopBit(q: q, d: d, en: en, reset: reset, owner: owner, key: key))
    }

    private func syncReadBits(_ p: Int, _ r: MemorySyncRead) -> [Int] {
        let id = ObjectIdentifier(r)
        if let b = syncBits[p][id] { return b }
        let mem = r.memory
        let map = mapping(mem)
        let item = 1_000_000 + (placements[p].module.syncReads.firstIndex { $0 === r } ?? 0)
        if map.kind == .blockRAM {
            // memory_dff merges the read register into the block RAM's output register.
            let out = memoryOutputs(p, mem)
            let bits = withOwner(p) { (0..<mem.width).map { _ in net.leaf() } }
            deferred.append {
                let addr = self.withOwner(p) { self.eval(p, r.address) + [self.eval(p, r.enable)[0]] }
                self.blocks[out.block].inputs += addr
            }
            for q in bits { leafBlock[q] = out.block }
            blocks[out.block].outputs += bits
            syncBits[p][id] = bits
            return bits
        }
        let (bits, pending) = flopOutputs(p, item: item, width: mem.width)
        syncBits[p][id] = bits
        deferred.append {
            let (data, en) = self.withOwner(p) { (self.readData(p, mem, address: self.eval(p, r.address), registered: false), self.eval(p, r.enable)[0]) }
            for (i, key) in pending { self.addFlop(q: bits[i], d: data[i], en: en, reset: nil, owner: p, key: key) }
        }
        return bits
    }

    /// The block of a RAM-mapped memory (block or LUT RAM), with its write port as inputs.
    private func memoryOutputs(_ p: Int, _ mem: Memory) -> (block: Int, bits: [Int]) {
        let id = ObjectIdentifier(mem)
        let map = mapping(mem)
        if map.kind == .logic {
            // Soft logic: a RAM becomes flip-flops (one per bit) written by address decode.
            if mem.writePort != nil, memOut[p][id] == nil { _ = ramFlops(p, mem) }
            return (-1, [])
        }
        if let b = memOut[p][id] { return (b[0], []) }
        var blk = HardBlock(kind: .memory, owner: p, outputs: [])
        blk.bram18 = map.bram18
        blk.bram36 = map.bram36
        blk.lutRAMSites = map.lutRAMSites
        blocks.append(blk)
        let bi = blocks.count - 1
        memOut[p][id] = [bi]
        if let w = mem.writePort {
            deferred.append {
                let ins = self.withOwner(p) { self.eval(p, w.address) + self.eval(p, w.data) + self.eval(p, w.enable) }
                self.blocks[bi].inputs += ins
            }
        }
        return (bi, [])
    }

    private var ramFlopBits: [[ObjectIdentifier: [[Int]]]] = []
    private func ramFlops(_ p: Int, _ mem: Memory) -> [[Int]] {
        while ramFlopBits.count <= p { ramFlopBits.append([:]) }
        if let w = ramFlopBits[p][ObjectIdentifier(mem)] { return w }
        let words = withOwner(p) { (0..<mem.depth).map { _ in (0..<mem.width).map { _ in net.leaf() } } }
        ramFlopBits[p][ObjectIdentifier(mem)] = words
        memOut[p][ObjectIdentifier(mem)] = [-1]
        let wp = mem.writePort!
        deferred.append { [self] in withOwner(p) {
            let addr = eval(p, wp.address), data = eval(p, wp.data), we = eval(p, wp.enable)[0]
            for (i, word) in words.enumerated() {
                let hit = net.and(we, net.equal(addr, net.consts(Bits(width: addr.count, truncating: i))))
                for (j, q) in word.enumerated() {
                    addFlop(q: q, d: net.mux(hit, data[j], q), en: 1,
                            reset: nil, owner: p, key: FlopKey(placement: p, item: 2_000_000 + mem.index * 65536 + i, bit: j))
                }
            }
        } }
        return words
    }

    /// `memory[address]`, combinationally.
    private func readData(_ p: Int, _ mem: Memory, address: [Int], registered: Bool) -> [Int] {
        let map = mapping(mem)
        switch map.kind {
        case .logic:
            let words: [[Int]]
            if mem.writePort != nil { words = ramFlops(p, mem) }
            else { words = (0..<mem.depth).map { i in net.consts(mem.initial?[i] ?? .zero(mem.width)) } }
            return muxTree(address, words, width: mem.width)
        case .blockRAM, .lutRAM:
            let bi = memoryOutputs(p, mem).block
            let bits = (0..<mem.width).map { _ in net.leaf() }
            blocks[bi].inputs += address
            blocks[bi].outputs += bits
            for q in bits { leafBlock[q] = bi }
            // A LUT RAM read whose address is a register: memory_dff merges the register into
            // the port and memory_libmap extracts it again ("Extracted addr FF"), a copy per
            // port that opt_merge folds back into the original register after flattening (the
            // hst-4-384 P12 designs count 216 fewer flip-flops than the copies would add).
            _ = registered
            return bits
        }
    }

    private func muxTree(_ address: [Int], _ words: [[Int]], width: Int) -> [Int] {
        var level = words
        var bit = 0
        while level.count > 1 {
            var next: [[Int]] = []
            var i = 0
            let s = bit < address.count ? address[bit] : 0
            while i < level.count {
                if i + 1 < level.count {
                    next.append((0..<width).map { j in net.mux(s, level[i + 1][j], level[i][j]) })
                } else {
                    // Addresses past the depth read as undefined; Yosys picks the last word.
                    next.append(level[i])
                }
                i += 2
            }
            level = next
            bit += 1
        }
        return level.isEmpty ? [Int](repeating: 0, count: width) : level[0]
    }

    // MARK: Expressions

    func eval(_ p: Int, _ e: Expr) -> [Int] {
        let id = ObjectIdentifier(e)
        if let r = memo[p][id] { return r }
        let r = compute(p, e)
        memo[p][id] = r
        return r
    }

    private func ext(_ p: Int, _ e: Expr, _ w: Int) -> [Int] { net.extend(eval(p, e), signed: e.isSigned, to: w) }

    /// The number of distinct leaves (inputs, flip-flops, hard-block outputs) that gate logic
    /// `x` reads, counted up to `limit + 1`.
    func support(_ x: Int, limit: Int) -> Int {
        var seen = Set<Int>(), leaves = Set<Int>(), stack = [x]
        while let y = stack.popLast(), leaves.count <= limit {
            if y <= 3 || !seen.insert(y).inserted { continue }
            if net.kind[y] == .leaf { leaves.insert(y) } else { stack += net.fanins(y) }
        }
        return leaves.count
    }

    /// A multiplexer with one constant arm, through wires: `cond ? K : rest` (`invert` false)
    /// or `cond ? rest : K` (`invert` true), as `opt_dff` finds it on a register's D.
    func constantArm(_ p: Int, _ e: Expr) -> (cond: Expr, invert: Bool, rest: Expr)? {
        let d = drivers[ObjectIdentifier(placements[p].module)]!
        var e = e
        for _ in 0..<64 {
            guard let s = e.signal, s.kind == .wire || s.kind == .output, let next = d[s] else { break }
            e = next
        }
        guard case .mux = e.op else { return nil }
        func isConst(_ x: Expr) -> Bool { if case .const = x.op { return true }; return false }
        if isConst(e.args[1]) && !isConst(e.args[2]) { return (e.args[0], false, e.args[2]) }
        if isConst(e.args[2]) && !isConst(e.args[1]) { return (e.args[0], true, e.args[1]) }
        return nil
    }

    private func compute(_ p: Int, _ e: Expr) -> [Int] {
        let w = e.width
        switch e.op {
        case .const(let c): return net.consts(c)
        case .signal(let s): return signalBits(p, s)
        case .instanceOutput(let inst, let port):
            let c = child(p, inst)
            return withOwner(c) { signalBits(c, port) }
        case .memoryRead(let mem):
            let addr = eval(p, e.args[0])
            let registered = Self.isRegister(e.args[0], drivers[ObjectIdentifier(placements[p].module)]!)
            let data = readData(p, mem, address: addr, registered: registered)
            if mapping(mem).kind == .logic && registered && mem.writePort == nil {
                // memory_dff merged the address register into the read port; lowering the ROM
                // to logic moves that register to the data side (`Extracted data FF`): one flop
                // per distinct, non-constant output bit, after the ROM's logic.
                var blk = HardBlock(kind: .flops, owner: p, outputs: [])
                var seen = Set<Int>()
                var out: [Int] = []
                for d in data {
                    if net.isConst(d) { out.append(d); continue }
                    // A column equal to an address bit (4 of 16 columns of a 2-bit address hold
                    // a0 or a1): the extracted flop holds the address bit, and Yosys reads that
                    // one flop wherever the registered address bit is read in the same port
                    // context (spike accumulator 32x32 P8 row: the bias flops `result0_rd[58]`,
                    // `[59]` are the MUXF7 selects of the `acc_lane[drain_group]` reads, which
                    // then take 7 inputs, not 8). The flop is still there: count it, but give
                    // the logic the address bit itself.
                    if addr.contains(d) {
                        out.append(d)
                        if seen.insert(d).inserted { blk.extraFlops += 1 }
                        continue
                    }
                    let q = net.leaf()
                    out.append(q)
                    blk.outputs.append(q)
                    if seen.insert(d).inserted { blk.inputs.append(d); blk.extraFlops += 1 }
                }
                blocks.append(blk)
                for q in blk.outputs { leafBlock[q] = blocks.count - 1 }
                return out
            }
            return data
        case .memorySyncRead(let r): return syncReadBits(p, r)
        case .reinterpret: return eval(p, e.args[0])
        case .extend: return ext(p, e.args[0], w)
        case .truncate: return Array(eval(p, e.args[0]).prefix(w))
        case .slice(let hi, let lo): return Array(eval(p, e.args[0])[lo...hi])
        case .concat:
            var bits: [Int] = []
            for a in e.args.reversed() { bits += eval(p, a) }
            return bits
        case .shiftLeft(let n): return [Int](repeating: 0, count: n) + eval(p, e.args[0])
        case .shiftRight(let n):
            let a = e.args[0], x = eval(p, a)
            if n >= a.width { return a.isSigned ? [x[x.count - 1]] : [0] }
            return Array(x[n...])
        case .mux:
            let s = eval(p, e.args[0])[0]
            let t = ext(p, e.args[1], w), f = ext(p, e.args[2], w)
            return (0..<w).map { net.mux(s, t[$0], f[$0]) }
        case .unary(let u):
            let x = eval(p, e.args[0])
            switch u {
            case .not: return x.map { net.not($0) }
            case .andReduce: return [net.reduceTree(x, net.and, empty: 1)]
            case .orReduce: return [net.reduceTree(x, net.or, empty: 0)]
            case .xorReduce: return [net.reduceTree(x, net.xor, empty: 0)]
            }
        case .binary(let op):
            let (x, y) = (e.args[0], e.args[1])
            switch op {
            case .and, .or, .xor:
                // A chain of the same operator (`acc = acc | term` in a loop) is rebuilt as a
                // balanced tree, as ABC's balancing does before mapping.
                var operands: [Expr] = []
                var stack = [e]
                while let t = stack.popLast() {
                    if case .binary(let o) = t.op, o == op, t.width == w, operands.count + stack.count < 4096 {
                        stack.append(t.args[1]); stack.append(t.args[0])
                    } else {
                        operands.append(t)
                    }
                }
                let vectors = operands.map { ext(p, $0, w) }
                let f: (Int, Int) -> Int = op == .and ? net.and : op == .or ? net.or : net.xor
                return (0..<w).map { i in net.reduceTree(vectors.map { $0[i] }, f, empty: op == .and ? 1 : 0) }
            case .addWiden, .addWrap: return adder(p, ext(p, x, w), ext(p, y, w), subtract: false)
            case .subWiden, .subWrap: return adder(p, ext(p, x, w), ext(p, y, w), subtract: true)
            case .mul: return multiply(p, ext(p, x, w), ext(p, y, w), widthA: x.width, widthB: y.width, signed: x.isSigned && y.isSigned)
            case .eq, .ne:
                let m = max(x.width, y.width)
                let a = ext(p, x, m), b = ext(p, y, m)
                let r = equality(p, a, b)
                return [op == .eq ? r : net.not(r)]
            case .lt, .le, .gt, .ge:
                let m = max(x.width, y.width)
                var a = ext(p, x, m), b = ext(p, y, m)
                if x.isSigned { a[m - 1] = net.not(a[m - 1]); b[m - 1] = net.not(b[m - 1]) }   // offset binary
                switch op {
                case .lt: return [compare(p, a, b)]
                case .gt: return [compare(p, b, a)]
                case .le: return [net.not(compare(p, b, a))]
                default: return [net.not(compare(p, a, b))]
                }
            case .dynShiftLeft, .dynShiftRight:
                var v = eval(p, x)
                let amount = eval(p, y)
                let fill = (op == .dynShiftRight && x.isSigned) ? v[v.count - 1] : 0
                for (k, s) in amount.enumerated() {
                    let n = 1 << min(k, 30)
                    let shifted: [Int] = (0..<w).map { i in
                        if op == .dynShiftLeft { return i - n >= 0 ? v[i - n] : 0 }
                        return i + n < w ? v[i + n] : fill
                    }
                    v = (0..<w).map { net.mux(s, shifted[$0], v[$0]) }
                }
                return v
            }
        }
    }

    private func isAllConst(_ x: [Int]) -> Bool { x.allSatisfy { $0 <= 1 } }
    /// Whether a hard block on these operand bits may be shared with an identical one
    /// (`opt_merge`): not when a late constant is among them, since in Yosys each is the
    /// output of its own cell (`s ? 0 : v_lane0`, `s ? 0 : v_lane1`) when the blocks are built.
    private func shareable(_ bits: [Int]) -> Bool { !bits.contains(where: BitNetlist.isLate) }
    private func value(_ x: [Int]) -> [Bool] { x.map { $0 == 1 } }

    /// `x + y` or `x - y` on a CARRY4 chain: one LUT per bit from the first bit that can
    /// carry; low bits where an operand is the constant 0 pass straight through.
    private func adder(_ p: Int, _ x: [Int], _ y: [Int], subtract: Bool) -> [Int] {
        let w = x.count
        if isAllConst(x) && isAllConst(y) {
            var carry = subtract, out: [Int] = []
            for i in 0..<w {
                let a = x[i] == 1, b = (y[i] == 1) != subtract
                out.append((a != b) != carry ? 1 : 0)
                carry = (a && b) || (carry && (a != b))
            }
            return out
        }
        // x + 0, x - 0 and 0 + y are their operand: no chain (opt_expr).
        if y.allSatisfy({ $0 == 0 }) { return x }
        if !subtract && x.allSatisfy({ $0 == 0 }) { return y }
        // wreduce: operands that are sign extensions of fewer bits give a sum of one bit more;
        // the bits above it copy its top bit.
        // Late constants (BitNetlist) are wires of distinct cells when wreduce runs: never an
        // extension.
        func extensionStart(_ v: [Int]) -> Int {
            if BitNetlist.isLate(v[v.count - 1]) { return v.count - 1 }
            var e = v.count - 1
            while e > 0 && v[e - 1] == v[v.count - 1] { e -= 1 }
            return e
        }
        let needed = max(extensionStart(x), extensionStart(y)) + 2
        if needed < w {
            let low = adder(p, Array(x.prefix(needed)), Array(y.prefix(needed)), subtract: subtract)
            return low + [Int](repeating: low[needed - 1], count: w - needed)
        }
        var out: [Int] = []
        var i = 0
        // Low bits with nothing to add: a + 0 (or a - 0; or 0 + b).
        while i < w && y[i] == 0 && (out.count == i) { out.append(x[i]); i += 1 }
        if !subtract { while i < w && x[i] == 0 && y[i] != 0 && out.count == i && i == 0 { out.append(y[i]); i += 1 } }
        if i == w { return out }
        let key = [0, subtract ? 1 : 0, i] + x + [-1] + y
        let shared = shareable(x + y)
        if shared, let outs = blockHash[key] { return out + outs }
        var blk = HardBlock(kind: .adder, owner: p, outputs: [])
        for j in i..<w { blk.pairs.append((net.xor(x[j], subtract ? net.not(y[j]) : y[j]), x[j])) }
        blk.carry4 = (w - i + 3) / 4
        for _ in i..<w { let q = net.leaf(); out.append(q); blk.outputs.append(q) }
        blocks.append(blk)
        for q in blk.outputs { leafBlock[q] = blocks.count - 1 }
        if shared { blockHash[key] = blk.outputs }
        return out
    }

    /// `x < y` unsigned. Against a constant it is plain logic; between two variables Yosys's
    /// `cmp2lcu` builds a carry chain with two LUT6 per three bit pairs.
    private func compare(_ p: Int, _ x: [Int], _ y: [Int]) -> Int {
        if isAllConst(x) || isAllConst(y) {
            let o = net.lessThan(x, y)
            if o > 3 { constantCompares[o] = (isAllConst(x) ? y : x).filter { $0 > 3 } }
            return o
        }
        let key = [1] + x + [-1] + y
        let shared = shareable(x + y)
        if shared, let o = blockHash[key] { return o[0] }
        let w = x.count
        let groups = (w + 2) / 3
        var blk = HardBlock(kind: .compare, owner: p, outputs: [net.leaf()])
        blk.inputs = x + y
        blk.fixedLUTs = 2 * groups
        blk.carry4 = (groups + 3) / 4
        blocks.append(blk)
        leafBlock[blk.outputs[0]] = blocks.count - 1
        if shared { blockHash[key] = blk.outputs }
        return blk.outputs[0]
    }

    /// `x == y`: against a constant, an AND tree of literals; between two variables, the same
    /// two LUT6 per three bit pairs as a comparison (what ABC gives for `$eq` in practice).
    private func equality(_ p: Int, _ x: [Int], _ y: [Int]) -> Int {
        var xs: [Int] = [], ys: [Int] = []
        var literals: [Int] = []
        // `$eq` is gate logic in Yosys, so late constants (BitNetlist) fold here like constants.
        // A result decided by late constants alone is a late constant.
        for (a, b) in zip(x, y) {
            if let va = BitNetlist.value(a), let vb = BitNetlist.value(b) {
                if va != vb { return a <= 1 && b <= 1 ? 0 : BitNetlist.lateZero }
                if a > 1 || b > 1 { literals.append(BitNetlist.lateOne) }
                continue
            }
            if let va = BitNetlist.value(a) { literals.append(va == 1 ? b : net.not(b)); continue }
            if let vb = BitNetlist.value(b) { literals.append(vb == 1 ? a : net.not(a)); continue }
            if a == b { continue }
            xs.append(a); ys.append(b)
        }
        if xs.count <= 2 { return net.and(net.reduceTree(literals, net.and, empty: 1), net.equal(xs, ys)) }
        let key = [2] + xs + [-1] + ys
        if let o = blockHash[key] { return net.and(net.reduceTree(literals, net.and, empty: 1), o[0]) }
        let groups = (xs.count + 2) / 3
        var blk = HardBlock(kind: .compare, owner: p, outputs: [net.leaf()])
        blk.inputs = xs + ys
        blk.fixedLUTs = 2 * groups
        blk.carry4 = (groups + 3) / 4
        blocks.append(blk)
        leafBlock[blk.outputs[0]] = blocks.count - 1
        blockHash[key] = blk.outputs
        return net.and(net.reduceTree(literals, net.and, empty: 1), blk.outputs[0])
    }

    /// `x * y`. `mul2dsp` with the xc7 limits (operands of at least 2 significant bits, a
    /// result of at least 9) puts it on DSP48E1 slices, 25 x 18 signed each, whether or not an
    /// operand is constant; smaller products by a constant are shift-and-add on carry chains.
    /// The widths are Yosys' after `wreduce`: an unsigned operand loses its constant-zero top
    /// bits (a signed one keeps one of them, its sign), an unsigned constant its trailing zeros
    /// too (`x * (k << s)` is `(x * k) << s`), and the result is at most the two operands'
    /// widths together (held-out seed 14: `in_channel * 10`, 5 x 3 bits into 8, is soft logic in
    /// Yosys, not a DSP).
    private func multiply(_ p: Int, _ x: [Int], _ y: [Int], widthA: Int, widthB: Int, signed: Bool) -> [Int] {
        let w = x.count
        // Bits up to the last one that is not the constant 0 (net literal 0), plus the sign.
        func significant(_ v: [Int]) -> Int {
            let bits = (v.lastIndex { $0 != 0 } ?? -1) + 1
            return signed && bits > 0 ? bits + 1 : bits
        }
        func trailingZeros(_ v: [Int]) -> Int { !signed && isAllConst(v) ? (v.firstIndex(of: 1) ?? 0) : 0 }
        let a = min(widthA, significant(x)), b = min(widthB, significant(y))
        if a == 0 || b == 0 { return [Int](repeating: 0, count: w) }
        let (sx, sy) = (trailingZeros(x), trailingZeros(y))
        let (ra, rb) = (a - sx, b - sy)
        let resultWidth = min(w - sx - sy, ra + rb)
        if ra >= 2 && rb >= 2 && resultWidth >= 9 && !(isAllConst(x) && isAllConst(y)) {
            let key = [3] + x + [-1] + y
            let shared = shareable(x + y)
            if shared, let o = blockHash[key] { return o }
            var blk = HardBlock(kind: .dsp, owner: p, outputs: [])
            blk.inputs = x + y
            blk.dsps = ((max(ra, rb) + 23) / 24) * ((min(ra, rb) + 16) / 17)
            for _ in 0..<w { blk.outputs.append(net.leaf()) }
            blocks.append(blk)
            for q in blk.outputs { leafBlock[q] = blocks.count - 1 }
            if shared { blockHash[key] = blk.outputs }
            return blk.outputs
        }
        // Shift-and-add: one partial product per bit of the narrower operand.
        var (v, k) = (x, y)
        if isAllConst(v) || (!isAllConst(k) && b > a) { swap(&v, &k) }
        var acc = [Int](repeating: 0, count: w)
        var first = true
        for s in 0..<w where k[s] != 0 {
            let row = (0..<w).map { i in i >= s ? net.and(v[i - s], k[s]) : 0 }
            acc = first ? row : adder(p, acc, row, subtract: false)
            first = false
        }
        return acc
    }
}

extension FlatBuilder {
    /// The output bits of `width` flops of one register or read register: a constant for a
    /// flop proven constant, the representative's leaf for a merged duplicate, otherwise a new
    /// leaf. `pending` lists the flops whose data and enable are still to be evaluated.
    func flopOutputs(_ p: Int, item: Int, width: Int) -> (bits: [Int], pending: [(Int, FlopKey)]) {
        var bits: [Int] = []
        var pending: [(Int, FlopKey)] = []
        withOwner(p) {
            for i in 0..<width {
                let key = FlopKey(placement: p, item: item, bit: i)
                if let c = constantFlops[key] { bits.append(c); continue }
                if let rep = mergedFlops[key], let leaf = flopLeaf[rep] { bits.append(leaf); continue }
                let q = net.leaf()
                flopLeaf[key] = q
                bits.append(q)
                pending.append((i, key))
            }
        }
        return (bits, pending)
    }
}
