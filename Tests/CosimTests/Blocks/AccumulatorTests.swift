import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// One result beat of the accumulator: a group of `P` currents.
struct CurrentBeat: Equatable, CustomStringConvertible {
    var group: Int
    var last: Bool
    var currents: [Int]
    var description: String { "g\(group)\(last ? " last" : "") \(currents)" }

    static func read(_ bus: Bus, _ stream: String, lanes: Int) -> CurrentBeat {
        CurrentBeat(group: bus.get("\(stream)_group"), last: bus.bit("\(stream)_last"),
                    currents: (0..<lanes).map { bus.signed("\(stream)_current_\($0)") })
    }

    /// The beats the hardware must send for golden currents `currents`: `G` groups of `P`
    /// lanes, lanes past `C_out` zero.
    static func expected(_ currents: [Int64], lanes: Int) -> [CurrentBeat] {
        let g = (currents.count + lanes - 1) / lanes
        return (0..<g).map { grp in
            CurrentBeat(group: grp, last: grp == g - 1, currents: (0..<lanes).map { p in
                grp * lanes + p < currents.count ? Int(currents[grp * lanes + p]) : 0
            })
        }
    }
}

/// Random weights and bias for a layer, and the golden layer that checks it.
struct LayerCase {
    let config: SpikeAccumulatorConfig
    let golden: LinearLayer

    init(inputs: Int, outputs: Int, lanes: Int, maxCount: Int, weightBits: Int, biasRange: Int,
         accumulatorWidth: Int? = nil, name: String = "spike_accumulator", rng: inout SplitMix64) throws {
        let wmax = (1 << (weightBits - 1)) - 1
        var weights = (0..<outputs).map { _ in (0..<inputs).map { _ in rng.int(-wmax - 1...wmax) } }
        // Some zero weights and a full-scale row, as trained layers have.
        weights[0][0] = 0
        if outputs > 1 { weights[outputs - 1] = [Int](repeating: wmax, count: inputs) }
        let bias = (0..<outputs).map { _ in rng.int(-biasRange...biasRange) }
        config = SpikeAccumulatorConfig(weights: weights, bias: bias, lanes: lanes, maxCount: maxCount,
                                        accumulatorWidth: accumulatorWidth, name: name)
        golden = try LinearLayer(weights: weights.map { $0.map(Int64.init) }, bias: bias.map(Int64.init),
                                 accumulatorWidth: accumulatorWidth)
    }
}

/// The accumulator against `Golden.LinearLayer`: random vectors (empty to dense, counts up to
/// `maxCount`), random input gaps and output stalls, every current of every vector compared.
final class AccumulatorBench: Bench {
    let label: String
    let layer: LayerCase
    let source: StreamSource<EventBeat>
    let sink: StreamSink<CurrentBeat>
    private var rng: SplitMix64
    private var expected: [CurrentBeat] = []
    private var checked = 0
    private(set) var failures: [String] = []
    private(set) var vectors = 0, emptyVectors = 0, events = 0, saturatedOutputs = 0
    /// Sum over vectors of max(events, 1) * G: the work the accumulator must do.
    private(set) var eventGroupCycles = 0

    init(_ label: String, _ layer: LayerCase, driver: PortDriver, seed: UInt64, stalls: Bool, stream: String = "out") {
        self.label = label
        self.layer = layer
        let bus = Bus(driver: driver, prefix: label)
        rng = SplitMix64(seed: seed)
        source = StreamSource(bus, "in", profile: stalls ? .random(seed &+ 1) : .never) { $1.set($0, "in") }
        let p = layer.config.lanes
        sink = StreamSink(bus, stream, profile: stalls ? .random(seed &+ 2) : .never) { CurrentBeat.read($0, stream, lanes: p) }
    }

    func addVector() {
        let c = layer.config
        let counts = VectorGen.counts(&rng, channels: c.inputs, maxCount: c.maxCount)
        source.queue += VectorGen.eventBeats(counts, trailingMarker: rng.chance(0.1))
        let result = layer.golden.apply(counts.map { UInt8($0) })
        expected += CurrentBeat.expected(result.currents, lanes: c.lanes)
        if let w = c.accumulatorWidth {
            saturatedOutputs += result.currents.filter { $0 == SignedWidth.maximum(w) || $0 == SignedWidth.minimum(w) }.count
        }
        let n = result.ops.events
        events += n
        eventGroupCycles += max(n, 1) * c.groups
        if n == 0 { emptyVectors += 1 }
        vectors += 1
    }

