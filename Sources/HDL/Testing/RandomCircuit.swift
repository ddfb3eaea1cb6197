import Description
/// Random circuits for differential testing: expression DAGs over every operator, with
/// registers (some with reset, some with enable), memories, widths from 1 to `maxWidth`, signed
/// and unsigned. The same seed always gives the same circuit.
public struct RandomCircuit {
    public struct Options: Sendable {
        public var inputs = 4
        public var nodes = 40
        public var registers = 4
        public var outputs = 4
        public var maxWidth = 200
        public var memories = true
        public init() {}
    }

    /// A circuit module named `name`, made from `seed`.
    public static func make(name: String, seed: UInt64, options: Options = .init()) -> Module {
        var g = RandomCircuit(seed: seed, options: options, module: Module(name, doc: "Random circuit, seed \(seed)."))
        g.build()
        return g.module
    }

    /// `count` random circuits side by side under one top module, so that one Verilator build
    /// checks many circuits. Ports of circuit `i` appear on the top as `c<i>_<port>`.
    public static func batch(name: String, seeds: [UInt64], options: Options = .init()) -> Module {
        let top = Module(name, doc: "\(seeds.count) random circuits, seeds \(seeds.first ?? 0)...")
        for (i, seed) in seeds.enumerated() {
            let c = make(name: "\(name)_c\(i)", seed: seed, options: options)
            let inst = top.instance(c, "u_c\(i)")
            for p in c.inputs {
                inst.connect(p.name, top.input("c\(i)_\(p.name)", width: p.width, signed: p.isSigned))
            }
            for p in c.outputs {
                top.output("c\(i)_\(p.name)", inst.output(p.name))
            }
        }
        return top
    }

    var rng: SplitMix64
    let options: Options
    let module: Module
    var values: [Expr] = []

