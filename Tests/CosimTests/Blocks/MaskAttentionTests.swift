import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The AND-mask stage against the golden model (`SpikeSummation.tokenMask`/`channelMask`) in
/// Verilator, with random masks and K spikes and random stalls on the mask, K and output
/// streams.
@Suite(.serialized) struct MaskAttentionTests {
    static let sweep: [MaskAttentionConfig] = [
        MaskAttentionConfig(channels: 8, lanes: 3, kind: .token(heads: 2)),     // G = 3, partial
        MaskAttentionConfig(channels: 6, lanes: 6, kind: .token(heads: 6)),     // d = 1, G = 1
        MaskAttentionConfig(channels: 4, lanes: 7, kind: .token(heads: 1)),     // P > C
        MaskAttentionConfig(channels: 96, lanes: 16, kind: .token(heads: 8)),   // hst-4-384 stage 1, d = 12
        MaskAttentionConfig(channels: 6, lanes: 4, kind: .channel),             // G = 2, partial
        MaskAttentionConfig(channels: 5, lanes: 8, kind: .channel),             // P > C
        MaskAttentionConfig(channels: 12, lanes: 3, kind: .channel),            // G = 4
    ]
    /// Tokens per time step of the channel-mask variants (N = 1 on the last).
    static let tokens = [0, 0, 0, 0, 5, 3, 1]
    static let kBeats = 14_000

