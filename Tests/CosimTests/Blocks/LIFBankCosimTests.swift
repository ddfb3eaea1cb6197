import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The LIF bank against the golden model (`Golden.LIFParameters.step`), in Verilator, with
/// random currents, random group orders (consecutive beats of one group included) and random
/// valid/ready stalls on both streams.
@Suite(.serialized) struct LIFBankCosimTests {
    struct Variant {
        let label: String
        let config: LIFBankConfig
        /// Time steps per token: `first` is set on step 0 of each group's token.
        let timeSteps: Int
    }

    /// QKFormer's neuron: T = 4, k = 1, E = T*k = 4, weight grid Fw = 4, threshold 1.0 = 2^8.
    static let qkformer = LIFNeuronConfig.qkformer(weightFractionBits: 4, extraFractionBits: 4)

    static let registerSweep: [Variant] = [
        Variant(label: "qkformer L10 P4", config: LIFBankConfig(
            neurons: 10, lanes: 4, neuron: qkformer, current: Interval(-300, 300), membraneOutput: true), timeSteps: 4),
        Variant(label: "th0 k0 soft noDecayInput L5 P8", config: LIFBankConfig(
            neurons: 5, lanes: 8, neuron: LIFNeuronConfig(k: 0, threshold: 0, reset: .soft, decayInput: false),
            current: Interval(-20, 20), membraneOutput: true), timeSteps: 3),
        Variant(label: "th-7 soft k2 Wv6 saturating L7 P3", config: LIFBankConfig(
            neurons: 7, lanes: 3, neuron: LIFNeuronConfig(k: 2, threshold: -7, reset: .soft, decayInput: true,
                                                          inputShift: 1, membraneWidth: 6),
            current: Interval(-100, 100), membraneOutput: true), timeSteps: 6),
        Variant(label: "hard vr-3 th-1 k3 noDecayInput Wv5 L6 P2", config: LIFBankConfig(
            neurons: 6, lanes: 2, neuron: LIFNeuronConfig(k: 3, threshold: -1, reset: .hard(-3), decayInput: false,
                                                          membraneWidth: 5),
            current: Interval(-40, 40), membraneOutput: true), timeSteps: 5),
        Variant(label: "per-neuron thresholds 2^5..2^9 qkformer L11 P4", config: LIFBankConfig(
            neurons: 11, lanes: 4, neuron: qkformer, current: Interval(-300, 300), membraneOutput: true,
            thresholds: [32, 64, 128, 256, 512, 256, 32, 64, 512, 128, 64]), timeSteps: 4),
        Variant(label: "soft th9 k1 E2 unforced L1 P1", config: LIFBankConfig(
            neurons: 1, lanes: 1, neuron: LIFNeuronConfig(k: 1, threshold: 9, reset: .soft, decayInput: true, inputShift: 2),
            current: Interval(-5, 7), membraneOutput: true), timeSteps: 8),
    ]

