import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// Row and column summation against the golden model (`SpikeSummation.rowSums`/`columnSums`)
/// in Verilator, with random spikes and random valid/ready stalls.
@Suite(.serialized) struct SummationTreeTests {
    static let rowSweep: [RowSummationConfig] = [
        RowSummationConfig(channels: 16, heads: 2, stages: 2, tagWidth: 3),          // d = 8, 3 levels
        RowSummationConfig(channels: 12, heads: 4, stages: 0, tagWidth: 1),          // combinational
        RowSummationConfig(channels: 5, heads: 5, stages: 1),                       // d = 1
        RowSummationConfig(channels: 7, heads: 1, stages: 5, tagWidth: 2),          // more stages than levels
        RowSummationConfig(channels: 30, heads: 2, stages: 3, sumWidth: 3),         // d = 15 saturates at 3
        RowSummationConfig(channels: 96, heads: 8, stages: 1, tagWidth: 1),         // hst-4-384 stage 1: d = 12
    ]

    static let columnSweep: [ColumnSummationConfig] = [
        ColumnSummationConfig(channels: 10, lanes: 4, tokens: 6, tagWidth: 1),      // partial last group
        ColumnSummationConfig(channels: 3, lanes: 5, tokens: 9),                    // P > C
        ColumnSummationConfig(channels: 4, lanes: 4, tokens: 1, tagWidth: 2),       // N = 1
        ColumnSummationConfig(channels: 9, lanes: 3, tokens: 20, sumWidth: 4),      // saturates at 7
        ColumnSummationConfig(channels: 20, lanes: 4, tokens: 5),                   // G = 5
    ]

    static let beats = 12_000

