import HDL

/// Resources of one module or a whole design on a Xilinx 7-series part (the `synth_xilinx
/// -family xc7` mapping): LUTs, flip-flops, memory bits, 18 Kb and 36 Kb block RAMs and DSPs.
public struct ResourceCount: Codable, Equatable, Sendable {
    public var luts = 0
    public var flipFlops = 0
    public var memoryBits = 0
    public var bram18 = 0
    public var bram36 = 0
    public var dsps = 0
    public init(luts: Int = 0, flipFlops: Int = 0, memoryBits: Int = 0, bram18: Int = 0, bram36: Int = 0, dsps: Int = 0) {
        (self.luts, self.flipFlops, self.memoryBits, self.bram18, self.bram36, self.dsps) = (luts, flipFlops, memoryBits, bram18, bram36, dsps)
    }
    public static func + (a: ResourceCount, b: ResourceCount) -> ResourceCount {
        ResourceCount(luts: a.luts + b.luts, flipFlops: a.flipFlops + b.flipFlops, memoryBits: a.memoryBits + b.memoryBits,
                      bram18: a.bram18 + b.bram18, bram36: a.bram36 + b.bram36, dsps: a.dsps + b.dsps)
    }
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

/// The resource estimator. Flip-flops and memory bits are exact counts from the IR.
/// LUT, BRAM and DSP mapping: see the implementation notes in this folder.
public enum ResourceModel {
    public static func estimate(_ design: Design) -> ModuleEstimate {
        walk(design.top, path: design.verilogName(design.top), design: design)
    }

    private static func walk(_ m: Module, path: String, design: Design) -> ModuleEstimate {
        var own = ResourceCount()
        own.flipFlops = m.signals.filter { $0.kind == .reg }.reduce(0) { $0 + $1.width }
            + m.syncReads.reduce(0) { $0 + $1.memory.width }
        own.memoryBits = m.memories.reduce(0) { $0 + $1.depth * $1.width }
        let children = m.instances.map { walk($0.module, path: "\(path).\($0.name)", design: design) }
        let total = children.reduce(own) { $0 + $1.total }
        return ModuleEstimate(path: path, module: design.verilogName(m), own: own, total: total, children: children)
    }
}
