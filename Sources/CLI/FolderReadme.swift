import Foundation
import HDL

/// `README.md` of a generated folder: the top module, its ports, how to simulate and
/// synthesize it, and the resource and timing estimate (from `report.json`).
struct FolderReadme {
    let report: GenerateReport
    let design: Design
    let emitted: EmittedDesign

    var text: String {
        let r = report, e = report.resources, p = report.performance
        let absolute = emitted.directory
        let macro = VerilogEmitter.memoryDirectoryMacro
        let g = { (v: Double) in EstimateCommand.g(v) }
        var s = """
            # \(r.top)

            The \(r.block.uppercased()) block of \(r.model) stage \(r.stage) (C = \(r.dim), \(r.heads) heads, \(r.tokens) tokens,
            T = \(r.timeSteps), \(r.lanes) lanes), weights: \(r.weights). Written by \(r.generator); do not edit, regenerate.
            The arithmetic is docs/arithmetic.md of QKForge; the files are described in docs/formats.md.

            - Top module: `\(r.top)` in `\(r.top).v`. Its header describes the stream beats, the order of
              tokens, time steps and channels, and the reset (synchronous, active high, `rst`).
            - `files.f`: the Verilog files, leaves first, top last; \(absolute == nil
                ? "paths relative to this folder (`verilator -F` reads them from anywhere; other tools from inside this folder)."
                : "absolute paths, so it works from any directory.")
            - `*.hex`: the ROM images, read by `$readmemh` from `` `\(macro) ``, which defaults to \(absolute.map { "this folder (`\($0)`)" } ?? "`.` (the working directory)").
              If the folder is moved, define it: `-D\(macro)='"/new/place"'` (Verilator, Icarus) or
              `set_property verilog_define {\(macro)="/new/place"} [current_fileset]` (Vivado).
            - `report.json`: what was built and the estimate below (docs/formats.md).

            ## Ports

            | port | direction | width |
            |---|---|---|

            """
        var ports: [(String, String, Int)] = []
        if design.hasClock(design.top) { ports.append(("clk", "input", 1)) }
        if design.hasReset(design.top) { ports.append(("rst", "input", 1)) }
        ports += design.top.ports.map { ($0.name, $0.kind == .input ? "input" : "output", $0.width) }
        for (name, dir, width) in ports { s += "| `\(name)` | \(dir) | \(width) |\n" }
        let f = absolute == nil ? "-F files.f" : "-f \(absolute!)/files.f"
        let fi = absolute == nil ? "-f files.f" : "-f \(absolute!)/files.f"
        let inFolder = absolute == nil ? "Inside this folder:\n\n" : ""
        s += """

            ## Simulate

            \(absolute == nil ? "Run these inside this folder (the images are read from `.`), or define `\(macro)` as above.\n\n" : "")Lint (no warnings expected):

            ```sh
            verilator --lint-only -Wall \(f) --top-module \(r.top)
            ```

            With your own testbench `tb.v` (module `tb`), which drives the ports above:

            ```sh
            verilator --binary \(f) tb.v --top-module tb -o tb && ./obj_dir/tb
            iverilog -o tb.vvp \(fi) tb.v && vvp tb.vvp
            ```

            QKForge co-simulates this block against its golden model with
            `qkforge cosim --model \(r.model) --stage \(r.stage) --block \(r.block) --lanes \(r.lanes)` (random weights, same seed as here
            unless you give `--seed`), and runs it on your own spikes with `qkforge simulate ... --input x.npy --output y.npy`.

            ## Synthesize

            \(inFolder)```sh
            yosys -p "read_verilog $(tr '\\n' ' ' < \(absolute.map { "\($0)/files.f" } ?? "files.f")); synth_xilinx -family xc7 -flatten -top \(r.top); stat"
            ```

            Vivado (Tcl; not run by QKForge, Vivado is not part of its checks):

            ```tcl
            foreach f [split [string trim [read [open \(absolute.map { "\($0)/files.f" } ?? "files.f")]]] "\\n"] { read_verilog $f }
            synth_design -top \(r.top) -part <your xc7 part>
            ```

            ## Estimate

            Not a synthesis result: `ResourceModel` maps the design to Xilinx 7-series cells as Yosys
            `synth_xilinx` would (its accuracy against Yosys is QKForge's docs/estimate-accuracy.md).

            | LUTs | FFs | BRAM36 | BRAM18 | DSPs | LUT-RAM sites | CARRY4 |
            |---:|---:|---:|---:|---:|---:|---:|
            | \(e.luts) | \(e.flipFlops) | \(e.bram36) | \(e.bram18) | \(e.dsps) | \(e.lutRAMSites) | \(e.carry4) |

            Flip-flops and memory bits counted in the design: \(r.flipFlops) and \(r.memoryBits).

            Cycles from the cycle model (checked against Verilator in docs/estimate-cycles.md) at
            **assumed** firing rates (input \(g(p.rates.input)), Q \(g(p.rates.q)), K \(g(p.rates.k)), attention \(g(p.rates.attention)),
            X' \(g(p.rates.xPrime)), out \(g(p.rates.out)); \(p.rates.source.replacingOccurrences(of: "assumed: ", with: ""))), streams that never stall:

            - \(g(p.cyclesPerSample)) cycles per sample (steady state), latency \(p.latencyCycles) cycles;
            - at an **assumed** \(g(p.clockMHz)) MHz clock (no timing analysis has been run): \(g(p.latencyMicroseconds)) us latency,
              \(g(p.samplesPerSecond)) samples/s.

            """
        return s
    }
}