    static let ramSweep: [Variant] = [
        Variant(label: "ram qkformer L12 P4", config: LIFBankConfig(
            neurons: 12, lanes: 4, neuron: qkformer, current: Interval(-300, 300), storage: .ram,
            membraneOutput: true), timeSteps: 4),
        Variant(label: "ram P>L soft th5 k1 E2 L3 P4", config: LIFBankConfig(
            neurons: 3, lanes: 4, neuron: LIFNeuronConfig(k: 1, threshold: 5, reset: .soft, inputShift: 2),
            current: Interval(-3, 4), storage: .ram, membraneOutput: true), timeSteps: 5),
        Variant(label: "ram G5 soft th-2 k1 noDecayInput Wv4 L9 P2", config: LIFBankConfig(
            neurons: 9, lanes: 2, neuron: LIFNeuronConfig(k: 1, threshold: -2, reset: .soft, decayInput: false,
                                                          membraneWidth: 4),
            current: Interval(-6, 6), storage: .ram, membraneOutput: true), timeSteps: 4),
        Variant(label: "ram L=P hard vr2 th3 k2 E1 L4 P4", config: LIFBankConfig(
            neurons: 4, lanes: 4, neuron: LIFNeuronConfig(k: 2, threshold: 3, reset: .hard(2), inputShift: 1),
            current: Interval(-9, 9), storage: .ram, membraneOutput: true), timeSteps: 7),
        Variant(label: "ram per-neuron thresholds hard vr-2 L7 P3", config: LIFBankConfig(
            neurons: 7, lanes: 3, neuron: LIFNeuronConfig(k: 1, threshold: 1, reset: .hard(-2), inputShift: 2),
            current: Interval(-40, 60), storage: .ram, membraneOutput: true,
            thresholds: [3, 40, 17, 3, 90, 1, 64]), timeSteps: 4),
        Variant(label: "ram th0 hard k3 Wv7 L6 P4 no membrane port", config: LIFBankConfig(
            neurons: 6, lanes: 4, neuron: LIFNeuronConfig(k: 3, threshold: 0, reset: .hard(0), inputShift: 3,
                                                          membraneWidth: 7),
            current: Interval(-50, 50), storage: .ram), timeSteps: 3),
    ]

    /// The register sweep again with the four-stage update: hazards (a group's next beat
    /// while its last is in flight) come from the random group orders and from L <= P.
    static let pipelinedSweep: [Variant] = registerSweep.map { v in
        var c = v.config
        c.storage = .pipelined
        return Variant(label: "pipelined " + v.label, config: c, timeSteps: v.timeSteps)
    }

    static let beatsPerVariant = 14_000

    @Test func registerBanksMatchGolden() throws {
        try runSweep("lif_sweep_reg", Self.registerSweep, seed: TestSeed.value(default: 0x11F0))
    }

    @Test func ramBanksMatchGolden() throws {
        try runSweep("lif_sweep_ram", Self.ramSweep, seed: TestSeed.value(default: 0x11F1))
    }

    @Test func pipelinedBanksMatchGolden() throws {
        try runSweep("lif_sweep_pipe", Self.pipelinedSweep, seed: TestSeed.value(default: 0x11F4))
    }

    /// The four-stage update takes one beat per cycle when groups come in order and there are
    /// at least 4 of them (no beat meets its own group in flight); with 3 groups each beat but
    /// the first of a token waits for its group's write-back; with one group (an MLP bank, which
    /// `auto` pipelines at any G) such a beat passes 4 cycles after the previous one, the
    /// interval `MLPTimeline` charges: 20 tokens x (1 + 3 x 4) + 5 = 265 cycles.
    @Test(arguments: [(4, false), (3, true), (1, true)])
    func pipelinedThroughput(groups: Int, waits: Bool) throws {
        let config = LIFBankConfig(neurons: 4 * groups, lanes: 4, neuron: Self.qkformer, current: Interval(-300, 300),
                                   storage: .pipelined)
        let ports = try SpikingCosim.simulate(try makeLIFBank(config))
        let timeSteps = 4, tokens = 20
        var beats: [SpikingBeat] = []
        for _ in 0..<tokens {
            for t in 0..<timeSteps {
                for g in 0..<groups {
                    beats.append(["first": [t == 0 ? 1 : 0], "group": [UInt64(g)], "current": spikingPack([17, -3, 250, 0], width: 10)])
                }
            }
        }
        #expect(try config.widths().current == 10)
        let bench = SpikingStreamBench(ports, seed: 1)
        bench.sources = [SpikingSource("in", beats: beats)]
        let sink = SpikingSink("out", fields: ["spike"])
        bench.sinks = [(sink, beats.count)]
        bench.reset()
        #expect(bench.run(maxCycles: 100_000, noStalls: true))
        print("pipelinedThroughput G=\(groups): \(bench.cycles) cycles for \(beats.count) beats")
        if groups == 1 {
            #expect(bench.cycles == tokens * (1 + (timeSteps - 1) * 4) + 5, "\(bench.cycles) cycles for \(beats.count) beats")
        } else if waits {
            // Groups 0, 1 and 2 rotate: a non-first beat finds its group three stages ahead and
            // waits until that beat has written back; only the stall count is asserted loosely.
            #expect(bench.cycles > beats.count + 4, "\(bench.cycles) cycles for \(beats.count) beats")
        } else {
            #expect(bench.cycles == beats.count + 5, "\(bench.cycles) cycles for \(beats.count) beats")
        }
    }

