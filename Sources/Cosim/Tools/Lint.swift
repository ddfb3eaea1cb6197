import Foundation
import HDL

/// Checks emitted Verilog with the three tools our users run: Verilator's linter with every
/// warning on, Yosys (`read_verilog; hierarchy -check; proc`) and Icarus (`-g2005`).
public enum Lint {
    public struct Finding: Sendable, CustomStringConvertible {
        public let tool: String
        public let output: String
        public var description: String { "\(tool): \(output)" }
    }

    /// Lints the design in `directory` (its `files.f` lists the sources, top last). Returns
    /// every complaint; an empty array means clean in all three tools.
    public static func check(directory: URL, top: String) throws -> [Finding] {
        let files = try String(contentsOf: directory.appendingPathComponent("files.f"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var findings: [Finding] = []
        let v = try Command.run("verilator", ["--lint-only", "-Wall", "--top-module", top] + files, in: directory)
        if v.status != 0 || !v.output.isEmpty { findings.append(Finding(tool: "verilator", output: v.output)) }
        let script = "read_verilog \(files.joined(separator: " ")); hierarchy -check -top \(top); proc"
        let y = try Command.run("yosys", ["-q", "-p", script], in: directory)
        let yOut = y.output.split(separator: "\n").filter { !$0.isEmpty }.joined(separator: "\n")
        if y.status != 0 || !yOut.isEmpty { findings.append(Finding(tool: "yosys", output: yOut)) }
        let i = try Command.run("iverilog", ["-g2005", "-Wall", "-o", "/dev/null", "-s", top] + files, in: directory)
        if i.status != 0 || !i.output.isEmpty { findings.append(Finding(tool: "iverilog", output: i.output)) }
        return findings
    }
}