    @Test func rowSumsMatchGolden() throws {
        let seed = TestSeed.value(default: 0x5E11)
        print("SummationTreeTests.rowSumsMatchGolden seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        let built = try SpikingCosim.build(spikingSweepTop("row_sum_sweep", try Self.rowSweep.map(makeRowSummation)))
        #expect(built.findings.isEmpty, "lint: \(built.findings)")
        try runRows(built.ports, seed: seed, beats: Self.beats, label: "Verilator")
    }

    @Test func columnSumsMatchGolden() throws {
        let seed = TestSeed.value(default: 0x5E12)
        print("SummationTreeTests.columnSumsMatchGolden seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        let built = try SpikingCosim.build(spikingSweepTop("col_sum_sweep", try Self.columnSweep.map(makeColumnSummation)))
        #expect(built.findings.isEmpty, "lint: \(built.findings)")
        try runColumns(built.ports, seed: seed, tokenSteps: Self.beats / 6, label: "Verilator")
    }

    /// Unstalled, the row tree takes one beat per cycle: `beats + stages` cycles.
    @Test(arguments: [0, 1, 3])
    func rowTreeFullThroughput(stages: Int) throws {
        let c = RowSummationConfig(channels: 16, heads: 2, stages: stages)
        let ports = try SpikingCosim.simulate(try makeRowSummation(c))
        let beats = (0..<300).map { _ in ["spike": [UInt64(0xABCD)]] as SpikingBeat }
        let bench = SpikingStreamBench(ports, seed: 1)
        bench.sources = [SpikingSource("in", beats: beats)]
        bench.sinks = [(SpikingSink("out", fields: ["count"]), beats.count)]
        bench.reset()
        #expect(bench.run(maxCycles: 2_000, noStalls: true))
        #expect(bench.cycles == beats.count + stages, "\(bench.cycles) cycles")
    }

    @Test func rejectsBadParameters() {
        #expect(throws: BlockError.self) { try makeRowSummation(RowSummationConfig(channels: 10, heads: 3)) }
        #expect(throws: BlockError.self) { try makeRowSummation(RowSummationConfig(channels: 10, heads: 2, stages: -1)) }
        #expect(throws: BlockError.self) { try makeRowSummation(RowSummationConfig(channels: 10, heads: 2, sumWidth: 0)) }
        #expect(throws: BlockError.self) { try makeColumnSummation(ColumnSummationConfig(channels: 4, lanes: 0, tokens: 3)) }
        #expect(throws: BlockError.self) { try makeColumnSummation(ColumnSummationConfig(channels: 4, lanes: 2, tokens: 0)) }
    }

    // MARK: Runs

    func runRows(_ ports: SpikingPorts, seed: UInt64, beats n: Int, label: String) throws {
        var rng = SplitMix64(seed: seed)
        let bench = SpikingStreamBench(ports, seed: rng.next())
        var expected: [[(sums: [Int64], tag: UInt64, spikes: [UInt8])]] = []
        var sinks: [SpikingSink] = []
        for (i, c) in Self.rowSweep.enumerated() {
            let layout = try HeadLayout(channels: c.channels, heads: c.heads)
            var beats: [SpikingBeat] = [], want: [(sums: [Int64], tag: UInt64, spikes: [UInt8])] = []
            for _ in 0..<n {
                let q = rng.spkSpikes(c.channels)
                let tag = c.tagWidth > 0 ? rng.next() & ((1 << UInt64(c.tagWidth)) - 1) : 0
                var beat: SpikingBeat = ["spike": spikingBits(q)]
                if c.tagWidth > 0 { beat["tag"] = [tag] }
                beats.append(beat)
                want.append((SpikeSummation.rowSums(q[...], layout: layout, width: c.sumWidth), tag, q))
            }
            expected.append(want)
            bench.sources.append(SpikingSource("u\(i)_in", beats: beats))
            let sink = SpikingSink("u\(i)_out", fields: ["count"] + (c.tagWidth > 0 ? ["tag"] : []))
            sinks.append(sink)
            bench.sinks.append((sink, n))
        }
        bench.reset()
        #expect(bench.run(maxCycles: n * 20), "streams did not drain")
        var mismatches = 0
        for (i, c) in Self.rowSweep.enumerated() {
            #expect(sinks[i].protocolErrors.isEmpty, "\(sinks[i].protocolErrors)")
            var errors: [String] = []
            if sinks[i].received.count != n { errors.append("row sum \(i): \(sinks[i].received.count) beats, expected \(n)") }
            for (b, (o, e)) in zip(sinks[i].received, expected[i]).enumerated() {
                for j in 0..<c.heads {
                    let got = Int64(spikingField(o["count"]!, j * c.countWidth, c.countWidth))
                    if got != e.sums[j] {
                        errors.append("row sum \(i) (C=\(c.channels) h=\(c.heads) S=\(c.stages) w=\(c.sumWidth.map(String.init) ?? "exact")): beat \(b), head \(j) (channels \(j * c.headDim)..<\((j + 1) * c.headDim)): RTL \(got), golden \(e.sums[j]), spikes \(e.spikes[(j * c.headDim)..<((j + 1) * c.headDim)].map(String.init).joined())")
                    }
                }
                if c.tagWidth > 0, o["tag"]![0] != e.tag { errors.append("row sum \(i): beat \(b): tag \(o["tag"]![0]), sent \(e.tag)") }
                if errors.count >= 10 { break }
            }
            mismatches += errors.count
            #expect(errors.count == 0, "\(errors.joined(separator: "\n"))")
        }
        print("SummationTreeTests rows (\(label)): \(Self.rowSweep.count) variants x \(n) beats, \(bench.cycles) cycles, \(mismatches) mismatches")
    }

    /// Column stimuli: `tokenSteps` time steps' worth of tokens spread over steps of 1...N
    /// tokens; within a step, tokens in order, the groups of each token in a random order.
    func runColumns(_ ports: SpikingPorts, seed: UInt64, tokenSteps: Int, label: String) throws {
        var rng = SplitMix64(seed: seed)
        let bench = SpikingStreamBench(ports, seed: rng.next())
        var expected: [[(group: Int, counts: [Int64], tag: UInt64, step: Int)]] = []
        var sinks: [SpikingSink] = []
        for (i, c) in Self.columnSweep.enumerated() {
            var beats: [SpikingBeat] = []
            var want: [(group: Int, counts: [Int64], tag: UInt64, step: Int)] = []
            var step = 0
            var total = 0
            while total < tokenSteps * 6 {
                let tokens = rng.spkChance(0.5) ? c.tokens : rng.spkInt(1, c.tokens)
                var q = [UInt8](repeating: 0, count: tokens * c.channels)
                var lastOrder: [Int] = []
                for t in 0..<tokens {
                    let spikes = rng.spkSpikes(c.channels)
                    for ch in 0..<c.channels { q[t * c.channels + ch] = spikes[ch] }
                    let order = (0..<c.groups).shuffled(using: &rng)
                    if t == tokens - 1 { lastOrder = order }
                    for gi in order {
                        let lanes = (0..<c.lanes).map { j in gi * c.lanes + j < c.channels ? spikes[gi * c.lanes + j] : UInt8(rng.next() & 1) }
                        var beat: SpikingBeat = ["group": [UInt64(gi)], "first": [t == 0 ? 1 : 0],
                                                 "last": [t == tokens - 1 ? 1 : 0], "spike": spikingBits(lanes)]
                        if c.tagWidth > 0 { beat["tag"] = [rng.next() & ((1 << UInt64(c.tagWidth)) - 1)] }
                        beats.append(beat)
                        total += 1
                    }
                }
                let sums = SpikeSummation.columnSums(q[...], tokens: tokens, channels: c.channels, width: c.sumWidth)
                let lastBeats = beats.suffix(c.groups)
                for (gi, beat) in zip(lastOrder, lastBeats) {
                    let counts = (0..<c.lanes).map { j in gi * c.lanes + j < c.channels ? sums[gi * c.lanes + j] : 0 }
                    want.append((gi, counts, beat["tag"]?[0] ?? 0, step))
                }
                step += 1
            }
            expected.append(want)
            bench.sources.append(SpikingSource("u\(i)_in", beats: beats))
            let sink = SpikingSink("u\(i)_out", fields: ["group", "count"] + (c.tagWidth > 0 ? ["tag"] : []))
            sinks.append(sink)
            bench.sinks.append((sink, want.count))
        }
        bench.reset()
        #expect(bench.run(maxCycles: tokenSteps * 6 * 20), "streams did not drain")
        var mismatches = 0
        for (i, c) in Self.columnSweep.enumerated() {
            #expect(sinks[i].protocolErrors.isEmpty, "\(sinks[i].protocolErrors)")
            var errors: [String] = []
            if sinks[i].received.count != expected[i].count {
                errors.append("column sum \(i): \(sinks[i].received.count) beats, expected \(expected[i].count)")
            }
            for (b, (o, e)) in zip(sinks[i].received, expected[i]).enumerated() {
                let group = Int(o["group"]![0])
                if group != e.group { errors.append("column sum \(i): output beat \(b): group \(group), golden \(e.group)") }
                for j in 0..<c.lanes {
                    let got = Int64(spikingField(o["count"]!, j * c.countWidth, c.countWidth))
                    if got != e.counts[j] {
                        errors.append("column sum \(i) (C=\(c.channels) P=\(c.lanes) N=\(c.tokens)): output beat \(b), time step \(e.step), group \(e.group), channel \(e.group * c.lanes + j): RTL \(got), golden \(e.counts[j])")
                    }
                }
                if c.tagWidth > 0, o["tag"]![0] != e.tag { errors.append("column sum \(i): beat \(b): tag \(o["tag"]![0]), sent \(e.tag)") }
                if errors.count >= 10 { break }
            }
            mismatches += errors.count
            #expect(errors.count == 0, "\(errors.joined(separator: "\n"))")
        }
        print("SummationTreeTests columns (\(label)): \(Self.columnSweep.count) variants, \(bench.cycles) cycles, \(mismatches) mismatches")
    }
}