    /// More parameter points, drawn at random, on the IR simulator (no Verilator build each).
    @Test func randomBanksMatchGoldenInIRSimulator() throws {
        let seed = TestSeed.value(default: 0x11F2)
        print("LIFBankCosimTests.randomBanksMatchGoldenInIRSimulator seed \(seed)")
        var rng = SplitMix64(seed: seed)
        var variants: [Variant] = []
        for i in 0..<12 {
            let reset: LIFNeuronConfig.Reset = rng.spkChance(0.5) ? .soft : .hard(rng.spkInt(-4, 4))
            let forced: Int? = rng.spkChance(0.4) ? rng.spkInt(4, 9) : nil
            var th = rng.spkInt(-12, 40)
            if let w = forced { th = min(max(th, -(1 << (w - 1))), (1 << (w - 1)) - 1) }
            var neuron = LIFNeuronConfig(k: rng.spkInt(0, 3), threshold: th, reset: reset, decayInput: rng.spkChance(0.6),
                                         inputShift: rng.spkInt(0, 3), membraneWidth: forced)
            if let w = forced, case .hard(let vr) = reset, !Interval.ofWidth(w, signed: true).contains(vr) {
                neuron.reset = .hard(0)
            }
            let lo = -rng.spkInt(0, 30), hi = rng.spkInt(0, 30)
            var config = LIFBankConfig(neurons: rng.spkInt(1, 9), lanes: rng.spkInt(1, 5), neuron: neuron,
                                       current: Interval(lo, hi), storage: [LIFStateStorage.ram, .registers, .pipelined][rng.spkInt(0, 2)],
                                       membraneOutput: true)
            if neuron.isHardReset && forced == nil && rng.spkChance(0.5) {
                config.thresholds = (0..<config.neurons).map { _ in rng.spkInt(1, 40) }
            }
            variants.append(Variant(label: "random \(i): \(config.neuron) L\(config.neurons) P\(config.lanes) \(config.storage)",
                                    config: config, timeSteps: rng.spkInt(1, 6)))
        }
        try runSweep("lif_sweep_random", variants, seed: seed, beats: 2_500, verilator: false)
    }

    /// Unstalled, both forms take one beat per cycle: `beats + latency` cycles in all.
    @Test(arguments: [LIFStateStorage.registers, .ram])
    func fullThroughput(storage: LIFStateStorage) throws {
        let config = LIFBankConfig(neurons: 8, lanes: 4, neuron: Self.qkformer, current: Interval(-300, 300),
                                   storage: storage)
        let ports = try SpikingCosim.simulate(try makeLIFBank(config))
        var rng = SplitMix64(seed: 7)
        let (beats, _) = Self.stimulus(config, timeSteps: 4, beats: 500, rng: &rng)
        let bench = SpikingStreamBench(ports, seed: 1)
        bench.sources = [SpikingSource("in", beats: beats)]
        let sink = SpikingSink("out", fields: ["spike"])
        bench.sinks = [(sink, beats.count)]
        bench.reset()
        #expect(bench.run(maxCycles: 10_000, noStalls: true))
        let latency = storage == .ram ? 2 : 1
        #expect(bench.cycles == beats.count + latency, "\(bench.cycles) cycles for \(beats.count) beats")
    }

