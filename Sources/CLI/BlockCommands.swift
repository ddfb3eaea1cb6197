import Description
import Foundation
import HDL
import Blocks
import Golden
import Cosim
import Estimator

/// `generate` of the composite blocks (`--block mlp`, `--block qkformer-block`): the same design
/// and files as every block, with the resource estimate and the composite-block cycle estimate.
enum BlockCommands {
    /// `report.json` of a composite block: what was built, the resource estimate
    /// (`ResourceModel`, as the attention blocks' report) and the cycle estimate (`BlockPerformance`).
    struct Report: Encodable {
        struct Memory: Encodable { let path: String; let depth: Int; let width: Int }
        struct Files: Encodable { let paths: String; let memoryDirectoryMacro: String; let memoryDirectory: String }
        let generator: String, top: String, model: String, stage: Int, index: Int, block: String, attention: String?
        let dim: Int, heads: Int, tokens: Int, timeSteps: Int, mlpRatio: Int, lanes: Int, maxInputCount: Int
        let inputCountWidth: Int, outputCountWidth: Int, countsPerBeat: Int
        let weights: String, flipFlops: Int, memoryBits: Int, memories: [Memory], files: Files
        let resources: GenerateReport.Resources
        let performance: BlockPerformance.Report
        /// SSA (alone or in a block): the sample buffering of its two passes, in bits.
        let ssaBuffers: SSABuffers?
    }

    struct SSABuffers: Encodable {
        let qBuffer: Int, sCounters: Int, sBanks: Int, rowFlags: Int, attentionSums: Int, total: Int
        init?(_ hw: BlockHardware) {
            let ssa: SSAConfig
            switch hw.structure {
            case .attention(.selfAttention(let c)): ssa = c
            case .qkformerBlock(let b): guard case .selfAttention(let c) = b.attention else { return nil }; ssa = c
            default: return nil
            }
            let b = ssa.buffers
            (qBuffer, sCounters, sBanks, rowFlags, attentionSums, total) = (b.qBuffer, b.sCounters, ssa.sBanks, b.rowFlags, b.sums, b.total)
        }
    }

    /// What the block is, for its README.
    static func describe(_ r: Report) -> String {
        if r.block == BlockKind.ssa.rawValue {
            return "SSA (spiking self-attention) of block \(r.index) of \(r.model) stage \(r.stage): Q, K, V, S = K^T V per head and time step over all tokens, c = Q S, attn_lif(c / 8), projection"
        }
        if r.block == BlockKind.mlp.rawValue {
            return "The MLP of block \(r.index) of \(r.model) stage \(r.stage): fc1 from C to \(r.mlpRatio) x C hidden channels, fc2 back to C, each followed by BN and LIF"
        }
        let attention = r.attention == "channel" ? "channel attention (QKCA)" : r.attention == "ssa" ? "spiking self-attention (SSA)" : "token attention (QKTA)"
        return "QKFormer block \(r.index) of \(r.model) stage \(r.stage): x1 = x + Attn(x), x2 = x1 + MLP(x1), with \(attention) and MLP hidden = \(r.mlpRatio) x C"
    }

    /// `README.md` of a composite block's folder: the common sections of FolderReadme, the
    /// resource estimate and the cycle estimate.
    static func readme(_ r: Report, design: Design, absolute: String?, flags: String) -> String {
        let cosim = """
            QKForge co-simulates this same block (same weights) against its golden model with
            `qkforge cosim \(flags)`; it prints the cycles per sample it measured.
            """
        return """
            # \(r.top)

            \(describe(r)) (C = \(r.dim), \(r.heads) heads, \(r.tokens) tokens, T = \(r.timeSteps), \(r.lanes) lanes,
            input counts 0...\(r.maxInputCount)), weights: \(r.weights). Written by \(r.generator); do not edit, regenerate.
            \(FolderText.files(top: r.top, absolute: absolute))
            \(FolderText.ports(design))
            \(FolderText.simulate(top: r.top, absolute: absolute, cosim: cosim))
            \(FolderText.synthesize(top: r.top, absolute: absolute))
            \(FolderText.resources(r.resources, flipFlops: r.flipFlops, memoryBits: r.memoryBits))\(r.ssaBuffers.map { b in """

            SSA sample buffering (its two passes; also in `report.json` as `ssaBuffers`): Q buffer \(b.qBuffer) bits,
            \(b.sBanks) bank(s) of S = K^T V counters \(b.sCounters) bits, row flags \(b.rowFlags) bits, attention sums
            \(b.attentionSums) bits; \(b.total) bits in all.
            """ } ?? "")
            \(BlockPerformance.readme(r.performance))

            """
    }

    /// The printed summary: the resource and cycle estimates.
    static func summary(_ r: Report) -> [String] {
        let e = r.resources
        return [
            "  estimate (no synthesis): \(e.luts) LUTs, \(e.flipFlops) FFs, BRAM \(e.bram36) x 36K + \(e.bram18) x 18K, \(e.dsps) DSPs (xc7)",
            "  counted: \(r.flipFlops) flip-flops, \(r.memoryBits) memory bits",
        ] + BlockPerformance.summary(r.performance)
    }

    static func generate(_ model: BlockModel, _ args: Arguments, out: String, folder: (url: URL, absolute: String?)) throws {
        let c = model.config, f = model.block.input
        let design = try Elaborate.run(try model.hardware.makeModule())
        let emitted = VerilogEmitter.emit(design, directory: folder.absolute)
        let r = IRResources(design)
        let input = model.hardware.inputFormat, output = model.hardware.outputFormat
        let clock = try ClockChoice.choose(design, given: nil)
        let report = Report(generator: "qkforge \(QKForgeVersion.string)", top: emitted.top, model: c.model ?? "custom",
                            stage: c.stage, index: c.index, block: c.block.rawValue,
                            attention: c.block == .qkformerBlock ? c.attention.rawValue : nil,
                            dim: f.channels, heads: c.heads, tokens: f.tokens, timeSteps: f.timeSteps, mlpRatio: c.mlpRatio,
                            lanes: model.folding.lanes, maxInputCount: f.maxCount, inputCountWidth: input.countWidth,
                            outputCountWidth: output.countWidth, countsPerBeat: input.lanes, weights: model.block.origin,
                            flipFlops: r.flipFlops, memoryBits: r.memoryBits,
                            memories: r.memories.map { Report.Memory(path: $0.path, depth: $0.depth, width: $0.width) },
                            files: Report.Files(paths: folder.absolute == nil ? "relative" : "absolute",
                                                memoryDirectoryMacro: VerilogEmitter.memoryDirectoryMacro,
                                                memoryDirectory: folder.absolute ?? "."),
                            resources: GenerateReport.Resources(ResourceModel.estimate(design).total), performance: try BlockPerformance.estimate(model.hardware, tokens: f.tokens, stage: c.stage, clock: clock),
                            ssaBuffers: SSABuffers(model.hardware))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        let readme = readme(report, design: design, absolute: folder.absolute, flags: ModelCommands.rebuildFlags(args, model))
        let files = (emitted.allFiles + [EmittedDesign.File(name: "report.json", contents: json),
                                         EmittedDesign.File(name: "README.md", contents: readme)]).map { ($0.name, Data($0.contents.utf8)) }
        try Outputs.writeDirectory(out, flag: "--out", force: args.flag("force"), inputs: ModelCommands.inputPaths(args), files: files)
        print("wrote \(emitted.allFiles.count + 2) files to \(out) (top module \(emitted.top); files.f, README.md, report.json)")
        for line in summary(report) { print(line) }
    }
}
