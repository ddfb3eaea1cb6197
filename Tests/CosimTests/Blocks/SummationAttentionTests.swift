import Description
import Foundation
import Testing
import HDL
import Blocks
import Golden
import Cosim

/// The attention masks (row/column sums, then the attention LIF) against the golden model in
/// Verilator, the OR form's proof, and the OR form against the general tree + LIF, cycle by
/// cycle on the same stimuli and stalls.
@Suite(.serialized) struct SummationAttentionTests {
    /// QKFormer's attn_lif: tau 2, hard reset 0, decayInput, threshold 0.5 on grid 2^-F.
    static let attnF1 = LIFNeuronConfig.attention(fractionBits: 1)
    /// The same in exact mode for T = 4: F = 4, threshold 0.5 = 8.
    static let attnF4 = LIFNeuronConfig.attention(fractionBits: 4)
    /// Threshold 1.0 on grid 2^-1: not an OR (the neuron keeps charge).
    static let threshold1 = LIFNeuronConfig(k: 1, threshold: 2, reset: .hard(0), inputShift: 1)

    struct TokenVariant {
        let config: TokenAttentionConfig
        let expectOr: Bool
    }

    static let tokenSweep: [TokenVariant] = [
        TokenVariant(config: TokenAttentionConfig(channels: 16, heads: 4, stages: 1, neuron: attnF1), expectOr: true),
        TokenVariant(config: TokenAttentionConfig(channels: 16, heads: 4, stages: 1, neuron: attnF1, form: .general), expectOr: false),
        TokenVariant(config: TokenAttentionConfig(channels: 12, heads: 2, stages: 0, neuron: attnF4), expectOr: true),
        TokenVariant(config: TokenAttentionConfig(channels: 9, heads: 3, stages: 2, neuron: threshold1), expectOr: false),
        TokenVariant(config: TokenAttentionConfig(
            channels: 4, heads: 4, stages: 0,
            neuron: LIFNeuronConfig(k: 0, threshold: -1, reset: .soft, decayInput: false)), expectOr: false),
        TokenVariant(config: TokenAttentionConfig(
            channels: 8, heads: 1, stages: 3,
            neuron: LIFNeuronConfig(k: 1, threshold: 2, reset: .hard(0), inputShift: 1, membraneWidth: 3),
            sumWidth: 2), expectOr: false),
        TokenVariant(config: TokenAttentionConfig(
            channels: 6, heads: 6, stages: 1, neuron: LIFNeuronConfig(k: 0, threshold: 1, reset: .hard(0))), expectOr: true),
        TokenVariant(config: TokenAttentionConfig(
            channels: 10, heads: 2, stages: 2,
            neuron: LIFNeuronConfig(k: 2, threshold: -3, reset: .hard(-1), decayInput: true, inputShift: 2)), expectOr: false),
    ]

    struct ChannelVariant {
        let config: ChannelAttentionConfig
        let expectOr: Bool
    }

    static let channelSweep: [ChannelVariant] = [
        ChannelVariant(config: ChannelAttentionConfig(channels: 6, lanes: 4, tokens: 5, neuron: attnF1), expectOr: true),
        ChannelVariant(config: ChannelAttentionConfig(channels: 6, lanes: 4, tokens: 5, neuron: attnF1, form: .general), expectOr: false),
        ChannelVariant(config: ChannelAttentionConfig(channels: 6, lanes: 4, tokens: 5, neuron: attnF1, form: .general,
                                                      storage: .ram), expectOr: false),
        ChannelVariant(config: ChannelAttentionConfig(channels: 5, lanes: 8, tokens: 3, neuron: threshold1), expectOr: false),
        ChannelVariant(config: ChannelAttentionConfig(channels: 4, lanes: 2, tokens: 1, neuron: attnF4), expectOr: true),
        ChannelVariant(config: ChannelAttentionConfig(
            channels: 6, lanes: 3, tokens: 9,
            neuron: LIFNeuronConfig(k: 2, threshold: -2, reset: .soft, inputShift: 1, membraneWidth: 5),
            sumWidth: 3, storage: .ram), expectOr: false),
        ChannelVariant(config: ChannelAttentionConfig(
            channels: 7, lanes: 3, tokens: 4, neuron: LIFNeuronConfig(k: 0, threshold: 0, reset: .hard(0), decayInput: false)),
            expectOr: false),
    ]

    static let tokenSteps = 11_000
    static let channelTokenBeats = 14_000

