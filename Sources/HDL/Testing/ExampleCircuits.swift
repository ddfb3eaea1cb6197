/// Small circuits that exercise every construct of the IR. Their emitted Verilog is committed
/// under `Tests/HDLTests/Golden/` and compared byte for byte; they are also linted and
/// co-simulated.
public enum ExampleCircuits {
    public static let all: [(name: String, build: () -> Module)] = [
        ("counter", counter),
        ("signed_alu", signedALU),
        ("shifter", shifter),
        ("rom_ram", romRAM),
        ("hierarchy", hierarchy),
        ("wide_datapath", wideDatapath),
        ("saturating_acc", saturatingAccumulator),
    ]

    /// An 8-bit counter with enable and synchronous reset.
    public static func counter() -> Module {
        let m = Module("counter", doc: "8-bit up counter with enable.")
        let en = m.input("en", width: 1)
        let count = m.reg("count", width: 8, reset: 0)
        m.next(count, count +% .const(1, width: 8), enable: en)
        m.output("value", count)
        m.output("wrap", count.eq(.const(255, width: 8)).and(en))
        return m
    }

    /// Signed arithmetic and comparisons on mixed widths.
    public static func signedALU() -> Module {
        let m = Module("signed_alu")
        let a = m.input("a", width: 8, signed: true)
        let b = m.input("b", width: 5, signed: true)
        let u = m.input("u", width: 6)
        m.output("sum", a +& b)
        m.output("diff", a -% b)
        m.output("prod", a * b)
        m.output("neg", a.negate())
        m.output("lt", a.lt(b))
        m.output("ge_u", u.ge(.const(40, width: 6)))
        m.output("max", mux(a.gt(b.extend(to: 8)), a, b.extend(to: 8)))
        m.output("bits", cat(a.slice(7, 4), u.bit(0), b.asUnsigned()))
        m.output("parity", u.xorReduce() ^ a.asUnsigned().orReduce())
        return m
    }

    /// Constant and run-time shifts, logical and arithmetic.
    public static func shifter() -> Module {
        let m = Module("shifter")
        let x = m.input("x", width: 12, signed: true)
        let y = m.input("y", width: 12)
        let n = m.input("n", width: 4)
        m.output("x_shl3", x.shiftLeft(3))
        m.output("x_shr5", x.shiftRight(5))
        m.output("y_shr5", y.shiftRight(5))
        m.output("x_dshl", x.shiftLeft(by: n))
        m.output("x_dshr", x.shiftRight(by: n))
        m.output("y_dshr", y.shiftRight(by: n))
        m.output("x_shr_all", x.shiftRight(12))
        return m
    }

    /// A ROM with contents and a RAM with one write port, one sync and one async read.
    public static func romRAM() -> Module {
        let m = Module("rom_ram")
        let addr = m.input("addr", width: 3)
        let we = m.input("we", width: 1)
        let wdata = m.input("wdata", width: 6, signed: true)
        let rom = m.memory("coeffs", width: 6, depth: 6, signed: true,
                           initial: [3, -2, 31, -32, 0, 7].map { Bits(width: 6, truncating: $0) })
        let ram = m.memory("scratch", width: 6, depth: 8, signed: true)
        m.write(ram, address: addr, data: wdata, enable: we)
        let romAddr = mux(addr.lt(.const(6, width: 3)), addr, .const(0, width: 3))
        m.output("rom_q", m.read(rom, romAddr))
        let q = m.readSync(ram, addr, enable: ~we, name: "scratch_q")
        m.output("ram_q", q)
        m.output("ram_async", m.read(ram, addr +% .const(1, width: 3)))
        return m
    }

    /// Two instances of one child, with the child's outputs combined in the parent.
    public static func hierarchy() -> Module {
        let child = counter()
        let m = Module("two_counters")
        m.parameter("instances", 2)
        let go = m.input("go", width: 2)
        let a = m.instance(child, "u_low")
        a.connect("en", go.bit(0))
        let b = m.instance(child, "u_high")
        b.connect("en", go.bit(1) & a.output("wrap"))
        m.output("total", a.output("value") +& b.output("value"))
        return m
    }

    /// Values wider than 64 bits, on both the native and the GMP path of the simulator.
    public static func wideDatapath() -> Module {
        let m = Module("wide_datapath")
        let a = m.input("a", width: 100)
        let b = m.input("b", width: 70, signed: true)
        let acc = m.reg("acc", width: 200, reset: 0)
        let prod = m.wire("prod", a.asSigned() * b)
        m.next(acc, acc +% prod.extend(to: 200).asUnsigned())
        m.output("acc_q", acc)
        m.output("acc_hi", acc.slice(199, 130))
        m.output("cmp", a.gt(acc.truncate(to: 100)))
        return m
    }

    /// A signed accumulator that saturates at 10 bits.
    public static func saturatingAccumulator() -> Module {
        let m = Module("saturating_acc")
        let x = m.input("x", width: 8, signed: true)
        let v = m.reg("v", width: 10, signed: true, reset: 0)
        let sum = m.wire("sum", v +& x)
        m.next(v, sum.saturate(to: 10))
        m.output("v_q", v)
        return m
    }
}
