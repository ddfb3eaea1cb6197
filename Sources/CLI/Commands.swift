import Description
import ArgumentParser
import Foundation
import HDL

/// The version `qkforge --version` prints and the output marker records.
enum QKForgeVersion {
    static let string = "0.4.0"
}

/// One `qkforge` command: swift-argument-parser parses its flags; `arguments` hands them, as
/// typed, to the command's implementation, which checks the values and the flags that do not
/// apply to the chosen mode.
protocol QKCommand: ParsableCommand {
    var arguments: Arguments { get }
    func execute(_ args: Arguments) throws
}

extension QKCommand {
    func run() throws {
        try arguments.checkNoEmptyValues()
        try execute(arguments)
    }
}

/// The flags that pick a model's block and its weights, shared by the model commands.
enum ModelFlags {
    static let all = ["model", "bundle", "stage", "block", "lanes", "seed"]
}

struct QKForgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qkforge",
        abstract: "Generate, co-simulate and estimate spiking-transformer (QKFormer) attention accelerators in Verilog-2005.",
        discussion: "Bad input gets one line naming the problem and the fix, and exit code 2; a failed check (a mismatch, a missed target) exits 1; an interrupt (Ctrl-C) removes temporary files, ends child tools and exits 130 (143 for SIGTERM). Outputs never replace what qkforge did not write: see docs/cli.md. Examples for --example: \(ExampleCircuits.all.map(\.name).joined(separator: ", ")).",
        version: QKForgeVersion.string,
        subcommands: [GenerateCommand.self, CosimCommand.self, GoldenCommand.self, SimulateCommand.self, DifftestCommand.self,
                      BenchCommand.self, EstimateCommandLine.self, CalibrateCommandLine.self, QuantizeCommand.self,
                      TimingCommand.self])
}

// MARK: generate

struct GenerateCommand: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a whole network's or a block's Verilog, filelist, weight images and report.json (or an HDL example with --example).")

    @Option(help: "A named model (hst-10-384, hst-4-384, ...) or a config.json path.") var model: String?
    @Option(help: "A trained model's bundle: a folder with config.json and tensors/.") var bundle: String?
    @Option(help: "The block: qkta, qkca, ssa, mlp, qkformer-block, or network [network for a named model without --stage; else qkta].") var block: String?
    @Option(help: "The stage of the named model [1].") var stage: String?
    @Option(help: "Lanes P: channels processed per cycle, 1 to 256 [C/8].") var lanes: String?
    @Option(help: "Seed of the random weights (not with --bundle) [1].") var seed: String?
    @Option(help: "A whole network: each layer's lanes for the fastest balanced pipeline whose LUT estimate fits this many LUTs.") var budget: String?
    @Option(name: .customLong("target-fps"), help: "A whole network: each layer's fewest lanes that meet this many images/s at --clock-mhz.") var targetFPS: String?
    @Option(name: .customLong("clock-mhz"), help: "The clock --target-fps is met at, MHz [200, an assumption].") var clockMHz: String?
    @Option(help: "An HDL example circuit instead of a model.") var example: String?
    @Option(help: "The output directory: new, or one qkforge wrote before.") var out: String?
    @Flag(help: "Replace an existing directory that qkforge did not write (never ., /, home, a directory holding .git, or one holding an input).") var force = false
    @Flag(help: "Paths relative to the folder in files.f and the Verilog (for a folder to move or commit; use verilator -F) instead of absolute ones.") var portable = false

    var arguments: Arguments {
        Arguments(command: "generate", values: ["model": model, "bundle": bundle, "block": block, "stage": stage, "lanes": lanes,
                                               "seed": seed, "example": example, "out": out, "budget": budget, "target-fps": targetFPS,
                                               "clock-mhz": clockMHz], switches: ["force": force, "portable": portable])
    }

    func execute(_ args: Arguments) throws {
        if args.given("example") {
            try args.forbid(ModelFlags.all, "with --example (an HDL example has no model); drop one of them")
            try CLI.generateExample(args)
        } else {
            if !NetworkCommands.applies(args) {
                try args.forbid(["budget", "target-fps", "clock-mhz"], "to a block (it folds a whole network, --block network); a block takes --lanes")
            }
            try ModelCommands.generate(args)
        }
    }
}

// MARK: cosim