    /// The proven widths are sound: every `H` and `V` of long golden trajectories (constant
    /// extreme currents and random ones) fits them, and they hold everything the golden model's
    /// own, independent analysis finds reachable when that analysis is tight (iterated).
    @Test func provenWidthsAreSound() throws {
        let seed = TestSeed.value(default: 0x11F3)
        print("LIFBankCosimTests.provenWidthsAreSound seed \(seed)")
        var rng = SplitMix64(seed: seed)
        for _ in 0..<300 {
            let reset: LIFNeuronConfig.Reset = rng.spkChance(0.5) ? .soft : .hard(rng.spkInt(-20, 20))
            let n = LIFNeuronConfig(k: rng.spkInt(0, 10), threshold: rng.spkInt(-300, 3000), reset: reset,
                                    decayInput: rng.spkChance(0.5), inputShift: rng.spkInt(0, 8))
            let cur = Interval(-rng.spkInt(0, 5000), rng.spkInt(0, 5000))
            let mine = try LIFBankConfig(neurons: 1, lanes: 1, neuron: n, current: cur).widths()
            let g = Self.golden(n)
            let analysis = try LIFIntervalAnalysis.analyze(current: Int64(cur.lo)...Int64(cur.hi), parameters: g)
            if case .iterated = analysis.method {
                #expect(mine.membrane >= SignedWidth.required(analysis.membrane), "\(n) I in \(cur): \(mine) vs \(analysis)")
                #expect(mine.hidden >= SignedWidth.required(analysis.hidden), "\(n) I in \(cur): \(mine) vs \(analysis)")
            }
            for pattern in 0..<4 {
                var v = g.resetValue
                for _ in 0..<3000 {
                    let i: Int
                    switch pattern {
                    case 0: i = cur.hi
                    case 1: i = cur.lo
                    case 2: i = rng.spkChance(0.9) ? cur.hi : cur.lo
                    default: i = rng.spkEdgy(cur.lo, cur.hi)
                    }
                    let s = g.step(membrane: v, current: Int64(i))
                    v = s.membrane
                    if SignedWidth.required(s.hidden) > mine.hidden || SignedWidth.required(v) > mine.membrane {
                        Issue.record("\(n) I in \(cur): H = \(s.hidden), V = \(v) exceed the proven widths \(mine)")
                        return
                    }
                }
            }
        }
    }

