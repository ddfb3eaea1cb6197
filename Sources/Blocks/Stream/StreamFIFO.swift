import HDL

/// Parameters of a valid/ready FIFO.
public struct StreamFIFOConfig: Hashable, Sendable {
    /// Bits of one beat.
    public var width: Int
    /// Beats it holds, `D >= 1`. Full throughput (one beat in and one out per cycle) needs
    /// `D >= 2`: with `D == 1` a beat can enter only in the cycle after the previous one left.
    public var depth: Int
    public var name: String

    public init(width: Int, depth: Int, name: String = "stream_fifo") {
        self.width = width
        self.depth = depth
        self.name = name
    }

    public var moduleName: String { "\(name)_w\(width)_d\(depth)" }

    public func validate() throws {
        guard (1...65_536).contains(width) else { throw BlockError("FIFO width is \(width) bits; choose 1...65536") }
        guard (1...(1 << 22)).contains(depth) else { throw BlockError("FIFO depth is \(depth) beats; choose 1...\(1 << 22)") }
    }
}

/// A first-in first-out buffer between two valid/ready streams.
///
/// Ports: `in_valid`, `in_ready`, `in_data[W-1:0]`; `out_valid`, `out_ready`, `out_data[W-1:0]`;
/// `level` (beats held). A beat moves in when `in_valid && in_ready` and out when
/// `out_valid && out_ready`; both may happen in the same cycle. `in_ready` (not full) and
/// `out_valid` (not empty) come from registers only, so the FIFO cuts every combinational
/// path between its two sides; `out_data` is a combinational read of the storage at the read
/// pointer (distributed RAM or registers). Nothing is lost or duplicated: a full FIFO refuses
/// the beat (`in_ready` low), it never overwrites. Reset (synchronous, `rst` high) empties it;
/// the storage is not reset, and `out_data` is undefined while `out_valid` is low.
public func makeStreamFIFO(_ c: StreamFIFOConfig) throws -> Module {
    try c.validate()
    let d = c.depth, w = c.width
    let aw = Memory.addressWidth(depth: d)
    let lw = Interval(0, d).unsignedWidth
    let m = Module(c.moduleName, doc: """
        Stream FIFO: \(d) beat(s) of \(w) bits, first in first out.
        in:  in_valid/in_ready, in_data[\(w - 1):0]; out: out_valid/out_ready, out_data[\(w - 1):0]; level[\(lw - 1):0] = beats held.
        in_ready (level < \(d)) and out_valid (level > 0) are registers; one beat in and one out per cycle\(d >= 2 ? "" : " (depth 1: a beat enters only once the previous one has left)").
        Synchronous active-high reset empties it; out_data is undefined while out_valid is low.
        """)
    m.parameter("width", w)
    m.parameter("depth", d)
    let inValid = m.input("in_valid", width: 1)
    let inData = m.input("in_data", width: w)
    let outReady = m.input("out_ready", width: 1)

    let mem = m.memory("storage", width: w, depth: d)
    let wr = m.reg("write_ptr", width: aw, reset: 0)
    let rd = m.reg("read_ptr", width: aw, reset: 0)
    let level = m.reg("level_q", width: lw, reset: 0)
    let notFull = m.reg("not_full", width: 1, reset: 1)
    let notEmpty = m.reg("not_empty", width: 1, reset: 0)

    let push = m.wire("push", inValid & notFull)
    let pop = m.wire("pop", outReady & notEmpty)
    func advance(_ p: Expr) -> Expr {
        mux(p.eq(.const(d - 1, width: aw)), .const(0, width: aw), p +% .const(1, width: aw))
    }
    m.next(wr, advance(wr), enable: push)
    m.next(rd, advance(rd), enable: pop)
    m.write(mem, address: wr, data: inData, enable: push)
    // level changes by push - pop; it stays in 0...D because a push needs level < D and a pop
    // level > 0.
    let up = m.wire("level_up", push & ~pop)
    let down = m.wire("level_down", pop & ~push)
    let one = Expr.const(1, width: lw)
    let nextLevel = m.wire("level_next", mux(up, level +% one, mux(down, level -% one, level)))
    m.next(level, nextLevel)
    m.next(notFull, nextLevel.ne(.const(d, width: lw)))
    m.next(notEmpty, nextLevel.ne(.const(0, width: lw)))

    m.output("in_ready", notFull)
    m.output("out_valid", notEmpty)
    m.output("out_data", m.read(mem, rd))
    m.output("level", level)
    return m
}
