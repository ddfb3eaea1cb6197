import HDL

/// How `synth_xilinx -family xc7` (Yosys 0.23, `memory_libmap`) implements one IR memory.
///
/// The rules are the xc7 library's: `lutrams_xc5v.txt` (distributed RAM, `prune_rom`: ROMs
/// never go to LUT RAM) and the built-in xc7 block-RAM library (RAMB18E1 cost 129, RAMB36E1 cost
/// 257; data widths 1, 2, 4, 9, 18, 36, and 72 in simple-dual-port mode). `memory_libmap` picks
/// the cheapest candidate, or soft logic when that is cheaper (`-logic-cost-ram` 1 per bit,
/// `-logic-cost-rom`, fitted: see below). Block RAM needs every read port synchronous (the ROM cost: see `romLogicCostPerBit`);
/// `memory_dff` first merges a read port's data register, or failing that its address register,
/// into the port, so an asynchronous read whose address is a register also qualifies.
/// Checked against Yosys on the designs `qkforge calibrate` synthesizes.
public struct MemoryMapping: Sendable, Equatable {
    public enum Kind: String, Sendable { case blockRAM, lutRAM, logic }
    public var kind: Kind
    public var bram18 = 0
    public var bram36 = 0
    /// LUT sites used as memory (RAM32M/RAM64M: 4 LUTs each; RAM128X1D: 4; RAM256X1S: 4).
    public var lutRAMSites = 0
    /// Primitive cells (RAM32M, RAM64M, RAM128X1D, ...).
    public var lutRAMCells = 0

    /// Block-RAM aspect ratios (depth, width), RAMB18E1 then RAMB36E1.
    static let ramb18: [(Int, Int)] = [(16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)]
    static let ramb36: [(Int, Int)] = [(32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72)]
    static let ramb18Cost = 129.0, ramb36Cost = 257.0
    /// Soft-logic cost of a ROM bit against the block-RAM costs above. Fitted on synchronous
    /// ROMs with random contents synthesized alone (`synth_xilinx -family xc7`, Yosys 0.23):
    /// 256 x 64 and 257 x 64 stay logic, 300 x 64 and 256 x 72 take one RAMB36 (512 x 72);
    /// 128 x 36 stays logic, 256 x 36 takes one RAMB18; 128 x 64 stays logic, 288 x 256 takes four
    /// RAMB36. Every one of these holds with 1/64 per bit (ties go to logic) and with no other
    /// power of two; `memory_libmap`'s documented default is 1/16 against library costs that are
    /// evidently four times the ones above.
    static let romLogicCostPerBit = 1.0 / 64.0

    /// The cheapest block-RAM tiling of `depth x width`: (RAMB18 count, RAMB36 count, cost).
    ///
    /// A memory deeper than a shape's depth `d` takes `k = ceil(depth / d)` row groups. They
    /// either sit in separate RAMs (`k * ceil(width / w)`), or share each RAM word: `k` slices
    /// of `floor(w / k)` bits side by side, the read data multiplexed by the high address bits
    /// (memory_libmap's address-mux swizzle), `ceil(width / floor(w / k))` RAMs. Observed with
    /// Yosys 0.23 on synchronous ROMs: 1536 x 192 in 8 RAMB36 (512 x 72 holding three 24-bit
    /// slices), 1536 x 96 in 4, 1536 x 36 in 3 RAMB18, 3072 x 36 in 3 RAMB36.
    static func blockRAM(depth: Int, width: Int) -> (Int, Int, Double) {
        func cells(_ d: Int, _ w: Int) -> Int {
            let k = (depth + d - 1) / d
            let separate = k * ((width + w - 1) / w)
            guard k > 1, w / k >= 1 else { return separate }
            return min(separate, (width + w / k - 1) / (w / k))
        }
        var best = (0, 0, Double.infinity)
        for (d, w) in ramb18 {
            let n = cells(d, w)
            if Double(n) * ramb18Cost < best.2 { best = (n, 0, Double(n) * ramb18Cost) }
        }
        for (d, w) in ramb36 {
            let n = cells(d, w)
            if Double(n) * ramb36Cost <= best.2 { best = (0, n, Double(n) * ramb36Cost) }
        }
        return best
    }

