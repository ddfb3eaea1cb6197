import Description
import Foundation
import HDL
import Blocks
import Golden
import Cosim
import Estimator

/// `qkforge estimate`: resources, cycles, latency, throughput and energy without synthesis;
/// `--sweep lanes=...` a design-space sweep with its Pareto front; `--table8` the hardware form
/// of QKFormer's Table 8 (QKTA, QKCA and SSA storage across N); `--check-sim` the cycle model
/// against Verilator.
enum EstimateCommand {
    static let values: Set<String> = ModelCommands.modelFlags.union([
        "rate", "q-rate", "k-rate", "attention-rate", "x-rate", "out-rate", "clock-mhz", "e-ac", "e-mac", "e-mem-bit",
        "lif", "sweep", "svg", "out", "sqrt-n", "samples", "budget", "target-fps", "html",
    ])
    static let switches: Set<String> = ["json", "table8", "check-sim"]
    static let summary = """
        --model NAME [--budget LUTS | --target-fps F | --lanes P] [--html FILE.html] [--json]: the whole network         (the default of a named model; --block network for a network config.json);         --model NAME|CONFIG.json --block qkta|qkca|... or --stage S [--lanes P] [--seed S] [--rate R] [--q-rate R] [--k-rate R] \
        [--attention-rate R] [--x-rate R] [--out-rate R] [--clock-mhz F] [--e-ac PJ] [--e-mac PJ] [--e-mem-bit PJ] [--json]: \
        resources per submodule, cycles per sample, latency, throughput and energy without synthesis (rates default to \
        QKFormer's Table 7, input 0.2); --sweep lanes=1,2,4,... [--svg FILE] [--out FILE.md]: lanes sweep and its \
        area/cycles Pareto front; --table8 [--sqrt-n 10,20,...] --out DIR: QKTA, QKCA and SSA storage and LUTs across N \
        (C = 256, T = 1); --check-sim [--seed S] [--out FILE.md]: the cycle model against Verilator
        """

    static let schemaVersion = 1

    static func run(_ args: Arguments) throws {
        // The whole network (docs/estimate-network.md): its own flags and report.
        if EstimateNetwork.isNetwork(args) { return try EstimateNetwork.run(args) }
        if args.string("bundle") != nil && (args.flag("table8") || args.flag("check-sim") || args.string("sweep") != nil) {
            throw Arguments.UsageError(description: "--bundle works with a single estimate only; --sweep, --table8 and --check-sim use random seeded weights")
        }
        try checkModes(args)
        try checkOutputs(args)
        if args.flag("table8") { return try table8(args) }
        if args.flag("check-sim") { return try checkSim(args) }
        if let s = args.string("sweep") { return try sweep(args, s) }
        try single(args)
    }