    @Test func tokenAttentionMatchesGolden() throws {
        let seed = TestSeed.value(default: 0xA77E)
        print("SummationAttentionTests.tokenAttentionMatchesGolden seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        for v in Self.tokenSweep {
            #expect(try v.config.usesOrForm() == v.expectOr, "\(v.config.neuron): \(v.config.proof)")
        }
        let built = try SpikingCosim.build(spikingSweepTop("token_attn_sweep", try Self.tokenSweep.map { try makeTokenAttention($0.config) }))
        #expect(built.findings.isEmpty, "lint: \(built.findings)")
        var rng = SplitMix64(seed: seed)
        let bench = SpikingStreamBench(built.ports, seed: rng.next())
        var expected: [[TokenExpected]] = []
        for (i, v) in Self.tokenSweep.enumerated() {
            let (beats, want) = try Self.tokenStimulus(v.config, steps: Self.tokenSteps, rng: &rng)
            expected.append(want)
            bench.sources.append(SpikingSource("u\(i)_in", beats: beats))
            bench.sinks.append((SpikingSink("u\(i)_out", fields: ["mask"]), want.count))
        }
        bench.reset()
        #expect(bench.run(maxCycles: Self.tokenSteps * 20), "streams did not drain")
        var mismatches = 0
        for (i, v) in Self.tokenSweep.enumerated() {
            let errors = Self.compareToken("token attention \(i) (\(v.config.neuron), \(try v.config.usesOrForm() ? "OR" : "LIF"))",
                                           v.config, bench.sinks[i].sink, expected[i])
            mismatches += errors.count
            #expect(errors.count == 0, "\(errors.joined(separator: "\n"))")
        }
        print("SummationAttentionTests token attention: \(Self.tokenSweep.count) variants x \(Self.tokenSteps) beats, \(bench.cycles) cycles (Verilator), \(mismatches) mismatches")
    }

    @Test func channelAttentionMatchesGolden() throws {
        let seed = TestSeed.value(default: 0xA77F)
        print("SummationAttentionTests.channelAttentionMatchesGolden seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        for v in Self.channelSweep {
            #expect(try v.config.usesOrForm() == v.expectOr, "\(v.config.neuron): \(v.config.proof)")
        }
        let built = try SpikingCosim.build(spikingSweepTop("channel_attn_sweep", try Self.channelSweep.map { try makeChannelAttention($0.config) }))
        #expect(built.findings.isEmpty, "lint: \(built.findings)")
        var rng = SplitMix64(seed: seed)
        let bench = SpikingStreamBench(built.ports, seed: rng.next())
        var expected: [[ChannelExpected]] = []
        for (i, v) in Self.channelSweep.enumerated() {
            let (beats, want) = try Self.channelStimulus(v.config, beats: Self.channelTokenBeats, rng: &rng)
            expected.append(want)
            bench.sources.append(SpikingSource("u\(i)_in", beats: beats))
            bench.sinks.append((SpikingSink("u\(i)_out", fields: ["group", "mask"]), want.count))
        }
        bench.reset()
        #expect(bench.run(maxCycles: Self.channelTokenBeats * 20), "streams did not drain")
        var mismatches = 0
        for (i, v) in Self.channelSweep.enumerated() {
            let errors = Self.compareChannel("channel attention \(i) (\(v.config.neuron), \(try v.config.usesOrForm() ? "OR" : "LIF \(v.config.storage)"))",
                                             v.config, bench.sinks[i].sink, expected[i])
            mismatches += errors.count
            #expect(errors.count == 0, "\(errors.joined(separator: "\n"))")
        }
        print("SummationAttentionTests channel attention: \(Self.channelSweep.count) variants, \(bench.cycles) cycles (Verilator), \(mismatches) mismatches")
    }