    func refill(cycle: Int, target: Int) -> Bool {
        while cycle < target && source.pending < 4 { addVector() }
        return source.idle && checked == expected.count
    }

    func drive(cycle: Int) {
        source.drive()
        sink.drive()
    }

    func observe(cycle: Int) {
        _ = source.observe(cycle: cycle)
        guard let beat = sink.observe(cycle: cycle) else { return }
        if checked >= expected.count || beat != expected[checked] {
            if failures.count < 5 {
                failures.append("\(label): beat \(checked) at cycle \(cycle) is \(beat), expected \(checked < expected.count ? "\(expected[checked])" : "none")")
            }
        }
        checked += 1
    }

    var allFailures: [String] { failures + sink.violations }
    var busyCycles: Int { sink.lastFire - (source.firstFire ?? 0) + 1 }

    var summary: String {
        let c = layer.config
        let w = try? c.widths()
        return "\(label) C_in=\(c.inputs) C_out=\(c.outputs) P=\(c.lanes) G=\(c.groups) m=\(c.maxCount) acc=\(w.map { "\($0.accumulator)\($0.saturates ? " saturating" : "")" } ?? "?"): \(vectors) vectors (\(emptyVectors) empty), \(events) events, \(checked) result beats checked\(c.accumulatorWidth != nil ? ", \(saturatedOutputs) saturated currents" : "")"
    }
}

/// Encoder -> broadcast -> two accumulators (the Q and K projections of one input), each
/// checked against its golden layer.
final class ProjectionPairBench: Bench {
    let label: String
    let q: LayerCase, k: LayerCase
    let channels: Int
    let source: StreamSource<[UInt64]>
    let sinks: [StreamSink<CurrentBeat>]
    private var rng: SplitMix64
    private var expected: [[CurrentBeat]] = [[], []]
    private var checked = [0, 0]
    private(set) var failures: [String] = []
    private(set) var vectors = 0

    init(_ label: String, q: LayerCase, k: LayerCase, driver: PortDriver, seed: UInt64) {
        self.label = label
        self.q = q
        self.k = k
        channels = q.config.inputs
        let bus = Bus(driver: driver, prefix: label)
        rng = SplitMix64(seed: seed)
        let width = channels
        source = StreamSource(bus, "in", profile: .random(seed &+ 1)) { bus, words in bus.setWide("in_counts", words, width: width) }
        sinks = [("q_out", q.config.lanes), ("k_out", k.config.lanes)].enumerated().map { i, s in
            StreamSink(bus, s.0, profile: .random(seed &+ 2 &+ UInt64(i))) { CurrentBeat.read($0, s.0, lanes: s.1) }
        }
    }

    static func module(q: SpikeAccumulatorConfig, k: SpikeAccumulatorConfig) throws -> Module {
        let c = q.inputs
        let enc = try makeEventEncoder(EventEncoderConfig(channels: c, countWidth: 1, slots: 1))
        let bc = try makeStreamBroadcast(StreamBroadcastConfig(layout: EventStreamFormat(channels: c, countWidth: 1).layout, consumers: 2))
        let top = Module("qk_projection_pair", doc: "Test pipeline: encoder -> broadcast -> Q and K accumulators.")
        let e = top.instance(enc, "u_encoder")
        e.connect("in_valid", top.input("in_valid", width: 1))
        e.connect("in_counts", top.input("in_counts", width: c))
        top.output("in_ready", e.output("in_ready"))
        let b = top.instance(bc, "u_broadcast")
        b.connect("in_valid", e.output("out_valid"))
        for f in ["event", "channel", "count", "last"] { b.connect("in_\(f)", e.output("out_\(f)")) }
        e.connect("out_ready", b.output("in_ready"))
        for (i, (name, config)) in [("q", q), ("k", k)].enumerated() {
            let a = top.instance(try makeSpikeAccumulator(config), "u_\(name)")
            a.connect("in_valid", b.output("out\(i)_valid"))
            for f in ["event", "channel", "count", "last"] { a.connect("in_\(f)", b.output("out\(i)_\(f)")) }
            b.connect("out\(i)_ready", a.output("in_ready"))
            a.connect("out_ready", top.input("\(name)_out_ready", width: 1))
            for f in ["valid", "group", "last", "current"] { top.output("\(name)_out_\(f)", a.output("out_\(f)")) }
        }
        return top
    }