    /// Checks `--svg` and `--out` before any work, so a bad path fails at once (docs/cli.md).
    static func checkOutputs(_ args: Arguments) throws {
        let inputs = ModelCommands.inputPaths(args)
        if let s = args.string("svg") {
            guard s.hasSuffix(".svg") else { throw Arguments.UsageError(description: "--svg must name an .svg file, got '\(s)'") }
            try Outputs.checkFile(s, flag: "--svg", inputs: inputs)
        }
        guard let o = args.string("out") else { return }
        if args.flag("table8") {
            // A directory that receives table8.md and table8.svg (other files in it stay).
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: o, isDirectory: &isDir), !isDir.boolValue {
                throw Arguments.UsageError(description: "--out '\(o)' is a file; --table8 writes table8.md and table8.svg into a directory")
            }
            if isDir.boolValue { for f in ["table8.md", "table8.svg"] { try Outputs.checkFile(o + "/" + f, flag: "--out", inputs: inputs) } }
        } else {
            guard o.hasSuffix(".md") else { throw Arguments.UsageError(description: "--out must name a .md file here, got '\(o)'") }
            try Outputs.checkFile(o, flag: "--out", inputs: inputs)
        }
    }

    /// The flags each mode takes; any other flag given is an error naming the mode's flag.
    static func checkModes(_ args: Arguments) throws {
        let modes = ["table8", "check-sim", "sweep"].filter(args.given)
        if modes.count > 1 {
            throw Arguments.UsageError(description: "--\(modes[0]) and --\(modes[1]) are different modes of estimate; give one of them")
        }
        let rates = ["rate", "q-rate", "k-rate", "attention-rate", "x-rate", "out-rate"]
        let energy = ["e-ac", "e-mac", "e-mem-bit"]
        let model = ["model", "bundle", "block", "stage"]
        let allowed: Set<String>
        let mode: String
        switch modes.first {
        case "table8":
            mode = "with --table8 (it fixes C = 256, T = 1 and sweeps N)"
            allowed = ["table8", "sqrt-n", "out", "lanes", "seed"]
        case "check-sim":
            mode = "with --check-sim (it runs its own list of small designs)"
            allowed = ["check-sim", "seed", "samples", "out"]
        case "sweep":
            mode = "with --sweep (it estimates every lanes value of the sweep)"
            allowed = Set(model + rates + ["sweep", "svg", "out", "seed", "clock-mhz", "json"])
        default:
            mode = "to a single estimate; it goes with --sweep, --table8 or --check-sim"
            allowed = Set(model + rates + energy + ["lanes", "seed", "clock-mhz", "json", "lif"])
        }
        if let f = args.givenFlags.first(where: { !allowed.contains($0) }) {
            throw Arguments.UsageError(description: "--\(f) does not apply \(mode)")
        }
    }

    // MARK: Inputs

    static func fraction(_ args: Arguments, _ name: String) throws -> Double? {
        guard let s = args.string(name) else { return nil }
        guard let v = Double(s), v >= 0, v <= 1 else {
            throw Arguments.UsageError(description: "--\(name) must be a firing rate from 0 to 1, got '\(s)'")
        }
        return v
    }

    static func positive(_ args: Arguments, _ name: String, default d: Double, allowZero: Bool = false) throws -> Double {
        guard let s = args.string(name) else { return d }
        guard let v = Double(s), v.isFinite, allowZero ? v >= 0 : v > 0 else {
            throw Arguments.UsageError(description: "--\(name) must be a number \(allowZero ? "of at least 0" : "above 0"), got '\(s)'")
        }
        return v
    }

    static func energy(_ args: Arguments) throws -> EnergyParameters {
        let ac = try positive(args, "e-ac", default: 0.9, allowZero: true)
        let mac = try positive(args, "e-mac", default: 4.6, allowZero: true)
        let bit = try positive(args, "e-mem-bit", default: EnergyParameters.defaultMemoryBit, allowZero: true)
        let given = ["e-ac", "e-mac", "e-mem-bit"].filter { args.string($0) != nil }
        let source = given.isEmpty ? EnergyParameters.defaultSource
            : "given: \(given.map { "--\($0)" }.joined(separator: ", ")); otherwise \(EnergyParameters.defaultSource)"
        return EnergyParameters(accumulate: ac, multiplyAccumulate: mac, memoryBit: bit, source: source)
    }

    static func rates(_ args: Arguments, _ shape: AcceleratorShape, stage: Int) throws -> FiringRates {
        FiringRates.resolve(shape: shape, stage: stage, input: try fraction(args, "rate"), q: try fraction(args, "q-rate"),
                            k: try fraction(args, "k-rate"), attention: try fraction(args, "attention-rate"),
                            xPrime: try fraction(args, "x-rate"), out: try fraction(args, "out-rate"))
    }

    /// The shape the cycle and energy models need, when they cover the block (an attention
    /// block alone); nil otherwise.
    static func shape(_ model: BlockModel) -> AcceleratorShape? { (try? AcceleratorShape(hardware: model.hardware)) ?? nil }

    /// The generated design and its shape, as `generate` builds it.
    static func build(_ model: BlockModel) throws -> (Design, AcceleratorShape) {
        guard let shape = try AcceleratorShape(hardware: model.hardware) else {
            throw Arguments.UsageError(description: "estimate covers QKTA and QKCA blocks so far; --block \(model.config.block.rawValue) has no cycle model yet (generate writes its resource estimate to report.json)")
        }
        return (try Elaborate.run(try model.hardware.makeModule()), shape)
    }

    static func model(_ c: BlockConfig, lanes: Int, seed: UInt64, biasRange: ClosedRange<Double>? = nil) throws -> BlockModel {
        do { return try BlockModel.random(c, lanes: lanes, seed: seed, biasRange: biasRange) } catch let e as ConfigError {
            throw Arguments.UsageError(description: e.description)
        }
    }

    // MARK: One design

    static func single(_ args: Arguments) throws {
        let c = try ModelCommands.block(args)
        let seed = try args.uint64("seed", default: 1)
        let (built, bundle) = try ModelCommands.build(c, args)
        let model = try ModelCommands.withLIFStorage(built, args)
        if let b = bundle { for line in b.lines { print(line) } }
        let weights = args.string("bundle").map { "weights from bundle \($0)" } ?? "random weights seed \(seed)"
        if isComposite(model) { return try composite(args, c, model, weights: weights) }
        let given = try args.string("clock-mhz").map { _ in try positive(args, "clock-mhz", default: 200) }
        let energy = try energy(args)
        let (design, shape) = try build(model)
        let res = ResourceModel.estimate(design)
        // The Fmax estimate from the estimator's own netlist (LogicDepth: ECP5 LUT4 levels and
        // carry chains between flops); the clock of the latency and throughput unless given.
        let delays = try ClockChoice.delays()
        let ecp5 = LogicDepth.analyze(design, lutInputs: 4, delays: delays)
        // xc7: the most LUT6 levels on any flop-to-flop path (not the ECP5 critical path's).
        let xc7 = LogicDepth.analyze(design, lutInputs: 6, delays: .levels)
        let clock = given ?? ecp5.fmaxMHz
        let source = given == nil ? "estimated Fmax (ECP5, LogicDepth)" : "assumed (--clock-mhz)"
        let rates = try rates(args, shape, stage: c.stage)
        let est = PerformanceEstimate(shape: shape, rates: rates, clockMHz: clock, energy: energy)
        if args.flag("json") {
            let r = EstimateReport(c, seed: seed, weights: args.string("bundle").map { "bundle \($0)" } ?? "random, seed \(seed)",
                                   design: design, res: res, est: est, clockSource: given == nil ? "estimated" : "assumed",
                                   ecp5: ecp5, xc7: xc7)
            print(try r.json())
        } else {
            var t = text(c, weights: weights, res: res, est: est)
            let fmax = String(format: "Fmax estimate (ECP5 speed 8, from the netlist): %.1f MHz: critical path %.2f ns into %@, %d LUT4 levels, %d carry bits (longest chain %d); xc7: at most %d LUT6 levels between flip-flops\n",
                              ecp5.fmaxMHz, ecp5.ns, ecp5.endModule, ecp5.lutLevels, ecp5.carryBits, ecp5.longestCarry, xc7.lutLevels)
            t = t.replacingOccurrences(of: "(an assumed clock, not a timing result)", with: "(\(source))")
            if let r = t.range(of: "cycles per sample:") { t.insert(contentsOf: fmax, at: r.lowerBound) } else { t += fmax }
            print(t, terminator: "")
        }
    }

    static func flatten(_ m: ModuleEstimate) -> [ModuleEstimate] { [m] + m.children.flatMap(flatten) }

    static func json(_ object: Any) throws -> String {
        // Numbers without binary noise: 629145.6, not 629145.6000000001.
        let data = try JSONSerialization.data(withJSONObject: JSONValue.tidyTree(object), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    static func g(_ v: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)g", v) }

    static func text(_ c: BlockConfig, weights: String, res: ModuleEstimate, est: PerformanceEstimate) -> String {
        let s = est.shape, r = est.rates, o = est.ops, b = est.breakdown, e = est.energy
        var out = "estimate: \(c.block.rawValue) of \(c.model ?? "custom") stage \(c.stage): C=\(s.channels) h=\(s.heads) N=\(s.tokens) T=\(s.timeSteps), lanes P=\(s.lanes) (G=\(s.groups)), \(weights)\n\n"
        out += resourceTable(res)
        out += "\nfiring rates: input \(g(r.input)), Q \(g(r.q)), K \(g(r.k)), \(s.mask == .token ? "A_t" : "A_c") \(g(r.attention)), X' \(g(r.xPrime)), out \(g(r.out))\n"
        out += "  (\(r.source))\n"
        out += "cycles per sample: \(g(est.cyclesPerSample, 6)) (steady state, no stalls; event-driven bound \(g(est.eventBoundCycles, 6)) = max(input, X' events) x G)\n"
        out += "latency: \(est.latencyCycles) cycles = \(g(est.latencyMicroseconds)) us at \(g(est.clockMHz)) MHz (one sample, first input beat to last output beat)\n"
        out += "throughput: \(g(est.samplesPerSecond)) samples/s at \(g(est.clockMHz)) MHz (an assumed clock, not a timing result)\n"
        out += "energy per sample: \(g(est.energyMicrojoules)) uJ\n"
        func item(_ what: String, _ n: Double, _ unit: String, _ each: Double, _ pj: Double) {
            out += "  \(what.padding(toLength: 28, withPad: " ", startingAt: 0)) \(g(n, 6)) \(unit) x \(g(each)) pJ = \(g(pj * 1e-6)) uJ\n"
        }
        item("synaptic ACs (Q, K, proj)", o.accumulates, "AC", e.accumulate, b.synapticAccumulate)
        item("MACs (counts > 1)", o.multiplyAccumulates, "MAC", e.multiplyAccumulate, b.synapticMultiply)
        item("LIF neuron updates", o.neuronUpdates, "AC", e.accumulate, b.neuronUpdates)
        item("weight memory reads", o.weightBitsRead, "bits", e.memoryBit, b.weightMemory)
        item("state memory reads+writes", o.stateBitsRead + o.stateBitsWritten, "bits", e.memoryBit, b.stateMemory)
        if s.mask == .channel { item("K buffer reads+writes", o.bufferBitsRead + o.bufferBitsWritten, "bits", e.memoryBit, b.bufferMemory) }
        out += "  (\(g(o.inputEvents, 6)) input events, \(g(o.maskedEvents, 6)) X' events per sample; energy figures: \(e.source))\n"
        return out
    }

    // MARK: Sweep

    static func sweep(_ args: Arguments, _ spec: String) throws {
        let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == "lanes" else {
            throw Arguments.UsageError(description: "--sweep must be lanes=P1,P2,... (for example lanes=1,2,4,8,12), got '\(spec)'")
        }
        let lanes = try parts[1].split(separator: ",").map { s -> Int in
            guard let v = Int(s), (1...256).contains(v) else {
                throw Arguments.UsageError(description: "--sweep lanes must be whole numbers from 1 to 256, got '\(s)'")
            }
            return v
        }
        guard !lanes.isEmpty, Set(lanes).count == lanes.count else {
            throw Arguments.UsageError(description: "--sweep lanes needs distinct values, got '\(parts[1])'")
        }
        if args.string("lanes") != nil { throw Arguments.UsageError(description: "give either --lanes or --sweep lanes=..., not both") }
        let c = try ModelCommands.block(args)
        let seed = try args.uint64("seed", default: 1)
        let clock = try positive(args, "clock-mhz", default: 200)
        var points: [SweepPoint] = []
        let progress = ProgressLine("estimate: lanes sweep", total: lanes.count, unit: "designs")
        defer { progress.finish() }
        for (i, p) in lanes.enumerated() {
            progress.update(i)
            let m = try model(c, lanes: p, seed: seed)
            let (design, shape) = try build(m)
            let res = ResourceModel.estimate(design).total
            let rates = try rates(args, shape, stage: c.stage)
            let cycles = RateCycleModel(shape).cyclesPerSample(rates)
            points.append(SweepPoint(lanes: p, groups: shape.groups, resources: res, cyclesPerSample: cycles, rates: rates))
        }
        let useLUTs = points.contains { $0.resources.luts > 0 }
        let front = Pareto.front(points.map { (Double(useLUTs ? $0.resources.luts : $0.resources.flipFlops), $0.cyclesPerSample) })
        let title = "\(c.block.rawValue) of \(c.model ?? "custom") stage \(c.stage): C=\(c.dim) h=\(c.heads) N=\(c.tokens) T=\(c.timeSteps), random weights seed \(seed)"
        let table = SweepReport(title: title, points: points, front: front, areaIsLUTs: useLUTs, clockMHz: clock)
        if args.flag("json") {
            print(try json(table.json(schemaVersion: schemaVersion)))
        } else {
            print(table.text(), terminator: "")
        }
        if let path = args.string("svg") {
            try Outputs.writeFile(path, flag: "--svg", inputs: ModelCommands.inputPaths(args), data: Data(table.svg().utf8))
            if !args.flag("json") { print("wrote \(path)") }
        }
        if let path = args.string("out") {
            let command = "qkforge estimate " + CommandLine.arguments.dropFirst(2).joined(separator: " ")
            try Outputs.writeFile(path, flag: "--out", inputs: ModelCommands.inputPaths(args), data: Data(table.markdown(command: command).utf8))
            if !args.flag("json") { print("wrote \(path)") }
        }
    }

    // MARK: Table 8

    /// QKFormer's Table 8 in hardware form: storage (memory bits and flip-flops) and LUTs of
    /// QKTA, QKCA and SSA at C = 256, T = 1, across N.
    static func table8(_ args: Arguments) throws {
        guard let out = args.string("out") else { throw Arguments.UsageError(description: "--table8 needs --out DIR (for table8.md and table8.svg)") }
        let roots = try (args.string("sqrt-n") ?? "10,20,30,40,50,60,70,80,90,100").split(separator: ",").map { s -> Int in
            guard let v = Int(s), (1...1024).contains(v) else {
                throw Arguments.UsageError(description: "--sqrt-n must be whole numbers from 1 to 1024, got '\(s)'")
            }
            return v
        }
        let C = 256, heads = 16, T = 1
        let lanes = try args.int("lanes", default: C / 8, in: 1...256)
        let seed = try args.uint64("seed", default: 1)
        func block(_ kind: BlockKind, tokens: Int) throws -> BlockConfig {
            try BlockConfig.parse(json: Data(#"{"block": "\#(kind.rawValue)", "dim": \#(C), "heads": \#(heads), "tokens": \#(tokens), "timeSteps": \#(T)}"#.utf8))
        }
        // QKTA does not depend on N: one design serves every row.
        let qktaBlock = try block(.qkta, tokens: 1)
        let qktaModel = try model(qktaBlock, lanes: lanes, seed: seed)
        let t0 = Date()
        let (qktaDesign, _) = try build(qktaModel)
        let qkta = ResourceModel.estimate(qktaDesign)
        FileHandle.standardError.write(Data("table8: QKTA estimated in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s\n".utf8))
        var rows: [Table8Row] = []
        for r in roots {
            let n = r * r
            let qkcaBlock = try block(.qkca, tokens: n)
            let t1 = Date()
            let (qkcaDesign, _) = try build(try model(qkcaBlock, lanes: lanes, seed: seed))
            let qkca = ResourceModel.estimate(qkcaDesign).total
            FileHandle.standardError.write(Data("table8: sqrt(N) = \(r): QKCA estimated in \(String(format: "%.1f", Date().timeIntervalSince(t1))) s\n".utf8))
            let t2 = Date()
            let ssaModel = try model(try block(.ssa, tokens: n), lanes: lanes, seed: seed)
            let ssa = ResourceModel.estimate(try Elaborate.run(try ssaModel.hardware.makeModule())).total
            FileHandle.standardError.write(Data("table8: sqrt(N) = \(r): SSA estimated in \(String(format: "%.1f", Date().timeIntervalSince(t2))) s\n".utf8))
            rows.append(Table8Row(sqrtN: r, qkta: qkta.total, qkca: qkca, ssa: ssa))
        }
        let report = Table8Report(channels: C, heads: heads, timeSteps: T, lanes: lanes, seed: seed, rows: rows)
        let dir = URL(fileURLWithPath: out)
        let command = "qkforge estimate " + CommandLine.arguments.dropFirst(2).joined(separator: " ")
        if !FileManager.default.fileExists(atPath: out) {
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw Outputs.Refusal(description: "--out '\(out)': cannot create the directory (\(Outputs.reason(error))); check the path")
            }
        }
        try Outputs.writeFile(dir.appendingPathComponent("table8.md").path, flag: "--out", inputs: [], data: Data(report.markdown(command: command).utf8))
        try Outputs.writeFile(dir.appendingPathComponent("table8.svg").path, flag: "--out", inputs: [], data: Data(report.svg().utf8))
        print(report.text(), terminator: "")
        print("wrote \(dir.appendingPathComponent("table8.md").path) and table8.svg")
    }

    // MARK: Cycle model against Verilator

    struct SimCase {
        let kind: BlockKind, dim: Int, heads: Int, tokens: Int, timeSteps: Int, lanes: Int, rate: Double
    }

    /// The configs `--check-sim` co-simulates (small, so the whole run takes about a minute):
    /// QKTA and QKCA, G from 1 to 32, input rates 0.05 to 0.4.
    static let simCases: [SimCase] = [
        SimCase(kind: .qkta, dim: 32, heads: 4, tokens: 16, timeSteps: 2, lanes: 4, rate: 0.2),
        SimCase(kind: .qkta, dim: 32, heads: 4, tokens: 16, timeSteps: 2, lanes: 8, rate: 0.05),
        SimCase(kind: .qkta, dim: 32, heads: 4, tokens: 16, timeSteps: 2, lanes: 32, rate: 0.3),
        SimCase(kind: .qkta, dim: 48, heads: 6, tokens: 12, timeSteps: 4, lanes: 6, rate: 0.1),
        SimCase(kind: .qkta, dim: 64, heads: 4, tokens: 8, timeSteps: 2, lanes: 2, rate: 0.4),
        SimCase(kind: .qkta, dim: 64, heads: 8, tokens: 8, timeSteps: 4, lanes: 4, rate: 0.1),
        SimCase(kind: .qkta, dim: 96, heads: 8, tokens: 8, timeSteps: 4, lanes: 12, rate: 0.2),
        SimCase(kind: .qkca, dim: 32, heads: 4, tokens: 16, timeSteps: 2, lanes: 4, rate: 0.2),
        SimCase(kind: .qkca, dim: 32, heads: 4, tokens: 16, timeSteps: 2, lanes: 16, rate: 0.05),
        SimCase(kind: .qkca, dim: 48, heads: 6, tokens: 12, timeSteps: 4, lanes: 48, rate: 0.3),
        SimCase(kind: .qkca, dim: 64, heads: 4, tokens: 8, timeSteps: 2, lanes: 2, rate: 0.4),
    ]

    /// One co-simulated measurement and the two predictions of it.
    struct SimRow {
        let shape: AcceleratorShape
        let rates: FiringRates
        let measured: Int, fromEvents: Int, fromRates: Int
        var errEvents: Double { Double(fromEvents - measured) / Double(measured) }
        var errRates: Double { Double(fromRates - measured) / Double(measured) }
    }

    /// Co-simulates `m` on `inputs` with no stalls, and predicts the cycles from the stimuli's
    /// events and from their measured rates.
    static func measure(_ m: BlockModel, inputs: [SpikeTensor], seed: UInt64) throws -> SimRow {
        let samples = inputs.count
        let (_, shape) = try build(m)
        let f = m.block.input
        let what = "\(m.config.block.rawValue) C=\(f.channels) N=\(f.tokens) T=\(f.timeSteps) P=\(m.folding.lanes)"
        var o = BlockCosim.Options()
        (o.samples, o.seed, o.inputStall, o.outputStall) = (samples, seed, 0, 0)
        let r = try BlockCosim.run(m, options: o, inputs: inputs)
        guard r.passed else { throw Failure(message: "co-simulation of \(what) disagrees with the golden model", code: 1) }
        let measured = r.cycles
        let traces = r.attentionTraces
        let events = zip(inputs, traces).map { VectorEvents.vectors(shape: shape, input: $0.0.scalars, masked: $0.1.maskedKeys.scalars) }
        let all = Array(events.joined())
        let cells = Double(all.count * shape.channels)
        let attention = traces.flatMap { $0.attention.spikes.scalars }
        let rates = FiringRates(input: Double(all.reduce(0) { $0 + $1.inputEvents }) / cells, q: 0, k: 0,
                                attention: Double(attention.reduce(0) { $0 + Int($1) }) / Double(max(attention.count, 1)),
                                xPrime: Double(all.reduce(0) { $0 + $1.maskedEvents }) / cells, out: 0, source: "measured")
        return SimRow(shape: shape, rates: rates, measured: measured, fromEvents: CycleModel(shape).runCycles(events),
                      fromRates: RateCycleModel(shape).runCycles(rates: rates, samples: samples))
    }

    static func checkSim(_ args: Arguments) throws {
        let seed = try args.uint64("seed", default: 5)
        let samples = try args.int("samples", default: 2, in: 1...16)
        var lines: [String] = []
        var worstEvents = 0.0, worstRates = 0.0
        print("cycle model against Verilator (no stalls), seed \(seed), \(samples) samples per config")
        for c in simCases {
            let block = try BlockConfig.parse(json: Data(#"{"block": "\#(c.kind.rawValue)", "dim": \#(c.dim), "heads": \#(c.heads), "tokens": \#(c.tokens), "timeSteps": \#(c.timeSteps)}"#.utf8))
            let m = try model(block, lanes: c.lanes, seed: seed, biasRange: -0.25...1.25)
            let inputs = m.block.input.randomSamples(rate: c.rate, count: samples, seed: seed)
            let r = try measure(m, inputs: inputs, seed: seed)
            worstEvents = max(worstEvents, abs(r.errEvents))
            worstRates = max(worstRates, abs(r.errRates))
            let row = String(format: "| %@ | %d | %d | %d | %d | %d | %.2f | %.3f | %.3f | %d | %d | %+.2f%% | %d | %+.2f%% |",
                             c.kind.rawValue, c.dim, c.tokens, c.timeSteps, c.lanes, r.shape.groups, c.rate, r.rates.input, r.rates.xPrime,
                             r.measured, r.fromEvents, 100 * r.errEvents, r.fromRates, 100 * r.errRates)
            print(row)
            lines.append(row)
        }
        // Full size: the default design of scripts/run.sh, biases calibrated to QKFormer's Table 7 rates, one sample.
        let full = try BlockConfig.named("hst-4-384", stage: 1)
        let base = try model(full, lanes: full.dim / 8, seed: seed)
        let t7 = BlockDescription.qkformerRates(stage: 1)
        let (calibrated, gotRates) = try base.calibrated(to: [t7.q, t7.k, t7.out], inputRate: 0.2, seed: seed)
        let got = (q: gotRates[0], k: gotRates[1], out: gotRates[2])
        let fullInput = [base.block.input.randomSample(rate: 0.2, seed: seed)]
        let f = try measure(calibrated, inputs: fullInput, seed: seed)
        let table7 = PerformanceEstimate(shape: f.shape, rates: FiringRates.resolve(shape: f.shape, stage: 1))
        let eT7 = Double(table7.latencyCycles - f.measured) / Double(f.measured)
        let fullText = String(format: """
            hst-4-384 stage 1 QKTA (C = 96, h = 8, N = 1024, T = 4, P = 12, G = 8), the default design of `scripts/run.sh`, with
            its biases calibrated to QKFormer's Table 7 rates (`cosim --calibrate`: Q %.4f, K %.4f, out %.4f), one sample of
            input rate 0.2 (seed %d); measured input rate %.3f, A_t %.3f, X' %.3f:

            | measured cycles | from events | error | from measured rates | error | `qkforge estimate` (Table 7 rates) latency | error |
            |---:|---:|---:|---:|---:|---:|---:|
            | %d | %d | %+.2f%% | %d | %+.2f%% | %d | %+.2f%% |
            """, got.q, got.k, got.out, Int(seed), f.rates.input, f.rates.attention, f.rates.xPrime,
            f.measured, f.fromEvents, 100 * f.errEvents, f.fromRates, 100 * f.errRates, table7.latencyCycles, 100 * eT7)
        print(fullText)
        print(String(format: "worst error: %.2f%% from events, %.2f%% from rates", 100 * worstEvents, 100 * worstRates))
        if let path = args.string("out") {
            let command = "qkforge estimate " + CommandLine.arguments.dropFirst(2).joined(separator: " ")
            var md = """
                # Cycle model against Verilator

                Regenerate with `bash scripts/estimate-cycles.sh` (runs `\(command)` on a release build).

                Each row co-simulates a generated block in Verilator on \(samples) random samples (seed \(seed), random weights
                with biases in [-0.25, 1.25], input counts 0/1 at the given rate), with no stalls on either stream, and counts the
                cycles from reset to the last output beat. Every output spike matched the golden model. The same stimuli go
                through the estimator twice:

                - **from events**: `CycleModel.runCycles` on the stimuli's per-vector event counts (input events per `s_axis` beat,
                  `X'` events per lane group, from the golden model's trace);
                - **from rates**: `RateCycleModel.runCycles` on the stimuli's measured input, attention and `X'` rates alone (what
                  `qkforge estimate` does with the Table 7 rates): synthetic vectors drawn at those rates.

                `G = ceil(C/P)`. Error = (model - measured) / measured.

                | block | C | N | T | P | G | rate | input rate | X' rate | measured cycles | from events | error | from rates | error |
                |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|

                """
            md += lines.joined(separator: "\n") + "\n\n"
            md += String(format: "Worst error: %.2f%% from events, %.2f%% from rates.\n\n## Full size\n\n", 100 * worstEvents, 100 * worstRates)
            md += fullText + "\n\nThe last column is what `qkforge estimate --model hst-4-384 --stage 1` prints as latency (one sample from an empty "
            md += "pipeline), at Table 7's A_t and X' rather than the measured ones.\n"

            md += """

                ## The model

                The QKTA model is a group-level timeline of the pipeline's handshakes (`QKTATimeline`): the K accumulator may not
                start a vector's groups before the previous vector's K spikes of that group have drained through the mask into the
                projection side, so a vector costs between `max(A, B)` and `A + B` (input side `A`, projection side `B`). The
                buffer depths and latencies in it (4 beats of K drain ahead of the mask, 2-beat skid after it, 3 queued `X'`
                events, mask ready `G + 4` cycles after Q's last event) were read from the blocks and a Verilator waveform
                and then chosen, within one or two cycles, to fit 36 other co-simulated QKTA configs (C = 32 to 64, G = 1 to
                32, rates 0.05 to 0.4, seeds 9 and 21); the costs of all-zero vectors were fitted with the first four QKTA
                rows above included, so only the other rows are fully held out. The rate model draws
                synthetic vectors with independent channels (and the head or channel mask structure of `X'`); real
                stimuli through random weights have correlated channels, which the rate model does not see: it errs by up
                to about 7%, mostly low. Both models assume streams that never stall; a testbench or system that withholds
                input beats or output ready adds those cycles.
                """
            md += "\n"
            try Outputs.writeFile(path, flag: "--out", inputs: [], data: Data(md.utf8))
            print("wrote \(path)")
        }
    }
}