struct CosimCommand: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "cosim",
        abstract: "Co-simulate a block in Verilator against the golden model (or --example NAME against the IR simulator).")

    @Option(help: "A named model or a config.json path.") var model: String?
    @Option(help: "A trained model's bundle folder.") var bundle: String?
    @Option(help: "The block: qkta, qkca, ssa, mlp, qkformer-block, or network (the whole network, random images) [qkta].") var block: String?
    @Option(help: "The stage of the named model [1].") var stage: String?
    @Option(help: "Lanes P, 1 to 256 [C/8].") var lanes: String?
    @Option(help: "Seed of the weights and the stimuli [1].") var seed: String?
    @Option(help: "Samples to co-simulate, 1 to 1000 [2].") var samples: String?
    @Option(help: "A whole network: fold each layer for this LUT budget (as generate).") var budget: String?
    @Option(name: .customLong("target-fps"), help: "A whole network: fold each layer for this many images/s (as generate).") var targetFPS: String?
    @Option(name: .customLong("clock-mhz"), help: "The clock --target-fps is met at, MHz [200, an assumption].") var clockMHz: String?
    @Option(help: "Input firing rate, 0 to 1 [0.2].") var rate: String?
    @Option(help: "Probability of a stall on each stream, 0 to 0.99.") var stall: String?
    @Flag(help: "Shift the biases so Q, K and the output fire at QKFormer's Table 7 rates.") var calibrate = false
    @Option(help: "An HDL example circuit instead of a model.") var example: String?
    @Option(help: "Cycles for --example, 1 to 100000000 [10000].") var cycles: String?
    @Option(help: "A waveform file, .vcd or .fst (written through a temporary file; never onto an input or a device).") var trace: String?

    var arguments: Arguments {
        Arguments(command: "cosim", values: ["model": model, "bundle": bundle, "block": block, "stage": stage, "lanes": lanes,
                                            "seed": seed, "samples": samples, "rate": rate, "stall": stall, "example": example,
                                            "cycles": cycles, "trace": trace, "budget": budget, "target-fps": targetFPS,
                                            "clock-mhz": clockMHz], switches: ["calibrate": calibrate])
    }

    func execute(_ args: Arguments) throws {
        if args.given("example") {
            try args.forbid(["model", "bundle", "block", "stage", "lanes", "samples", "rate", "stall", "calibrate"],
                            "with --example (an HDL example against the IR simulator); drop one of them")
            try CLI.cosimExample(args)
        } else {
            try args.forbid(["cycles"], "with --model or --bundle (a model runs whole samples: use --samples)")
            if !NetworkCommands.applies(args) {
                try args.forbid(["budget", "target-fps", "clock-mhz"], "to a block (it folds a whole network, --block network); a block takes --lanes")
            }
            try ModelCommands.cosim(args)
        }
    }
}

// MARK: golden, simulate

struct GoldenCommand: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "golden",
        abstract: "Run the golden model on a block's uint8 spikes [T,N,C]/[B,T,N,C], or a network's images [C,H,W]/[B,C,H,W] (.npy).")

    @Option(help: "A named model or a config.json path.") var model: String?
    @Option(help: "A trained model's bundle folder.") var bundle: String?
    @Option(help: "The block: qkta or qkca [qkta]; network: the whole network (docs/estimate-network.md).") var block: String?
    @Option(help: "The stage of the named model [1].") var stage: String?
    @Option(help: "Seed of the random weights (not with --bundle) [1].") var seed: String?
    @Option(help: "The input spikes, uint8 .npy.") var input: String?
    @Option(help: "The output file, .npy (a new file, or replaced through a temporary file; never an input or a device).") var output: String?
    @Flag(help: "With a network bundle: write the int64 integers z instead of float64 logits.") var raw = false

    var arguments: Arguments {
        Arguments(command: "golden", values: ["model": model, "bundle": bundle, "block": block, "stage": stage, "seed": seed,
                                             "input": input, "output": output], switches: ["raw": raw])
    }

    func execute(_ args: Arguments) throws {
        // A whole network (--block network, or a config/bundle whose block is network) takes images: NetworkGolden.swift.
        if NetworkCommands.applies(args) { return try NetworkGolden.run(args, rtl: false) }
        try args.forbid(["raw"], "to a block (it writes a network's integer logits z); drop it")
        try ModelCommands.goldenOrSimulate(args, rtl: false)
    }
}