    func refill(cycle: Int, target: Int) -> Bool {
        while cycle < target && source.pending < 3 {
            let counts = VectorGen.counts(&rng, channels: channels, maxCount: 1)
            var words = [UInt64](repeating: 0, count: (channels + 63) / 64)
            for (i, v) in counts.enumerated() where v != 0 { words[i / 64] |= UInt64(1) << UInt64(i % 64) }
            source.queue.append(words)
            let x = counts.map { UInt8($0) }
            expected[0] += CurrentBeat.expected(q.golden.apply(x).currents, lanes: q.config.lanes)
            expected[1] += CurrentBeat.expected(k.golden.apply(x).currents, lanes: k.config.lanes)
            vectors += 1
        }
        return source.idle && checked[0] == expected[0].count && checked[1] == expected[1].count
    }

    func drive(cycle: Int) {
        source.drive()
        for s in sinks { s.drive() }
    }

    func observe(cycle: Int) {
        _ = source.observe(cycle: cycle)
        for (i, s) in sinks.enumerated() {
            guard let beat = s.observe(cycle: cycle) else { continue }
            if checked[i] >= expected[i].count || beat != expected[i][checked[i]] {
                if failures.count < 5 {
                    failures.append("\(label) \(i == 0 ? "Q" : "K"): beat \(checked[i]) at cycle \(cycle) is \(beat), expected \(checked[i] < expected[i].count ? "\(expected[i][checked[i]])" : "none")")
                }
            }
            checked[i] += 1
        }
    }

    var allFailures: [String] { failures + sinks.flatMap(\.violations) }
    var summary: String { "\(label) encoder -> broadcast -> Q (P=\(q.config.lanes)) and K (P=\(k.config.lanes)), C=\(channels): \(vectors) vectors, result beats \(checked)" }
}

@Suite(.serialized) struct AccumulatorTests {
    static let cycles = 12_000

    /// The sweep: label, layer, random stalls.
    static func sweep(_ rng: inout SplitMix64) throws -> [(String, LayerCase, Bool)] {
        [
            ("a1", try LayerCase(inputs: 1, outputs: 1, lanes: 1, maxCount: 1, weightBits: 8, biasRange: 100, rng: &rng), true),
            ("a2", try LayerCase(inputs: 7, outputs: 5, lanes: 2, maxCount: 3, weightBits: 6, biasRange: 300, rng: &rng), true),
            ("a3", try LayerCase(inputs: 6, outputs: 3, lanes: 8, maxCount: 1, weightBits: 4, biasRange: 5, rng: &rng), true),
            ("a4", try LayerCase(inputs: 16, outputs: 10, lanes: 4, maxCount: 2, weightBits: 6, biasRange: 50,
                                 accumulatorWidth: 7, rng: &rng), true),
            ("a5", try LayerCase(inputs: 96, outputs: 96, lanes: 16, maxCount: 1, weightBits: 8, biasRange: 4096, rng: &rng), true),
            ("a6", try LayerCase(inputs: 96, outputs: 96, lanes: 8, maxCount: 3, weightBits: 8, biasRange: 4096, rng: &rng), true),
            ("a7", try LayerCase(inputs: 12, outputs: 9, lanes: 3, maxCount: 1, weightBits: 5, biasRange: 20,
                                 accumulatorWidth: 30, rng: &rng), true),
            ("a8", try LayerCase(inputs: 5, outputs: 4, lanes: 4, maxCount: 1, weightBits: 3, biasRange: 3,
                                 accumulatorWidth: 3, rng: &rng), true),
            // No stalls: cycles against events x ceil(C_out/P).
            ("r96", try LayerCase(inputs: 96, outputs: 96, lanes: 16, maxCount: 1, weightBits: 8, biasRange: 4096, rng: &rng), false),
            ("r7", try LayerCase(inputs: 7, outputs: 5, lanes: 2, maxCount: 3, weightBits: 6, biasRange: 300, rng: &rng), false),
            ("rg1", try LayerCase(inputs: 16, outputs: 8, lanes: 8, maxCount: 2, weightBits: 8, biasRange: 100, rng: &rng), false),
            // Counts with G >= 4: the product has its own register stage, at no cycle.
            ("rp6", try LayerCase(inputs: 40, outputs: 24, lanes: 4, maxCount: 3, weightBits: 7, biasRange: 300, rng: &rng), false),
            // G = 2 with counts: weight and product registers, the drain waits 2 cycles a vector;
            // G = 2 with spikes: the weight register alone, 1 cycle.
            ("rg2", try LayerCase(inputs: 16, outputs: 8, lanes: 4, maxCount: 2, weightBits: 8, biasRange: 100, rng: &rng), false),
            ("rs2", try LayerCase(inputs: 16, outputs: 8, lanes: 4, maxCount: 1, weightBits: 8, biasRange: 100, rng: &rng), false),
            // G = 1 with counts, under random stalls: weight and product registers, the drain
            // waits 3 cycles a vector (rg1 measures the cycles).
            ("a9", try LayerCase(inputs: 9, outputs: 6, lanes: 6, maxCount: 3, weightBits: 7, biasRange: 200, rng: &rng), true),
            // Three-bit counts keep the multiplier (two-bit ones are a shift-and-add in logic).
            ("a10", try LayerCase(inputs: 11, outputs: 7, lanes: 3, maxCount: 5, weightBits: 8, biasRange: 200, rng: &rng), true),
        ]
    }