    /// The OR form and the general tree + LIF (forced with `.general`) on the same stimuli and
    /// the same stalls: every output (in_ready, out_valid, and the payload while valid) equal in
    /// every cycle, and both equal to the golden model beat by beat.
    @Test func orFormEqualsGeneralFormCycleByCycle() throws {
        let seed = TestSeed.value(default: 0x0F0F)
        print("SummationAttentionTests.orFormEqualsGeneralFormCycleByCycle seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        let tokenConfigs = [TokenAttentionConfig(channels: 16, heads: 4, stages: 2, neuron: Self.attnF1),
                            TokenAttentionConfig(channels: 8, heads: 8, stages: 0, neuron: Self.attnF4)]
        let channelConfig = ChannelAttentionConfig(channels: 6, lanes: 4, tokens: 4, neuron: Self.attnF1)
        var pairs: [(Module, Module)] = []
        for c in tokenConfigs {
            var general = c
            general.form = .general
            #expect(try c.usesOrForm() && !general.usesOrForm())
            pairs.append((try makeTokenAttention(c), try makeTokenAttention(general)))
        }
        var generalChannel = channelConfig
        generalChannel.form = .general
        #expect(try channelConfig.usesOrForm() && !generalChannel.usesOrForm())
        pairs.append((try makeChannelAttention(channelConfig), try makeChannelAttention(generalChannel)))
        let built = try SpikingCosim.build(spikingPairTop("attn_or_vs_lif", pairs))
        #expect(built.findings.isEmpty, "lint: \(built.findings)")
        let ports = built.ports
        var rng = SplitMix64(seed: seed)
        let bench = SpikingStreamBench(ports, seed: rng.next())
        var tokenExpected: [[TokenExpected]] = []
        for (i, c) in tokenConfigs.enumerated() {
            let (beats, want) = try Self.tokenStimulus(c, steps: 10_000, rng: &rng)
            tokenExpected.append(want)
            bench.sources.append(SpikingSource("u\(i)_in", beats: beats))
            bench.sinks.append((SpikingSink("u\(i)_out", fields: ["mask"]), want.count))
        }
        let (channelBeats, channelExpected) = try Self.channelStimulus(channelConfig, beats: 12_000, rng: &rng)
        bench.sources.append(SpikingSource("u2_in", beats: channelBeats))
        bench.sinks.append((SpikingSink("u2_out", fields: ["group", "mask"]), channelExpected.count))
        var differences: [String] = []
        var compared = 0
        bench.onCycle = { cycle in
            for i in 0..<3 {
                for port in ["in_ready", "out_valid"] where ports.get("u\(i)_\(port)") != ports.get("u\(i)_alt_\(port)") {
                    differences.append("pair \(i), cycle \(cycle): \(port) OR form \(ports.get("u\(i)_\(port)")[0]), general \(ports.get("u\(i)_alt_\(port)")[0])")
                }
                if ports.bit("u\(i)_out_valid") {
                    for port in i == 2 ? ["out_mask", "out_group"] : ["out_mask"]
                    where ports.get("u\(i)_\(port)") != ports.get("u\(i)_alt_\(port)") {
                        differences.append("pair \(i), cycle \(cycle): \(port) OR form \(ports.get("u\(i)_\(port)")), general \(ports.get("u\(i)_alt_\(port)"))")
                    }
                }
                compared += 1
            }
        }
        bench.reset()
        #expect(bench.run(maxCycles: 300_000), "streams did not drain")
        #expect(differences.isEmpty, "\(differences.count) cycle differences, first: \(differences.prefix(5).joined(separator: "\n"))")
        var mismatches = 0
        for (i, c) in tokenConfigs.enumerated() {
            let errors = Self.compareToken("pair \(i)", c, bench.sinks[i].sink, tokenExpected[i])
            mismatches += errors.count
            #expect(errors.count == 0, "\(errors.joined(separator: "\n"))")
        }
        let errors = Self.compareChannel("pair 2", channelConfig, bench.sinks[2].sink, channelExpected)
        mismatches += errors.count
        #expect(errors.count == 0, "\(errors.joined(separator: "\n"))")
        print("SummationAttentionTests OR vs general: 3 pairs, \(bench.cycles) cycles, \(compared) pair-cycles compared, \(differences.count) cycle differences, \(mismatches) golden mismatches")
    }

    // MARK: The proof

