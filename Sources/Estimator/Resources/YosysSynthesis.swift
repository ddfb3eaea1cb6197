import Foundation
import HDL

/// Runs Yosys `synth_xilinx -family xc7 -flatten` on an emitted design and reads `stat -json`.
/// The reference `qkforge calibrate` and the estimator tests compare `ResourceModel` against.
public enum YosysSynthesis {
    /// Cell counts of the synthesized netlist, summed the way `ResourceCount` counts them.
    public struct Result: Sendable {
        public var cells: [String: Int]
        public var seconds: Double
        /// LUT1...LUT6 and INV (a LUT1).
        public var luts: Int { cells.filter { $0.key.hasPrefix("LUT") || $0.key == "INV" }.values.reduce(0, +) }
        /// FDRE, FDSE, FDCE, FDPE (and any other FD* flip-flop).
        public var flipFlops: Int { cells.filter { $0.key.hasPrefix("FD") }.values.reduce(0, +) }
        public var bram18: Int { cells["RAMB18E1", default: 0] }
        public var bram36: Int { cells["RAMB36E1", default: 0] }
        public var dsps: Int { cells["DSP48E1", default: 0] }
        public var carry4: Int { cells["CARRY4", default: 0] }
        /// LUT sites used as RAM or shift register: RAM32M/RAM64M/RAM128X1D/RAM256X1S use 4,
        /// RAM32X1D/RAM64X1D 2, single-port 32/64-deep RAMs and SRL16E/SRLC32E 1.
        public var lutRAMSites: Int {
            let sites = ["RAM32M": 4, "RAM64M": 4, "RAM128X1D": 4, "RAM256X1S": 4, "RAM128X1S": 2, "RAM32X1D": 2,
                         "RAM64X1D": 2, "RAM32X1S": 1, "RAM64X1S": 1, "SRL16E": 1, "SRLC32E": 1]
            return cells.reduce(0) { $0 + (sites[$1.key] ?? 0) * $1.value }
        }
        public var count: ResourceCount {
            ResourceCount(luts: luts, flipFlops: flipFlops, bram18: bram18, bram36: bram36, dsps: dsps,
                          lutRAMSites: lutRAMSites, carry4: carry4)
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The `yosys` on PATH, or nil.
    public static func executable() -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/yosys"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// `yosys -V`, e.g. `Yosys 0.23 (git sha1 7ce5011c24b)`.
    public static func version() -> String? {
        guard let y = executable(), let out = try? run(y, ["-V"], in: nil) else { return nil }
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The Yosys script used for every design.
    public static func script(files: [String], top: String, statFile: String) -> String {
        "read_verilog \(files.joined(separator: " ")); synth_xilinx -family xc7 -flatten -top \(top); tee -q -o \(statFile) stat -json"
    }

    /// Emits `design` into `directory` and synthesizes it.
    /// With `reuse`, a `stat.json` already in `directory` from the same Verilog (every file
    /// byte-identical) is read instead of synthesizing again.
    public static func synthesize(_ design: Design, in directory: URL, reuse: Bool = false) throws -> Result {
        guard let y = executable() else { throw Failure(description: "yosys is not on PATH; install it (apt-get install -y yosys)") }
        let emitted = VerilogEmitter.emit(design)
        let stat = "stat.json"
        if reuse, let text = try? String(contentsOf: directory.appendingPathComponent(stat), encoding: .utf8),
           emitted.isWritten(in: directory) {
            return Result(cells: try parseStat(text), seconds: 0)
        }
        try emitted.write(to: directory)
        let start = Date()
        _ = try run(y, ["-q", "-l", "yosys.log", "-p", script(files: emitted.verilog.map(\.name), top: emitted.top, statFile: stat)],
                    in: directory)
        let seconds = Date().timeIntervalSince(start)
        let text = try String(contentsOf: directory.appendingPathComponent(stat), encoding: .utf8)
        return Result(cells: try parseStat(text), seconds: seconds)
    }

    /// The top module's `num_cells_by_type` from `stat -json` output. Yosys 0.23 prints a
    /// hierarchy summary inside the JSON when the design is not flat; those lines are dropped.
    public static func parseStat(_ text: String) throws -> [String: Int] {
        let clean = text.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            return t.isEmpty || t.hasPrefix("\"") || t.hasPrefix("{") || t.hasPrefix("}") || t.hasPrefix("]") || t.hasPrefix("[")
        }.joined(separator: "\n")
        guard let obj = try JSONSerialization.jsonObject(with: Data(clean.utf8)) as? [String: Any],
              let modules = obj["modules"] as? [String: Any] else {
            throw Failure(description: "cannot parse yosys stat -json output")
        }
        let source = (obj["design"] as? [String: Any]) ?? modules.values.first as? [String: Any]
        guard let cells = source?["num_cells_by_type"] as? [String: Any] else {
            throw Failure(description: "yosys stat -json has no num_cells_by_type")
        }
        var out: [String: Int] = [:]
        for (k, v) in cells { out[k] = (v as? NSNumber)?.intValue ?? 0 }
        return out
    }

    static func run(_ exe: String, _ args: [String], in dir: URL?) throws -> String {
        do { return try Command.check(exe, args, in: dir, what: "yosys", tail: 5) } catch let e as ToolError {
            throw Failure(description: e.description)
        }
    }
}