struct SimulateCommand: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the generated RTL in Verilator on a block's uint8 spikes, or a network's images (.npy), as golden does.")

    @Option(help: "A named model or a config.json path.") var model: String?
    @Option(help: "A trained model's bundle folder.") var bundle: String?
    @Option(help: "The block: qkta or qkca [qkta]; network: the whole network (docs/estimate-network.md).") var block: String?
    @Option(help: "The stage of the named model [1].") var stage: String?
    @Option(help: "Lanes P, 1 to 256 [C/8].") var lanes: String?
    @Option(help: "Seed of the random weights (not with --bundle) [1].") var seed: String?
    @Option(help: "A whole network: fold each layer for this LUT budget (as generate).") var budget: String?
    @Option(name: .customLong("target-fps"), help: "A whole network: fold each layer for this many images/s (as generate).") var targetFPS: String?
    @Option(name: .customLong("clock-mhz"), help: "The clock --target-fps is met at, MHz [200, an assumption].") var clockMHz: String?
    @Option(help: "The input spikes, uint8 .npy.") var input: String?
    @Option(help: "The output file, .npy (a new file, or replaced through a temporary file; never an input or a device).") var output: String?
    @Flag(help: "With a whole network: write the int64 integers z instead of float64 logits.") var raw = false

    var arguments: Arguments {
        Arguments(command: "simulate", values: ["model": model, "bundle": bundle, "block": block, "stage": stage, "lanes": lanes,
                                               "seed": seed, "input": input, "output": output, "budget": budget, "target-fps": targetFPS,
                                               "clock-mhz": clockMHz], switches: ["raw": raw])
    }

    func execute(_ args: Arguments) throws {
        if NetworkCommands.applies(args) { return try NetworkGolden.run(args, rtl: true) }
        try args.forbid(["budget", "target-fps", "clock-mhz"], "to a block (it folds a whole network, --block network); a block takes --lanes")
        try args.forbid(["raw"], "to a block (it writes a network's integer logits z); drop it")
        try ModelCommands.goldenOrSimulate(args, rtl: true)
    }
}

// MARK: difftest, bench

struct DifftestCommand: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "difftest",
        abstract: "Differential test of random circuits: the IR simulator against Verilator.")

    @Option(help: "Random circuits, 1 to 100000 [200].") var circuits: String?
    @Option(help: "Cycles per circuit, 1 to 10000000 [1000].") var cycles: String?
    @Option(help: "The master seed.") var seed: String?
    @Option(help: "Circuits per Verilator build, 1 to 1000 [50].") var batch: String?

    var arguments: Arguments {
        Arguments(command: "difftest", values: ["circuits": circuits, "cycles": cycles, "seed": seed, "batch": batch], switches: [:])
    }

    func execute(_ args: Arguments) throws { try CLI.difftest(args) }
}

struct BenchCommand: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time elaboration and emission of a synthetic design, and the Verilator harness against a plain C++ loop.")

    @Option(help: "Nodes of the synthetic design, 1 to 10000000 [100000].") var nodes: String?
    @Option(help: "Cycles of the harness benchmark, 1 to 1000000000 [2000000].") var cycles: String?

    var arguments: Arguments { Arguments(command: "bench", values: ["nodes": nodes, "cycles": cycles], switches: [:]) }

    func execute(_ args: Arguments) throws {
        let nodes = try args.int("nodes", default: 100_000, in: 1...10_000_000)
        let cycles = try args.int("cycles", default: 2_000_000, in: 1...1_000_000_000)
        try Bench.run(nodes: nodes, cycles: cycles)
    }
}

// MARK: estimate