    init(seed: UInt64, options: Options, module: Module) {
        rng = SplitMix64(seed: seed)
        self.options = options
        self.module = module
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    mutating func width() -> Int {
        // Mostly narrow values, some around the 64-bit boundary, some very wide.
        let w: Int
        switch int(0...9) {
        case 0...4: w = int(1...16)
        case 5...6: w = int(17...70)
        case 7: w = int(60...68)
        default: w = int(1...options.maxWidth)
        }
        return min(w, options.maxWidth)
    }

    mutating func pick() -> Expr { values[int(0...(values.count - 1))] }

    mutating func constant(width w: Int, signed: Bool) -> Expr {
        var words: [UInt64] = []
        for _ in 0..<((w + 63) / 64) { words.append(rng.next()) }
        if chance(0.3) { words = words.map { $0 & 0xF } }   // small values too
        return .const(Bits(width: w, truncating: words), signed: signed)
    }

    /// `e` made exactly `w` bits wide, by extension or an explicit wrap.
    func fit(_ e: Expr, _ w: Int) -> Expr {
        e.width > w ? e.truncate(to: w) : e.extend(to: w)
    }

    func same(_ e: Expr, signed: Bool) -> Expr { signed ? e.asSigned() : e.asUnsigned() }

    /// Keeps the widths of intermediate values within `maxWidth`.
    func bounded(_ e: Expr) -> Expr { e.width > options.maxWidth ? e.truncate(to: options.maxWidth) : e }

    mutating func build() {
        let m = module
        for i in 0..<options.inputs {
            values.append(m.input("in\(i)", width: width(), signed: chance(0.5)))
        }
        var regs: [Expr] = []
        for i in 0..<options.registers {
            let w = width(), s = chance(0.5)
            let r: Expr
            if chance(0.6) {
                var words: [UInt64] = []
                for _ in 0..<((w + 63) / 64) { words.append(rng.next()) }
                r = m.reg("r\(i)", width: w, signed: s, resetBits: Bits(width: w, truncating: words))
            } else {
                r = m.reg("r\(i)", width: w, signed: s)
            }
            regs.append(r)
            values.append(r)
        }
        var mems: [Memory] = []
        if options.memories {
            for i in 0..<int(0...1) {
                let w = width(), depth = int(1...12)
                var initial: [Bits]? = nil
                if chance(0.7) {
                    initial = (0..<depth).map { _ in
                        var words: [UInt64] = []
                        for _ in 0..<((w + 63) / 64) { words.append(rng.next()) }
                        return Bits(width: w, truncating: words)
                    }
                }
                mems.append(m.memory("mem\(i)", width: w, depth: depth, signed: chance(0.5), initial: initial))
            }
        }
        for _ in 0..<options.nodes {
            let e = bounded(node(mems: mems))
            values.append(chance(0.15) ? m.wire("w\(values.count)", e) : e)
        }
        for r in regs {
            let next = same(fit(pick(), r.width), signed: r.isSigned)
            m.next(r, next, enable: chance(0.5) ? pick().orReduce() : nil)
        }
        for mem in mems where mem.initial == nil || chance(0.7) {
            m.write(mem, address: address(mem, pick()), data: fit(pick(), mem.width), enable: pick().bit(0))
        }
        // Outputs: the last few values, so that most of the DAG is observable, and registers.
        var outs: [Expr] = Array(values.suffix(options.outputs))
        outs += regs.prefix(2)
        for (i, e) in outs.enumerated() { m.output("out\(i)", e) }
    }

    /// An address for `mem` made from `e`, kept below the depth: an out-of-range index reads
    /// as X in Icarus and is unspecified in Verilog, so random circuits never make one.
    func address(_ mem: Memory, _ e: Expr) -> Expr {
        let a = fit(e.asUnsigned(), mem.addressWidth)
        if mem.depth == 1 << mem.addressWidth { return a }
        if let c = a.constValue { return .const(Int(c.low64) % mem.depth, width: mem.addressWidth) }
        return mux(a.lt(.const(mem.depth, width: mem.addressWidth)), a, .const(0, width: mem.addressWidth))
    }

    mutating func node(mems: [Memory]) -> Expr {
        let a = pick()
        let choice = int(0...21)
        switch choice {
        case 0...5:
            let b = same(pick(), signed: a.isSigned)
            switch choice {
            case 0: return a +& b
            case 1: return a +% b
            case 2: return a -& b
            case 3: return a -% b
            case 4: return a.width + b.width <= options.maxWidth ? a * b : fit(a, 40) * fit(b, 40)
            default: return [a & b, a | b, a ^ b][int(0...2)]
            }
        case 6:
            let b = chance(0.3) ? constant(width: int(1...a.width), signed: a.isSigned) : same(pick(), signed: a.isSigned)
            return [a.eq(b), a.ne(b), a.lt(b), a.le(b), a.gt(b), a.ge(b)][int(0...5)]
        case 7: return ~a
        case 8: return [a.andReduce(), a.orReduce(), a.xorReduce()][int(0...2)]
        case 9:
            let lo = int(0...(a.width - 1)), hi = int(lo...(a.width - 1))
            return a.slice(hi, lo)
        case 10: return cat(a, pick())
        case 11:
            let b = same(pick(), signed: a.isSigned)
            return mux(pick().bit(0), a, b)
        case 12: return a.extend(to: max(a.width, min(a.width + int(0...40), options.maxWidth)))
        case 13: return a.truncate(to: int(1...a.width))
        case 14: return a.isSigned ? a.asUnsigned() : a.asSigned()
        case 15: return a.shiftLeft(int(0...20))
        case 16: return a.shiftRight(int(0...(a.width + 2)))
        case 17:
            let amount = fit(pick().asUnsigned(), int(1...8))
            return chance(0.5) ? a.shiftLeft(by: amount) : a.shiftRight(by: amount)
        case 18: return a.saturate(to: int(1...max(a.width, 1)))
        case 19:
            if let mem = mems.first {
                return module.read(mem, address(mem, a))
            }
            return a.negate()
        case 20:
            if let mem = mems.last {
                return module.readSync(mem, address(mem, a), enable: pick().bit(0),
                                       name: "rd\(values.count)")
            }
            return constant(width: width(), signed: chance(0.5))
        default:
            return constant(width: width(), signed: chance(0.5))
        }
    }
}