    @Test func rejectsBadParameters() throws {
        let n = LIFNeuronConfig(threshold: 1)
        #expect(throws: BlockError.self) {
            try makeLIFBank(LIFBankConfig(neurons: 3, lanes: 1, neuron: n, current: Interval(0, 1), thresholds: [1, 2]))
        }
        #expect(throws: BlockError.self) {
            try makeLIFBank(LIFBankConfig(neurons: 2, lanes: 1, neuron: LIFNeuronConfig(threshold: 1, reset: .soft),
                                          current: Interval(0, 1), thresholds: [1, 2]))
        }
        #expect(throws: BlockError.self) { try makeLIFBank(LIFBankConfig(neurons: 0, lanes: 1, neuron: n, current: Interval(0, 1))) }
        #expect(throws: BlockError.self) { try makeLIFBank(LIFBankConfig(neurons: 4, lanes: 0, neuron: n, current: Interval(0, 1))) }
        #expect(throws: BlockError.self) {
            try makeLIFBank(LIFBankConfig(neurons: 4, lanes: 1, neuron: LIFNeuronConfig(threshold: 100, membraneWidth: 6),
                                          current: Interval(0, 1)))
        }
        #expect(throws: BlockError.self) {
            try makeLIFBank(LIFBankConfig(neurons: 4, lanes: 1, neuron: LIFNeuronConfig(k: -1, threshold: 1), current: Interval(0, 1)))
        }
        #expect(throws: BlockError.self) {
            try makeLIFBank(LIFBankConfig(neurons: 4, lanes: 1, neuron: n, current: Interval(0, 1), name: "Bad-Name"))
        }
        do {
            _ = try makeLIFBank(LIFBankConfig(neurons: 4, lanes: 1, neuron: LIFNeuronConfig(threshold: 100, membraneWidth: 6),
                                              current: Interval(0, 1)))
        } catch let e as BlockError {
            #expect(e.description.contains("membraneWidth"), "\(e)")
        }
    }

    // MARK: Sweep machinery

    static func golden(_ n: LIFNeuronConfig) -> LIFParameters {
        let reset: LIFParameters.Reset
        switch n.reset {
        case .hard(let vr): reset = .hard(Int64(vr))
        case .soft: reset = .soft
        }
        return LIFParameters(k: n.k, threshold: Int64(n.threshold), reset: reset, decayInput: n.decayInput,
                             inputShift: n.inputShift, membraneWidth: n.membraneWidth)
    }

    struct Expected {
        let group: Int
        let first: Bool
        /// Per lane: neuron index (nil past L), time step, current, spike, membrane.
        let neuron: [Int?]
        let step: [Int]
        let current: [Int]
        let spike: [Bool]
        let membrane: [Int64]
    }

    /// Random beats: groups in order or at random (with repeats of the previous group), `first`
    /// on each group's step 0, currents favouring the ends of their range. The expected output
    /// comes from the golden model, neuron by neuron.
    static func stimulus(_ c: LIFBankConfig, timeSteps: Int, beats n: Int, rng: inout SplitMix64)
        -> ([SpikingBeat], [Expected]) {
        let (beats, expected, _) = stimulusCountingSaturation(c, timeSteps: timeSteps, beats: n, rng: &rng)
        return (beats, expected)
    }

    /// `stimulus`, also counting the steps whose `H` sits at a bound of a forced width (where
    /// the saturation acts, or all but).
    static func stimulusCountingSaturation(_ c: LIFBankConfig, timeSteps: Int, beats n: Int, rng: inout SplitMix64)
        -> ([SpikingBeat], [Expected], Int) {
        var saturated = 0
        let base = golden(c.neuron)
        /// Neuron `idx`'s golden parameters: the bank's, with its own threshold if it has one.
        let goldens: [LIFParameters] = (0..<c.neurons).map { idx in
            var g = base
            if let th = c.thresholds { g.threshold = Int64(th[idx]) }
            return g
        }
        let wi = try! c.widths().current
        let (p, g) = (c.lanes, c.groups)
        var v = [Int64](repeating: base.resetValue, count: c.neurons)
        var step = [Int](repeating: 0, count: g)
        var beats: [SpikingBeat] = []
        var expected: [Expected] = []
        var group = 0
        var sequential = true
        for b in 0..<n {
            if b % 300 == 0 { sequential = rng.spkChance(0.5) }
            if b > 0 {
                if sequential { group = (group + 1) % g } else if !rng.spkChance(0.35) { group = rng.spkInt(0, g - 1) }
            }
            let first = step[group] == 0
            let t = step[group]
            step[group] = (step[group] + 1) % timeSteps
            let currents = (0..<p).map { _ in rng.spkEdgy(c.current.lo, c.current.hi) }
            var neuron: [Int?] = [], spike: [Bool] = [], membrane: [Int64] = []
            for j in 0..<p {
                let idx = group * p + j
                guard idx < c.neurons else { neuron.append(nil); spike.append(false); membrane.append(0); continue }
                if first { v[idx] = base.resetValue }
                let s = goldens[idx].step(membrane: v[idx], current: Int64(currents[j]))
                if let w = c.neuron.membraneWidth, s.hidden == SignedWidth.minimum(w) || s.hidden == SignedWidth.maximum(w) {
                    saturated += 1
                }
                v[idx] = s.membrane
                neuron.append(idx); spike.append(s.spike); membrane.append(s.membrane)
            }
            beats.append(["first": [first ? 1 : 0], "group": [UInt64(group)],
                          "current": spikingPack(currents.map(Int64.init), width: wi)])
            expected.append(Expected(group: group, first: first, neuron: neuron, step: [Int](repeating: t, count: p),
                                     current: currents, spike: spike, membrane: membrane))
        }
        return (beats, expected, saturated)
    }

    /// Compares one variant's output beats with the golden beats; returns mismatch messages.
    static func compare(_ variant: Variant, _ got: [SpikingBeat], _ want: [Expected]) -> [String] {
        let c = variant.config
        let wv = try! c.widths().membrane
        var errors: [String] = []
        if got.count != want.count { errors.append("\(variant.label): \(got.count) output beats, expected \(want.count)") }
        for (b, (o, e)) in zip(got, want).enumerated() {
            let group = Int(o["group"]![0]), first = o["first"]![0] & 1 == 1
            if group != e.group || first != e.first {
                errors.append("\(variant.label): beat \(b): group/first \(group)/\(first), golden \(e.group)/\(e.first)")
            }
            for j in 0..<c.lanes {
                let s = spikingField(o["spike"]!, j, 1) == 1
                let mem = o["membrane"].map { spikingSignedField($0, j * wv, wv) }
                if s != e.spike[j] || (mem != nil && mem! != e.membrane[j]) {
                    let who = e.neuron[j].map { "neuron \($0)" } ?? "lane past L"
                    errors.append("\(variant.label): beat \(b), group \(e.group), lane \(j) (\(who)), time step \(e.step[j]), current \(e.current[j]): RTL spike \(s ? 1 : 0) membrane \(mem.map(String.init) ?? "-"), golden spike \(e.spike[j] ? 1 : 0) membrane \(e.membrane[j])")
                }
                if errors.count >= 10 { return errors }
            }
        }
        return errors
    }

    func runSweep(_ name: String, _ variants: [Variant], seed: UInt64, beats: Int = beatsPerVariant,
                  verilator: Bool = true) throws {
        print("LIFBankCosimTests \(name) seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        let modules = try variants.map { try makeLIFBank($0.config) }
        let top = spikingSweepTop(name, modules)
        let ports: SpikingPorts
        if verilator {
            let built = try SpikingCosim.build(top)
            #expect(built.findings.isEmpty, "lint: \(built.findings)")
            ports = built.ports
        } else {
            ports = try SpikingCosim.simulate(top)
        }
        var rng = SplitMix64(seed: seed)
        let bench = SpikingStreamBench(ports, seed: rng.next())
        var expected: [[Expected]] = []
        var sinks: [SpikingSink] = []
        var saturatedSteps = 0
        for (i, v) in variants.enumerated() {
            let (b, e, saturated) = Self.stimulusCountingSaturation(v.config, timeSteps: v.timeSteps, beats: beats, rng: &rng)
            if v.config.neuron.membraneWidth != nil && verilator {
                #expect(saturated > 0, "\(v.label): the forced width never saturates; the variant does not test it")
            }
            saturatedSteps += saturated
            expected.append(e)
            bench.sources.append(SpikingSource("u\(i)_in", beats: b))
            let sink = SpikingSink("u\(i)_out", fields: ["first", "group", "spike"] + (v.config.membraneOutput ? ["membrane"] : []))
            sinks.append(sink)
            bench.sinks.append((sink, e.count))
        }
        bench.reset()
        let done = bench.run(maxCycles: beats * 20)
        #expect(done, "\(name): streams did not drain in \(beats * 20) cycles")
        var total = 0
        for (i, v) in variants.enumerated() {
            #expect(sinks[i].protocolErrors.isEmpty, "\(sinks[i].protocolErrors)")
            let errors = Self.compare(v, sinks[i].received, expected[i])
            total += errors.count
            #expect(errors.count == 0, "\(errors.joined(separator: "\n"))")
        }
        print("LIFBankCosimTests \(name): \(variants.count) variants x \(beats) beats, \(bench.cycles) cycles (\(verilator ? "Verilator" : "IR simulator")), \(saturatedSteps) neuron steps at a forced width's bound, \(total) mismatches")
    }
}