    @Test func accumulatorMatchesGoldenInVerilator() throws {
        let seed = TestSeed.value(default: 0xACC_0001)
        print("AccumulatorTests seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        var rng = SplitMix64(seed: seed)
        let cases = try Self.sweep(&rng)
        let q = try LayerCase(inputs: 32, outputs: 24, lanes: 8, maxCount: 1, weightBits: 8, biasRange: 500, name: "q_proj", rng: &rng)
        let k = try LayerCase(inputs: 32, outputs: 24, lanes: 5, maxCount: 1, weightBits: 8, biasRange: 500, name: "k_proj", rng: &rng)
        var parts: [SweepTop.Part] = []
        for (label, layer, _) in cases {
            parts.append(.init(prefix: label, module: try makeSpikeAccumulator(layer.config),
                               lanes: ["out_current": try layer.config.widths().accumulator]))
        }
        parts.append(.init(prefix: "qk", module: try ProjectionPairBench.module(q: q.config, k: k.config),
                           lanes: ["q_out_current": try q.config.widths().accumulator,
                                   "k_out_current": try k.config.widths().accumulator]))
        let driver = try SweepRunner.verilator(SweepTop.make("accumulator_sweep", parts), "accumulators")
        let benches = cases.map { AccumulatorBench($0.0, $0.1, driver: driver, seed: rng.next(), stalls: $0.2) }
        let pair = ProjectionPairBench("qk", q: q, k: k, driver: driver, seed: rng.next())
        let ran = SweepRunner.run(driver, benches + [pair], cycles: Self.cycles)
        for b in benches {
            print(b.summary)
            #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))")
            #expect(b.vectors > 10)
        }
        print(pair.summary)
        #expect(pair.allFailures.isEmpty, "\(pair.allFailures.prefix(5))")
        for b in benches where b.layer.config.accumulatorWidth == 7 || b.layer.config.accumulatorWidth == 3 {
            #expect(b.saturatedOutputs > 0, "\(b.label) should saturate")
        }
        for b in benches where b.label.hasPrefix("r") {
            let overhead = Double(b.busyCycles - b.eventGroupCycles) / Double(b.vectors)
            let pipeline = SpikeAccumulatorPipeline(groups: b.layer.config.groups, countWidth: try b.layer.config.widths().count)
            print("\(b.label): \(b.busyCycles) cycles for \(b.events) events x G=\(b.layer.config.groups) over \(b.vectors) vectors: sum max(events,1) x G = \(b.eventGroupCycles), overhead \(String(format: "%.2f", overhead)) cycles/vector (pipeline: \(pipeline.vectorOverhead) after a vector with events, \(pipeline.emptyVectorOverhead) after an empty one)")
            // What the cycle models charge a vector, within half a cycle (the input is the
            // bench's own pace: some vectors start late).
            #expect(overhead <= Double(pipeline.vectorOverhead) + 0.5, "\(b.label)")
            #expect(overhead >= Double(min(pipeline.vectorOverhead, pipeline.emptyVectorOverhead)) - 0.5, "\(b.label)")
        }
        print("AccumulatorTests: \(ran) cycles")
        #expect(ran >= Self.cycles)
    }

    @Test func accumulatorLintClean() throws {
        var rng = SplitMix64(seed: 7)
        for (label, layer, _) in try Self.sweep(&rng) where !label.hasPrefix("r") {
            let findings = try SweepRunner.lint(try makeSpikeAccumulator(layer.config))
            #expect(findings.isEmpty, "\(label): \(findings)")
        }
        // The blocks wired together: encoder -> broadcast -> two accumulators.
        let q = try LayerCase(inputs: 32, outputs: 24, lanes: 8, maxCount: 1, weightBits: 8, biasRange: 500, name: "q_proj", rng: &rng)
        let k = try LayerCase(inputs: 32, outputs: 24, lanes: 5, maxCount: 1, weightBits: 8, biasRange: 500, name: "k_proj", rng: &rng)
        let findings = try SweepRunner.lint(try ProjectionPairBench.module(q: q.config, k: k.config))
        #expect(findings.isEmpty, "qk_projection_pair: \(findings)")
    }

    @Test func widthsComeFromIntervals() throws {
        // W = [[3, -2], [0, 1]], b = [5, -1], counts up to 3 (port of 2 bits: values 0...3).
        let c = SpikeAccumulatorConfig(weights: [[3, -2], [0, 1]], bias: [5, -1], lanes: 1, maxCount: 3)
        let w = try c.widths()
        // Output 0: 5 + [0, 9] + [-6, 0] = [-1, 14]; output 1: -1 + [0, 3] = [-1, 2].
        #expect(w.exactRange == Interval(-1, 14))
        #expect(w.accumulator == 5 && !w.saturates)
        #expect(w.weight == 3 && w.count == 2 && w.channel == 1 && w.group == 1)
        let forced = try SpikeAccumulatorConfig(weights: [[3, -2], [0, 1]], bias: [5, -1], lanes: 1, maxCount: 3,
                                                accumulatorWidth: 4).widths()
        #expect(forced.saturates && forced.currentRange == Interval(-1, 7))
        // Same parameters, same name; other weights, other name.
        let other = SpikeAccumulatorConfig(weights: [[3, -2], [0, 2]], bias: [5, -1], lanes: 1, maxCount: 3)
        #expect(try c.moduleName() == (try c.moduleName()))
        #expect(try c.moduleName() != (try other.moduleName()))
    }

    @Test func accumulatorRejectsBadParameters() {
        let bad: [(SpikeAccumulatorConfig, String)] = [
            (SpikeAccumulatorConfig(weights: [], lanes: 1), "weights"),
            (SpikeAccumulatorConfig(weights: [[1, 2], [3]], lanes: 1), "weights[1]"),
            (SpikeAccumulatorConfig(weights: [[1]], bias: [1, 2], lanes: 1), "bias"),
            (SpikeAccumulatorConfig(weights: [[1]], lanes: 0), "lanes"),
            (SpikeAccumulatorConfig(weights: [[1]], lanes: 1, maxCount: 0), "maxCount"),
            (SpikeAccumulatorConfig(weights: [[1]], bias: [100], lanes: 1, accumulatorWidth: 4), "bias[0]"),
            (SpikeAccumulatorConfig(weights: [[1]], lanes: 1, accumulatorWidth: 63), "accumulatorWidth"),
            (SpikeAccumulatorConfig(weights: [[1]], lanes: 1, name: "9bad name"), "name"),
        ]
        for (config, field) in bad {
            #expect {
                _ = try makeSpikeAccumulator(config)
            } throws: { e in
                (e as? BlockError)?.description.hasPrefix(field) == true
            }
        }
    }
}