    @Test func masksMatchGolden() throws {
        let seed = TestSeed.value(default: 0x3A5C)
        print("MaskAttentionTests.masksMatchGolden seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        let built = try SpikingCosim.build(spikingSweepTop("mask_sweep", try Self.sweep.map(makeMaskAttention)))
        #expect(built.findings.isEmpty, "lint: \(built.findings)")
        var rng = SplitMix64(seed: seed)
        let bench = SpikingStreamBench(built.ports, seed: rng.next())
        var expected: [[Expected]] = []
        for (i, c) in Self.sweep.enumerated() {
            let (a, k, want) = try Self.stimulus(c, tokens: Self.tokens[i], kBeats: Self.kBeats, rng: &rng)
            expected.append(want)
            bench.sources.append(SpikingSource("u\(i)_a", beats: a))
            bench.sources.append(SpikingSource("u\(i)_k", beats: k))
            bench.sinks.append((SpikingSink("u\(i)_out", fields: ["group", "last", "spike"]), want.count))
        }
        bench.reset()
        #expect(bench.run(maxCycles: Self.kBeats * 30), "streams did not drain")
        var mismatches = 0
        for (i, c) in Self.sweep.enumerated() {
            let errors = Self.compare("mask \(i) (\(c.kind), C=\(c.channels) P=\(c.lanes))", c, bench.sinks[i].sink, expected[i])
            mismatches += errors.count
            #expect(errors.count == 0, "\(errors.joined(separator: "\n"))")
        }
        print("MaskAttentionTests: \(Self.sweep.count) variants x ~\(Self.kBeats) K beats, \(bench.cycles) cycles (Verilator), \(mismatches) mismatches")
    }

    /// Unstalled, the token mask passes one K beat per cycle: the next token's mask loads on
    /// the cycle the previous one is released.
    @Test(arguments: [1, 3])
    func tokenMaskFullThroughput(groups: Int) throws {
        let c = MaskAttentionConfig(channels: 4 * groups, lanes: 4, kind: .token(heads: 2))
        let ports = try SpikingCosim.simulate(try makeMaskAttention(c))
        var rng = SplitMix64(seed: 3)
        let (a, k, _) = try Self.stimulus(c, tokens: 0, kBeats: 600, rng: &rng)
        let bench = SpikingStreamBench(ports, seed: 1)
        bench.sources = [SpikingSource("a", beats: a), SpikingSource("k", beats: k)]
        bench.sinks = [(SpikingSink("out", fields: ["spike"]), k.count)]
        bench.reset()
        #expect(bench.run(maxCycles: 5_000, noStalls: true))
        #expect(bench.cycles == k.count + 2, "\(bench.cycles) cycles for \(k.count) K beats")   // mask load + output register
    }

    @Test func rejectsBadParameters() {
        #expect(throws: BlockError.self) { try makeMaskAttention(MaskAttentionConfig(channels: 10, lanes: 2, kind: .token(heads: 3))) }
        #expect(throws: BlockError.self) { try makeMaskAttention(MaskAttentionConfig(channels: 10, lanes: 0, kind: .channel)) }
        #expect(throws: BlockError.self) { try makeMaskAttention(MaskAttentionConfig(channels: 0, lanes: 2, kind: .channel)) }
    }

    // MARK: Stimuli

    struct Expected {
        let unit: Int       // token (token mask) or time step (channel mask)
        let group: Int
        let last: Bool
        let spikes: [UInt8]
        let keys: [UInt8]
    }

    /// Token mask: per token and time step, one mask beat and the token's `G` K beats in a
    /// random group order, `k_last` on the final one. Channel mask: per time step, `G` mask
    /// beats in a random group order (lanes past `C` random: they must be ignored), then
    /// 1...N tokens of `G` K beats each, `k_last` on the step's final beat.
    static func stimulus(_ c: MaskAttentionConfig, tokens: Int, kBeats: Int, rng: inout SplitMix64) throws
        -> ([SpikingBeat], [SpikingBeat], [Expected]) {
        let (ch, p, g) = (c.channels, c.lanes, c.groups)
        var a: [SpikingBeat] = [], k: [SpikingBeat] = [], want: [Expected] = []
        var unit = 0
        func lanes(_ v: [UInt8], _ gi: Int) -> [UInt8] {
            (0..<p).map { j in gi * p + j < ch ? v[gi * p + j] : 0 }
        }
        while k.count < kBeats {
            switch c.kind {
            case .token(let h):
                let layout = try HeadLayout(channels: ch, heads: h)
                let mask = rng.spkSpikes(h)
                let keys = rng.spkSpikes(ch)
                let out = SpikeSummation.tokenMask(keys: keys[...], headMask: mask, layout: layout)
                a.append(["mask": spikingBits(mask)])
                let order = (0..<g).shuffled(using: &rng)
                for (n, gi) in order.enumerated() {
                    var kl = lanes(keys, gi)
                    for j in 0..<p where gi * p + j >= ch { kl[j] = UInt8(rng.next() & 1) }   // past C: ignored
                    k.append(["group": [UInt64(gi)], "last": [n == g - 1 ? 1 : 0], "spike": spikingBits(kl)])
                    want.append(Expected(unit: unit, group: gi, last: n == g - 1, spikes: lanes(out, gi), keys: lanes(keys, gi)))
                }
            case .channel:
                let mask = rng.spkSpikes(ch)
                for gi in (0..<g).shuffled(using: &rng) {
                    var ml = lanes(mask, gi)
                    for j in 0..<p where gi * p + j >= ch { ml[j] = UInt8(rng.next() & 1) }
                    a.append(["group": [UInt64(gi)], "mask": spikingBits(ml)])
                }
                let n = rng.spkChance(0.5) ? tokens : rng.spkInt(1, tokens)
                var keys: [UInt8] = []
                for _ in 0..<n { keys += rng.spkSpikes(ch) }
                let out = SpikeSummation.channelMask(keys: keys[...], channelMask: mask)
                var beats: [(Int, Int)] = []
                for t in 0..<n { for gi in (0..<g).shuffled(using: &rng) { beats.append((t, gi)) } }
                for (b, (t, gi)) in beats.enumerated() {
                    let row = Array(keys[(t * ch)..<((t + 1) * ch)]), outRow = Array(out[(t * ch)..<((t + 1) * ch)])
                    var kl = lanes(row, gi)
                    for j in 0..<p where gi * p + j >= ch { kl[j] = UInt8(rng.next() & 1) }
                    let last = b == beats.count - 1
                    k.append(["group": [UInt64(gi)], "last": [last ? 1 : 0], "spike": spikingBits(kl)])
                    want.append(Expected(unit: unit, group: gi, last: last, spikes: lanes(outRow, gi), keys: lanes(row, gi)))
                }
            }
            unit += 1
        }
        return (a, k, want)
    }

    static func compare(_ label: String, _ c: MaskAttentionConfig, _ sink: SpikingSink, _ want: [Expected]) -> [String] {
        var errors = sink.protocolErrors
        if sink.received.count != want.count { errors.append("\(label): \(sink.received.count) beats, expected \(want.count)") }
        let unitName: String
        if case .token = c.kind { unitName = "token step" } else { unitName = "time step" }
        for (b, (o, e)) in zip(sink.received, want).enumerated() {
            let group = Int(o["group"]![0]), last = o["last"]![0] & 1 == 1
            if group != e.group || last != e.last {
                errors.append("\(label): beat \(b) (\(unitName) \(e.unit)): group/last \(group)/\(last), golden \(e.group)/\(e.last)")
            }
            for j in 0..<c.lanes where spikingField(o["spike"]!, j, 1) != UInt64(e.spikes[j]) {
                errors.append("\(label): beat \(b) (\(unitName) \(e.unit)), group \(e.group), channel \(e.group * c.lanes + j): RTL \(spikingField(o["spike"]!, j, 1)), golden \(e.spikes[j]) (K \(e.keys[j]))")
            }
            if errors.count >= 10 { break }
        }
        return errors
    }
}