struct EstimateCommandLine: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate",
        abstract: "Resources, cycles, latency, throughput and energy without synthesis; --sweep, --table8 or --check-sim for the tables.",
        discussion: "Rates default to QKFormer's Table 7 (input 0.2). --sweep lanes=1,2,4,... [--svg FILE] [--out FILE.md]: a lanes sweep and its area/cycles Pareto front. --table8 [--sqrt-n 10,20,...] --out DIR: QKTA, QKCA and SSA storage and LUTs across N (C = 256, T = 1). --check-sim [--seed S] [--samples N] [--out FILE.md]: the cycle model against Verilator.")

    @Option(help: "A named model or a config.json path.") var model: String?
    @Option(help: "A trained model's bundle folder (single estimate only).") var bundle: String?
    @Option(help: "The block: qkta or qkca [qkta]; network: the whole network (docs/estimate-network.md).") var block: String?
    @Option(help: "The stage of the named model [1].") var stage: String?
    @Option(help: "Lanes P, 1 to 256 [C/8].") var lanes: String?
    @Option(help: "Seed of the random weights [1].") var seed: String?
    @Option(help: "Input firing rate, 0 to 1.") var rate: String?
    @Option(help: "Q firing rate.") var qRate: String?
    @Option(help: "K firing rate.") var kRate: String?
    @Option(help: "Attention (A_t or A_c) firing rate.") var attentionRate: String?
    @Option(help: "X' firing rate.") var xRate: String?
    @Option(help: "Output firing rate.") var outRate: String?
    @Option(help: "The clock in MHz for latency and throughput [the Fmax estimate].") var clockMhz: String?
    @Option(help: ArgumentHelp(Arguments.lifHelp)) var lif: String?
    @Option(help: "Energy of an accumulate, pJ [0.9].") var eAc: String?
    @Option(help: "Energy of a multiply-accumulate, pJ [4.6].") var eMac: String?
    @Option(help: "Energy of a memory bit, pJ.") var eMemBit: String?
    @Option(help: "A lanes sweep: lanes=P1,P2,...") var sweep: String?
    @Option(help: "With --sweep: the Pareto plot, an .svg file.") var svg: String?
    @Option(help: "With --sweep or --check-sim: a .md file; with --table8: a directory that gets table8.md and table8.svg.") var out: String?
    @Option(help: "With --table8: the square roots of N.") var sqrtN: String?
    @Option(help: "With --check-sim: samples per config, 1 to 16 [2].") var samples: String?
    @Flag(help: "Print JSON (docs/estimate-json.md).") var json = false
    @Option(help: "With --block network: the highest throughput whose LUT estimate fits this many LUTs.") var budget: String?
    @Option(help: "With --block network: every layer's fewest lanes meeting this many images/s.") var targetFps: String?
    @Option(help: "With --block network: report.html (diagram and table), an .html file.") var html: String?
    @Flag(help: "QKFormer's Table 8 in hardware form.") var table8 = false
    @Flag(help: "The cycle model against Verilator.") var checkSim = false

    var arguments: Arguments {
        Arguments(command: "estimate", values: [
            "model": model, "bundle": bundle, "block": block, "stage": stage, "lanes": lanes, "seed": seed, "rate": rate,
            "q-rate": qRate, "k-rate": kRate, "attention-rate": attentionRate, "x-rate": xRate, "out-rate": outRate,
            "clock-mhz": clockMhz, "e-ac": eAc, "e-mac": eMac, "e-mem-bit": eMemBit, "sweep": sweep, "svg": svg, "out": out,
            "sqrt-n": sqrtN, "samples": samples, "lif": lif, "budget": budget, "target-fps": targetFps, "html": html,
        ], switches: ["json": json, "table8": table8, "check-sim": checkSim])
    }

    func execute(_ args: Arguments) throws { try EstimateCommand.run(args) }
}

// MARK: calibrate

struct CalibrateCommandLine: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Synthesize designs with Yosys synth_xilinx (xc7) and compare LUT/FF/BRAM/DSP with the resource estimate.")

    @Option(help: "ci or full [full].") var subset: String?
    @Option(help: "Only the designs whose name contains this text.") var only: String?
    @Option(help: "The table, a .md file.") var out: String?
    @Option(help: "Parallel Yosys runs, 1 to 64 [1].") var jobs: String?
    @Option(help: "A directory for the synthesis runs, kept: new, or one qkforge made [a temporary one, removed].") var work: String?
    @Flag(help: "With --work: read back synthesis results of byte-identical Verilog.") var reuse = false
    @Flag(help: "Validate on a held-out set drawn by --seed and --count (no calibration design); splices its section into --out.") var validate = false
    @Option(help: "With --validate: the seed of the held-out draw.") var seed: String?
    @Option(help: "With --validate: how many held-out designs, 1 to 40.") var count: String?
    @Flag(help: "Fmax on ECP5 (Yosys synth_ecp5 + nextpnr-ecp5, LFE5U-85F speed 8, 150 MHz target, placer seed 1) against the Fmax estimate: alone, measures the Fmax calibration designs and fits the estimate's delays; with --validate, adds Fmax to the held-out table.") var fmax = false

    var arguments: Arguments {
        Arguments(command: "calibrate", values: ["subset": subset, "only": only, "out": out, "jobs": jobs, "work": work,
                                                 "seed": seed, "count": count],
                  switches: ["reuse": reuse, "validate": validate, "fmax": fmax])
    }

    func execute(_ args: Arguments) throws {
        if !args.given("work") { try args.forbid(["reuse"], "without --work DIR (it reads back a previous run there)") }
        try CalibrateCommand.run(args)
    }
}

// MARK: quantize

struct QuantizeCommand: QKCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Fold BatchNorm and quantize a trained block; per layer: grids, largest rounding error, exact or not.")

    @Option(help: "The bundle folder: config.json and tensors/.") var bundle: String?
    @Option(help: "A named model or a config.json path instead of the bundle's config.json.") var model: String?
    @Option(help: "The stage of the named model.") var stage: String?
    @Option(help: "The block: qkta or qkca.") var block: String?
    @Flag(help: "Print JSON.") var json = false

    var arguments: Arguments {
        Arguments(command: "quantize", values: ["bundle": bundle, "model": model, "stage": stage, "block": block], switches: ["json": json])
    }

    func execute(_ args: Arguments) throws { try ModelCommands.quantize(args) }
}