    @Test func orFormProofDecisions() throws {
        for f in 1...8 {   // docs/arithmetic.md §2's case on every grid
            #expect(AttentionOrProof.check(neuron: .attention(fractionBits: f), maxSum: 12).holds)
            #expect(!AttentionOrProof.check(neuron: .qkformer(weightFractionBits: 0, extraFractionBits: f), maxSum: 12).holds)
        }
        #expect(!AttentionOrProof.check(neuron: LIFNeuronConfig(k: 1, threshold: 1, reset: .soft, inputShift: 1), maxSum: 4).holds)
        #expect(!AttentionOrProof.check(neuron: LIFNeuronConfig(k: 1, threshold: 1, reset: .hard(1), inputShift: 1), maxSum: 4).holds)
        #expect(!AttentionOrProof.check(neuron: LIFNeuronConfig(k: 1, threshold: 0, reset: .hard(0), inputShift: 1), maxSum: 4).holds)
        #expect(!AttentionOrProof.check(neuron: .attention(fractionBits: 1), maxSum: 0).holds)   // sums saturated to 0
        #expect(AttentionOrProof.check(neuron: LIFNeuronConfig(k: 0, threshold: 3, reset: .hard(0), inputShift: 3, membraneWidth: 3),
                                       maxSum: 4).holds)   // H clamps to 3 >= 3
        #expect(AttentionOrProof.check(neuron: LIFNeuronConfig(k: 3, threshold: 2, reset: .hard(0), decayInput: false, inputShift: 1),
                                       maxSum: 4).holds)
        #expect(!AttentionOrProof.check(neuron: LIFNeuronConfig(k: 3, threshold: 2, reset: .hard(0), decayInput: true, inputShift: 1),
                                        maxSum: 4).holds)
        // `.or` refuses what cannot be proven, naming the condition.
        do {
            _ = try makeTokenAttention(TokenAttentionConfig(channels: 4, heads: 2, neuron: Self.threshold1, form: .or))
            Issue.record("expected a BlockError")
        } catch let e as BlockError {
            #expect(e.description.contains("form") && e.description.contains("condition 2"), "\(e)")
        }
        #expect(try makeTokenAttention(TokenAttentionConfig(channels: 4, heads: 2, neuron: Self.attnF1, form: .or)).name.contains("_or_"))
    }

    /// Where the proof holds, the golden LIF indeed fires iff the sum is at least 1 and stays at
    /// 0; where it fails, some input sequence shows the difference (the proof is not vacuous).
    @Test func orFormProofAgreesWithGoldenLIF() throws {
        var rng = SplitMix64(seed: TestSeed.value(default: 0x9F00))
        var held = 0, refuted = 0
        for _ in 0..<2_000 {
            let reset: LIFNeuronConfig.Reset = rng.spkChance(0.7) ? .hard(0) : (rng.spkChance(0.5) ? .soft : .hard(rng.spkInt(-2, 2)))
            let forced: Int? = rng.spkChance(0.3) ? rng.spkInt(2, 8) : nil
            var th = rng.spkInt(-2, 20)
            if let w = forced { th = min(th, (1 << (w - 1)) - 1) }
            var n = LIFNeuronConfig(k: rng.spkInt(0, 4), threshold: th, reset: reset, decayInput: rng.spkChance(0.7),
                                    inputShift: rng.spkInt(0, 5), membraneWidth: forced)
            if forced != nil, case .hard(let vr) = reset, !Interval.ofWidth(forced!, signed: true).contains(vr) { n.reset = .hard(0) }
            let maxSum = rng.spkInt(0, 6)
            let proof = AttentionOrProof.check(neuron: n, maxSum: maxSum)
            let g = LIFBankCosimTests.golden(n)
            var v = g.resetValue
            var differs = false
            for _ in 0..<60 {
                let s = rng.spkInt(0, maxSum)
                let step = g.step(membrane: v, current: Int64(s))
                v = step.membrane
                if step.spike != (s >= 1) || v != 0 { differs = true }
            }
            if proof.holds {
                held += 1
                #expect(!differs, "proof holds for \(n), sums 0...\(maxSum), but the golden LIF disagrees")
            } else if differs {
                refuted += 1
            }
        }
        print("SummationAttentionTests.orFormProofAgreesWithGoldenLIF: \(held) proven parameter sets all agree; \(refuted) unproven ones differ")
        #expect(held > 50 && refuted > 50)
    }

    // MARK: Stimuli and golden outputs

    struct TokenExpected {
        let token: Int
        let step: Int
        let sums: [Int64]
        let mask: [Bool]
    }

    /// Tokens of 1...6 time steps, `first` on step 0; Q spikes of random density.
    static func tokenStimulus(_ c: TokenAttentionConfig, steps: Int, rng: inout SplitMix64) throws
        -> ([SpikingBeat], [TokenExpected]) {
        let layout = try HeadLayout(channels: c.channels, heads: c.heads)
        let g = LIFBankCosimTests.golden(c.neuron)
        var v = [Int64](repeating: g.resetValue, count: c.heads)
        var beats: [SpikingBeat] = [], want: [TokenExpected] = []
        var token = 0, step = 0, length = 1
        for _ in 0..<steps {
            if step == 0 {
                length = rng.spkInt(1, 6)
                v = [Int64](repeating: g.resetValue, count: c.heads)
            }
            let q = rng.spkSpikes(c.channels)
            let sums = SpikeSummation.rowSums(q[...], layout: layout, width: c.sumWidth)
            var mask: [Bool] = []
            for j in 0..<c.heads {
                let s = g.step(membrane: v[j], current: sums[j])
                v[j] = s.membrane
                mask.append(s.spike)
            }
            beats.append(["first": [step == 0 ? 1 : 0], "spike": spikingBits(q)])
            want.append(TokenExpected(token: token, step: step, sums: sums, mask: mask))
            step += 1
            if step == length { step = 0; token += 1 }
        }
        return (beats, want)
    }

    static func compareToken(_ label: String, _ c: TokenAttentionConfig, _ sink: SpikingSink, _ want: [TokenExpected]) -> [String] {
        var errors = sink.protocolErrors
        if sink.received.count != want.count { errors.append("\(label): \(sink.received.count) beats, expected \(want.count)") }
        for (b, (o, e)) in zip(sink.received, want).enumerated() {
            for j in 0..<c.heads where (spikingField(o["mask"]!, j, 1) == 1) != e.mask[j] {
                errors.append("\(label): beat \(b), token \(e.token), time step \(e.step), head \(j): RTL mask \(spikingField(o["mask"]!, j, 1)), golden \(e.mask[j] ? 1 : 0) (row sum \(e.sums[j]))")
            }
            if errors.count >= 10 { break }
        }
        return errors
    }

    struct ChannelExpected {
        let step: Int
        let group: Int
        let sums: [Int64]
        let mask: [Bool]
    }

    /// Samples of 1...4 time steps; each step has 1...N tokens, token-major, the groups of each
    /// token in a random order; `first`/`last` on each group's first/last token.
    static func channelStimulus(_ c: ChannelAttentionConfig, beats n: Int, rng: inout SplitMix64) throws
        -> ([SpikingBeat], [ChannelExpected]) {
        let g = LIFBankCosimTests.golden(c.neuron)
        let p = c.lanes, groups = (c.channels + p - 1) / p
        var v = [Int64](repeating: g.resetValue, count: c.channels)
        var beats: [SpikingBeat] = [], want: [ChannelExpected] = []
        var step = 0, length = 1, sampleStep = 0
        while beats.count < n {
            if sampleStep == 0 { length = rng.spkInt(1, 4) }
            let tokens = rng.spkChance(0.5) ? c.tokens : rng.spkInt(1, c.tokens)
            var q = [UInt8](repeating: 0, count: tokens * c.channels)
            var lastOrder: [Int] = []
            for t in 0..<tokens {
                let spikes = rng.spkSpikes(c.channels)
                for ch in 0..<c.channels { q[t * c.channels + ch] = spikes[ch] }
                let order = (0..<groups).shuffled(using: &rng)
                if t == tokens - 1 { lastOrder = order }
                for gi in order {
                    let lanes = (0..<p).map { j in gi * p + j < c.channels ? spikes[gi * p + j] : UInt8(rng.next() & 1) }
                    beats.append(["group": [UInt64(gi)], "first": [t == 0 ? 1 : 0], "last": [t == tokens - 1 ? 1 : 0],
                                  "step_first": [sampleStep == 0 ? 1 : 0], "spike": spikingBits(lanes)])
                }
            }
            let sums = SpikeSummation.columnSums(q[...], tokens: tokens, channels: c.channels, width: c.sumWidth)
            if sampleStep == 0 { v = [Int64](repeating: g.resetValue, count: c.channels) }
            var mask = [Bool](repeating: false, count: c.channels)
            for ch in 0..<c.channels {
                let s = g.step(membrane: v[ch], current: sums[ch])
                v[ch] = s.membrane
                mask[ch] = s.spike
            }
            for gi in lastOrder {
                let lanes = (0..<p).map { j in gi * p + j < c.channels ? mask[gi * p + j] : false }
                let laneSums = (0..<p).map { j in gi * p + j < c.channels ? sums[gi * p + j] : 0 }
                want.append(ChannelExpected(step: step, group: gi, sums: laneSums, mask: lanes))
            }
            step += 1
            sampleStep = (sampleStep + 1) % length
        }
        return (beats, want)
    }

    static func compareChannel(_ label: String, _ c: ChannelAttentionConfig, _ sink: SpikingSink, _ want: [ChannelExpected]) -> [String] {
        var errors = sink.protocolErrors
        if sink.received.count != want.count { errors.append("\(label): \(sink.received.count) beats, expected \(want.count)") }
        for (b, (o, e)) in zip(sink.received, want).enumerated() {
            let group = Int(o["group"]![0])
            if group != e.group { errors.append("\(label): beat \(b), time step \(e.step): group \(group), golden \(e.group)") }
            for j in 0..<c.lanes where (spikingField(o["mask"]!, j, 1) == 1) != e.mask[j] {
                errors.append("\(label): beat \(b), time step \(e.step), channel \(e.group * c.lanes + j): RTL mask \(spikingField(o["mask"]!, j, 1)), golden \(e.mask[j] ? 1 : 0) (column sum \(e.sums[j]))")
            }
            if errors.count >= 10 { break }
        }
        return errors
    }
}
