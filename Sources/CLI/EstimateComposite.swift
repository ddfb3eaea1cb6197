import Description
import Foundation
import HDL
import Blocks
import Cosim
import Estimator

/// `qkforge estimate --block mlp|qkformer-block|ssa`: resources from the IR (as for QKTA and
/// QKCA) and cycles from the composite-block or SSA cycle model (`BlockPerformance`, checked
/// against Verilator in docs/estimate-cycles.md) at QKFormer's Table 7 rates (assumed rates for
/// SSA), at an assumed clock.
extension EstimateCommand {
    struct CompositeReport: Encodable {
        struct Design: Encodable {
            let model: String, stage: Int, block: String, dim: Int, heads: Int, tokens: Int, timeSteps: Int
            let lanes: [Int]
            let top: String
            let weights: String
        }
        struct Module: Encodable {
            let path: String, module: String
            let own: ResourceCount, total: ResourceCount
        }
        struct Resources: Encodable {
            let total: ResourceCount
            let modules: [Module]
        }
        let schemaVersion: Int
        let design: Design
        let resources: Resources
        let performance: BlockPerformance.Report
    }

    /// Whether `estimate` takes `model` through the composite-block path (everything but QKTA
    /// and QKCA, which have the attention cycle and energy models).
    static func isComposite(_ model: BlockModel) -> Bool {
        switch model.hardware.structure {
        case .attention(.token), .attention(.channel): false
        default: true
        }
    }

    static func composite(_ args: Arguments, _ c: BlockConfig, _ model: BlockModel, weights: String) throws {
        let kind = c.block.rawValue
        if let f = ["rate", "q-rate", "k-rate", "attention-rate", "x-rate", "out-rate", "e-ac", "e-mac", "e-mem-bit"].first(where: args.given) {
            throw Arguments.UsageError(description: "--\(f) does not apply to --block \(kind): its cycle model takes QKFormer's Table 7 rates and has no energy model yet; drop --\(f)")
        }
        let design = try Elaborate.run(try model.hardware.makeModule())
        let clock = try ClockChoice.choose(design, given: args.string("clock-mhz").map { _ in try positive(args, "clock-mhz", default: 200) })
        let res = ResourceModel.estimate(design)
        let perf = try BlockPerformance.estimate(model.hardware, tokens: model.block.input.tokens, stage: c.stage, clock: clock)
        if args.flag("json") {
            let r = CompositeReport(
                schemaVersion: schemaVersion,
                design: .init(model: c.model ?? "custom", stage: c.stage, block: kind, dim: c.dim, heads: c.heads, tokens: c.tokens,
                              timeSteps: c.timeSteps, lanes: model.hardware.layerLanes, top: design.verilogName(design.top), weights: weights),
                resources: .init(total: res.total, modules: flatten(res).map { .init(path: $0.path, module: $0.module, own: $0.own, total: $0.total) }),
                performance: perf)
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try e.encode(r), as: UTF8.self))
            return
        }
        var out = "estimate: \(kind) of \(c.model ?? "custom") stage \(c.stage): C=\(c.dim) N=\(c.tokens) T=\(c.timeSteps), layer lanes \(model.hardware.layerLanes.map(String.init).joined(separator: "/")), \(weights)\n\n"
        out += resourceTable(res)
        out += "\n" + BlockPerformance.summary(perf).joined(separator: "\n") + "\n"
        out += "  (\(perf.source))\n"
        print(out, terminator: "")
    }

    /// The resource tree, two levels deep, as a text table.
    static func resourceTable(_ res: ModuleEstimate) -> String {
        var out = "resources (ResourceModel, Xilinx 7-series mapping; FFs and memory bits exact from the IR):\n"
        let header = ["module", "LUTs", "FFs", "mem bits", "BRAM18", "BRAM36", "DSPs"]
        var rows: [[String]] = []
        func add(_ m: ModuleEstimate, depth: Int) {
            let name = String(repeating: "  ", count: depth) + (depth == 0 ? "total (\(m.module))" : (m.path.split(separator: ".").last.map(String.init) ?? m.path))
            let t = m.total
            rows.append([name, "\(t.luts)", "\(t.flipFlops)", "\(t.memoryBits)", "\(t.bram18)", "\(t.bram36)", "\(t.dsps)"])
            if depth < 1 { for ch in m.children { add(ch, depth: depth + 1) } }
        }
        add(res, depth: 0)
        let widths = header.indices.map { i in max(header[i].count, rows.map { $0[i].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            "  " + cells.enumerated().map { i, v in i == 0 ? v.padding(toLength: widths[0], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[i] - v.count) + v }.joined(separator: "  ") + "\n"
        }
        out += line(header)
        for row in rows { out += line(row) }
        return out
    }
}