    /// A LUT-RAM type of the xc7 library (`lutrams_xc5v.txt`) at one address width: its depth
    /// (`2^abits`), data bits per cell, read ports per cell (each needs its own copy beyond),
    /// `cost` and `widthscale`, and the LUT sites of one cell. SDP: RAM32M (6 bits) and RAM64M
    /// (3 bits) with one write and one read port; QP: the same cells with three read ports and
    /// 2 or 1 bits; DP at 7 address bits: RAM128X1D. (SP needs the read at the write address,
    /// which no generated memory has; DP at 5 and 6 address bits is never cheaper than SDP.)
    struct LUTRAMType { let abits: Int; let unit: Int; let readsPerCell: Int; let cost: Double; let widthscale: Double }
    static let lutRAMTypes: [LUTRAMType] = [
        LUTRAMType(abits: 5, unit: 6, readsPerCell: 1, cost: 8, widthscale: 7),
        LUTRAMType(abits: 6, unit: 3, readsPerCell: 1, cost: 8, widthscale: 7),
        LUTRAMType(abits: 5, unit: 2, readsPerCell: 3, cost: 7, widthscale: 7),
        LUTRAMType(abits: 6, unit: 1, readsPerCell: 3, cost: 7, widthscale: 7),
        LUTRAMType(abits: 7, unit: 1, readsPerCell: 1, cost: 8, widthscale: 8),
    ]

    /// The cheapest LUT-RAM mapping by `memory_libmap`'s own cost (Yosys 0.23, `handle_geom`
    /// and `score_emu_ports`): with `k = ceil(depth / 2^abits)` stacked address ranges,
    /// `repl = k * ceil(width / unit)` cells per copy and one copy per `readsPerCell` read ports,
    /// cost = (cost - widthscale) * repl * copies + widthscale * k * width / unit * copies
    /// + 0.5 * (k - 1) * width per read port (the read multiplexer) + 0.5 * k when stacked (the
    /// write decode) + 2 * (1 per read port + 3 per read port that must emulate transparency:
    /// an asynchronous read at a registered address, which `memory_dff` makes a transparent
    /// synchronous port). Checked against Yosys's `debug memory_libmap` output: a 4 x 14
    /// accumulator state with two such reads costs 54.67 (3 RAM32M per copy), against 56 for
    /// flip-flops. Returns (cost, cells, LUT sites).
    static func lutRAM(depth: Int, width: Int, readPorts: Int, transparentReads: Int) -> (Double, Int, Int) {
        let ports = max(readPorts, 1)
        var best = (Double.infinity, 0, 0)
        for t in lutRAMTypes {
            let k = (depth + (1 << t.abits) - 1) >> t.abits
            let repl = k * ((width + t.unit - 1) / t.unit)
            let copies = (ports + t.readsPerCell - 1) / t.readsPerCell
            var cost = (t.cost - t.widthscale) * Double(repl * copies)
            cost += t.widthscale * Double(k * width) / Double(t.unit) * Double(copies)
            cost += 0.5 * Double((k - 1) * width * ports)
            if k != 1 { cost += 0.5 * Double(k) }
            cost += 2 * Double(ports + 3 * transparentReads)
            if cost < best.0 { best = (cost, repl * copies, 4 * repl * copies) }
        }
        return best
    }

    /// The mapping of `memory`, read through `asyncReads` combinational ports (of which
    /// `registeredAsyncReads` have a plain register as address) and `syncReads` synchronous ones.
    static func map(_ memory: Memory, asyncReads: Int, registeredAsyncReads: Int, syncReads: Int) -> MemoryMapping {
        let bits = Double(memory.depth * memory.width)
        let isROM = memory.writePort == nil
        let logicCost = bits * (isROM ? romLogicCostPerBit : 1.0)
        var best = MemoryMapping(kind: .logic)
        var bestCost = logicCost
        // Block RAM: 2 ports per RAMB (one write); every read port must be synchronous.
        let readPorts = asyncReads + syncReads
        let ramPorts = readPorts + (isROM ? 0 : 1)
        if asyncReads == registeredAsyncReads && readPorts >= 1 && ramPorts <= 2 {
            let (n18, n36, tiles) = blockRAM(depth: memory.depth, width: memory.width)
            // A read at a registered address of a RAM is a transparent synchronous port, and
            // block RAM emulates the transparency against the other port too: emulation score
            // 4, cost 2 x 4 (Yosys 0.23 `debug memory_libmap` on a 153 x 14 residual FIFO:
            // RAMB18 137 against 135.17 for 15 RAM32M, which it takes).
            let cost = tiles + (isROM ? 0 : 8 * Double(registeredAsyncReads))
            if cost < bestCost { best = MemoryMapping(kind: .blockRAM, bram18: n18, bram36: n36); bestCost = cost }
        }
        // Any depth: memory_libmap stacks LUT RAMs behind an address multiplexer (Yosys 0.23: a
        // 320 x 5 K buffer of a QKCA block in 10 RAM64M, rather than a RAMB18).
        if !isROM && readPorts >= 1 {
            let (cost, cells, sites) = lutRAM(depth: memory.depth, width: memory.width, readPorts: readPorts,
                                              transparentReads: registeredAsyncReads)
            if cost < bestCost { best = MemoryMapping(kind: .lutRAM, lutRAMSites: sites, lutRAMCells: cells); bestCost = cost }
        }
        return best
    }
}
