import Foundation
import HDL

/// `README.md` of a generated folder: the top module, its ports, how to simulate and
/// synthesize it, and the resource and timing estimate (from `report.json`).
struct FolderReadme {
    let report: GenerateReport
    let design: Design
    let emitted: EmittedDesign
    /// The flags that pick this block and its weights, for `qkforge cosim` and `simulate`.
    let flags: String

    var text: String {
        let r = report, p = report.performance
        let absolute = emitted.directory
        let g = { (v: Double) in EstimateCommand.g(v) }
        let cosim = """
            QKForge co-simulates this same block (same weights) against its golden model with
            `qkforge cosim \(flags)`, and runs it on your own spikes
            (uint8 `[T, N, C]`) with `qkforge simulate \(flags) --input x.npy --output y.npy`.
            """
        return """
            # \(r.top)

            The \(r.block.uppercased()) block of \(r.model) stage \(r.stage) (C = \(r.dim), \(r.heads) heads, \(r.tokens) tokens,
            T = \(r.timeSteps), \(r.lanes) lanes), weights: \(r.weights). Written by \(r.generator); do not edit, regenerate.
            \(FolderText.files(top: r.top, absolute: absolute))
            \(FolderText.ports(design))
            \(FolderText.simulate(top: r.top, absolute: absolute, cosim: cosim))
            \(FolderText.synthesize(top: r.top, absolute: absolute))
            \(FolderText.resources(report.resources, flipFlops: r.flipFlops, memoryBits: r.memoryBits))
            Cycles from the cycle model (checked against Verilator in docs/estimate-cycles.md) at
            **assumed** firing rates (input \(g(p.rates.input)), Q \(g(p.rates.q)), K \(g(p.rates.k)), attention \(g(p.rates.attention)),
            X' \(g(p.rates.xPrime)), out \(g(p.rates.out)); \(p.rates.source.replacingOccurrences(of: "assumed: ", with: ""))), streams that never stall:

            - \(g(p.cyclesPerSample)) cycles per sample (steady state), latency \(p.latencyCycles) cycles;
            - at \(g(p.clockMHz)) MHz, \(FolderText.clock(p.clockSource)): \(g(p.latencyMicroseconds)) us latency,
              \(g(p.samplesPerSecond)) samples/s. `qkforge timing` measures the real Fmax (docs/timing.md).

            """
    }
}

/// The sections every generated folder's `README.md` shares (attention blocks and the composite
/// MLP and QKFormer blocks): the files, the port table, lint and simulation, synthesis and the
/// resource estimate. Each ends with a newline; put one more between two of them.
enum FolderText {
    /// A clock source line (`ClockChoice.source`) with its capitals turned to emphasis.
    static func clock(_ source: String) -> String {
        source.replacingOccurrences(of: "ESTIMATED", with: "**estimated**").replacingOccurrences(of: "ASSUMED", with: "**assumed**")
    }

    /// The pointer to the docs and the list of the folder's files.
    static func files(top: String, absolute: String?) -> String {
        let macro = VerilogEmitter.memoryDirectoryMacro
        return """
            The arithmetic is docs/arithmetic.md of QKForge; the files are described in docs/formats.md.

            - Top module: `\(top)` in `\(top).v`. Its header describes the stream beats, the order of
              tokens, time steps and channels, and the reset (synchronous, active high, `rst`).
            - `files.f`: the Verilog files, leaves first, top last; \(absolute == nil
                ? "paths relative to this folder (`verilator -F` reads them from anywhere; other tools from inside this folder)."
                : "absolute paths, so it works from any directory.")
            - `*.hex`: the ROM images, read by `$readmemh` from `` `\(macro) ``, which defaults to \(absolute.map { "this folder (`\($0)`)" } ?? "`.` (the working directory)").
              If the folder is moved, define it: `-D\(macro)='"/new/place"'` (Verilator, Icarus) or
              `set_property verilog_define {\(macro)="/new/place"} [current_fileset]` (Vivado).
            - `report.json`: what was built and the estimate below (docs/formats.md).

            """
    }

    /// `## Ports`: clock, reset and the top's ports.
    static func ports(_ design: Design) -> String {
        var s = """
            ## Ports

            | port | direction | width |
            |---|---|---|

            """
        var ports: [(String, String, Int)] = []
        if design.hasClock(design.top) { ports.append(("clk", "input", 1)) }
        if design.hasReset(design.top) { ports.append(("rst", "input", 1)) }
        ports += design.top.ports.map { ($0.name, $0.kind == .input ? "input" : "output", $0.width) }
        for (name, dir, width) in ports { s += "| `\(name)` | \(dir) | \(width) |\n" }
        return s
    }

    /// `## Simulate`: lint, a testbench of your own, and `cosim` (the paragraph saying how
    /// QKForge rebuilds and checks this same block).
    static func simulate(top: String, absolute: String?, cosim: String) -> String {
        let macro = VerilogEmitter.memoryDirectoryMacro
        let f = absolute.map { "-f \($0)/files.f" } ?? "-F files.f"
        let fi = absolute.map { "-f \($0)/files.f" } ?? "-f files.f"
        return """
            ## Simulate

            \(absolute == nil ? "Run these inside this folder (the images are read from `.`), or define `\(macro)` as above.\n\n" : "")Lint (no warnings expected):

            ```sh
            verilator --lint-only -Wall \(f) --top-module \(top)
            ```

            With your own testbench `tb.v` (module `tb`), which drives the ports above:

            ```sh
            verilator --binary \(f) tb.v --top-module tb -o tb && ./obj_dir/tb
            iverilog -o tb.vvp \(fi) tb.v && vvp tb.vvp
            ```

            \(cosim)

            """
    }

    /// `## Synthesize`: Yosys and Vivado.
    static func synthesize(top: String, absolute: String?) -> String {
        let list = absolute.map { "\($0)/files.f" } ?? "files.f"
        return """
            ## Synthesize

            \(absolute == nil ? "Inside this folder:\n\n" : "")```sh
            yosys -p "read_verilog $(tr '\\n' ' ' < \(list)); synth_xilinx -family xc7 -flatten -top \(top); stat"
            ```

            Vivado (Tcl; not run by QKForge, Vivado is not part of its checks):

            ```tcl
            foreach f [split [string trim [read [open \(list)]]] "\\n"] { read_verilog $f }
            synth_design -top \(top) -part <your xc7 part>
            ```

            """
    }

    /// `## Estimate`: the resource table (not a synthesis result) and the counted flip-flops and bits.
    static func resources(_ e: GenerateReport.Resources, flipFlops: Int, memoryBits: Int) -> String {
        """
            ## Estimate

            Not a synthesis result: `ResourceModel` maps the design to Xilinx 7-series cells as Yosys
            `synth_xilinx` would (its accuracy against Yosys is QKForge's docs/estimate-accuracy.md).

            | LUTs | FFs | BRAM36 | BRAM18 | DSPs | LUT-RAM sites | CARRY4 |
            |---:|---:|---:|---:|---:|---:|---:|
            | \(e.luts) | \(e.flipFlops) | \(e.bram36) | \(e.bram18) | \(e.dsps) | \(e.lutRAMSites) | \(e.carry4) |

            Flip-flops and memory bits counted in the design: \(flipFlops) and \(memoryBits).

            """
    }
}
