import HDL

/// Resources of one module or a whole design on a Xilinx 7-series part (the `synth_xilinx
/// -family xc7` mapping): LUTs, flip-flops, memory bits, 18 Kb and 36 Kb block RAMs and DSPs.
///
/// `luts` counts logic LUTs only (LUT1...LUT6, and INV, which is a LUT1), as `stat` reports
/// them. LUTs used as RAM are `lutRAMSites` (RAM32M and RAM64M: 4 sites each), carry chains
/// `carry4`; MUXF7/MUXF8 are not counted (they are slice muxes, not LUTs).
public struct ResourceCount: Codable, Equatable, Sendable {
    public var luts = 0
    public var flipFlops = 0
    public var memoryBits = 0
    public var bram18 = 0
    public var bram36 = 0
    public var dsps = 0
    /// LUT sites used as distributed RAM.
    public var lutRAMSites = 0
    /// CARRY4 cells.
    public var carry4 = 0
    public init(luts: Int = 0, flipFlops: Int = 0, memoryBits: Int = 0, bram18: Int = 0, bram36: Int = 0, dsps: Int = 0,
                lutRAMSites: Int = 0, carry4: Int = 0) {
        (self.luts, self.flipFlops, self.memoryBits, self.bram18, self.bram36, self.dsps) = (luts, flipFlops, memoryBits, bram18, bram36, dsps)
        (self.lutRAMSites, self.carry4) = (lutRAMSites, carry4)
    }
    public static func + (a: ResourceCount, b: ResourceCount) -> ResourceCount {
        ResourceCount(luts: a.luts + b.luts, flipFlops: a.flipFlops + b.flipFlops, memoryBits: a.memoryBits + b.memoryBits,
                      bram18: a.bram18 + b.bram18, bram36: a.bram36 + b.bram36, dsps: a.dsps + b.dsps,
                      lutRAMSites: a.lutRAMSites + b.lutRAMSites, carry4: a.carry4 + b.carry4)
    }
    /// Block RAM in RAMB36 equivalents (two RAMB18 share one RAMB36 site).
    public var bramTiles: Double { Double(bram36) + Double(bram18) / 2 }
}

/// The estimate of one placed module: its own logic, and everything under it.
public struct ModuleEstimate: Sendable {
    /// Hierarchical instance path, e.g. `qkta_top.u_lif_q`.
    public let path: String
    /// The Verilog module name.
    public let module: String
    public let own: ResourceCount
    public let total: ResourceCount
    public let children: [ModuleEstimate]
}

/// The resource estimator: what `synth_xilinx -family xc7 -flatten` (Yosys 0.23) makes of the
/// design, computed from the IR alone.
///
/// The design is flattened and expanded to bits (`BitNetlist`, `FlatBuilder`): gates with
/// constant folding and structural hashing, adders and comparators on carry chains,
/// multipliers on DSP48E1, memories on block RAM, LUT RAM or logic by the xc7 library's rules
/// (`MemoryMapping`). Flip-flops are the register bits that survive synthesis: dead ones
/// (reaching no output), constant ones and duplicates are removed, as `opt_clean`, `opt_dff`
/// and `opt_merge` remove them, to a fixpoint; a block RAM's read register moves into the RAM;
/// LUT RAM and ROM read ports get the flip-flops `memory_libmap` adds. LUTs come from packing
/// the gates into 6-input LUTs (`LUTPacking`). Logic is attributed to the module it was
/// written in; `memoryBits` is the IR's own count of memory bits.
public enum ResourceModel {
    public static func estimate(_ design: Design) -> ModuleEstimate {
        let (builder, packing) = fixpoint(design)
        return tree(0, builder, packing)
    }

    /// The bit netlist after the flop removals have reached their fixpoint (what the LUT
    /// packing counts, and what `LogicDepth` times).
    static func finalBuilder(_ design: Design) -> FlatBuilder { fixpoint(design).0 }

    private static func fixpoint(_ design: Design) -> (FlatBuilder, LUTPacking) {
        var constants: [FlopKey: Int] = [:]
        var merged: [FlopKey: FlopKey] = [:]
        var builder = FlatBuilder(design)
        builder.build()
        var packing = LUTPacking(builder)
        // opt_dff / opt_merge run to a fixpoint: a constant or merged flop can make others so.
        for _ in 0..<8 {
            if packing.constantFlops.keys.allSatisfy({ constants[$0] != nil }) && packing.mergedFlops.keys.allSatisfy({ merged[$0] != nil }) { break }
            constants.merge(packing.constantFlops) { a, _ in a }
            merged.merge(packing.mergedFlops) { a, _ in a }
            builder = FlatBuilder(design, constantFlops: constants, mergedFlops: merged)
            builder.build()
            packing = LUTPacking(builder)
        }
        return (builder, packing)
    }

    private static func tree(_ p: Int, _ b: FlatBuilder, _ k: LUTPacking) -> ModuleEstimate {
        let pl = b.placements[p]
        let own = ResourceCount(luts: k.luts[p], flipFlops: k.flops[p],
                                memoryBits: pl.module.memories.reduce(0) { $0 + $1.depth * $1.width },
                                bram18: k.bram18[p], bram36: k.bram36[p], dsps: k.dsps[p],
                                lutRAMSites: k.lutRAMSites[p], carry4: k.carry4[p])
        let children = pl.children.map { tree($0, b, k) }
        let total = children.reduce(own) { $0 + $1.total }
        return ModuleEstimate(path: pl.path, module: b.design.verilogName(pl.module), own: own, total: total, children: children)
    }
}
