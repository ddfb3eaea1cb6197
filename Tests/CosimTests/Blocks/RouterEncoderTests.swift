import Description
import Foundation
import Testing
import HDL
import Blocks
import Cosim

/// The event encoder against an independent Swift model of the event stream: for each input
/// beat, its non-zero counts in ascending channel order, `slots` per output beat, `last` on the
/// final beat of the vector or one empty beat for an all-zero vector.
final class EncoderBench: Bench {
    let label: String
    let config: EventEncoderConfig
    let source: StreamSource<[UInt64]>
    let sink: StreamSink<EventBeat>
    private var rng: SplitMix64
    private var expected: [EventBeat] = []
    private var checked = 0
    private(set) var failures: [String] = []
    private(set) var vectors = 0, emptyVectors = 0, eventsIn = 0, eventsOut = 0
    /// Scan cycles the documented rate allows: max(1, ceil(nonzeros/E)) per input beat.
    private(set) var scanCycles = 0

    init(_ label: String, _ config: EventEncoderConfig, driver: PortDriver, seed: UInt64, stalls: Bool) {
        self.label = label
        self.config = config
        let bus = Bus(driver: driver, prefix: label)
        rng = SplitMix64(seed: seed)
        let width = config.chunkChannels * config.countWidth
        source = StreamSource(bus, "in", profile: stalls ? .random(seed &+ 1) : .never) { bus, words in
            bus.setWide("in_counts", words, width: width)
        }
        let fmt = config.format
        sink = StreamSink(bus, "out", profile: stalls ? .random(seed &+ 2) : .never) { EventBeat.read($0, "out", fmt) }
    }

    func addVector() {
        let c = config.channels, k = config.chunkChannels, wc = config.countWidth, e = config.slots
        let counts = VectorGen.counts(&rng, channels: c, maxCount: (1 << wc) - 1)
        var beats: [EventBeat] = []
        for chunk in 0..<config.chunks {
            var words = [UInt64](repeating: 0, count: (k * wc + 63) / 64)
            var events: [EventBeat.Pair] = []
            for j in 0..<k {
                let ch = chunk * k + j
                // Channels past C in a partial final beat carry garbage the encoder must ignore.
                let v = ch < c ? counts[ch] : rng.int(0...((1 << wc) - 1))
                for b in 0..<wc where (v >> b) & 1 == 1 {
                    let pos = j * wc + b
                    words[pos / 64] |= UInt64(1) << UInt64(pos % 64)
                }
                if ch < c && v != 0 { events.append(.init(channel: ch, count: v)) }
            }
            source.queue.append(words)
            scanCycles += max(1, (events.count + e - 1) / e)
            for s in stride(from: 0, to: events.count, by: e) {
                beats.append(EventBeat(events: Array(events[s..<min(s + e, events.count)]), last: false))
            }
            eventsIn += events.count
        }
        if beats.isEmpty {
            beats.append(EventBeat(events: [], last: true))
            emptyVectors += 1
        } else {
            beats[beats.count - 1].last = true
        }
        expected += beats
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
        eventsOut += beat.events.count
        if checked >= expected.count {
            failures.append("\(label): unexpected beat \(beat) at cycle \(cycle)")
        } else if beat != expected[checked] {
            if failures.count < 5 {
                failures.append("\(label): beat \(checked) at cycle \(cycle) is \(beat), expected \(expected[checked])")
            }
        }
        checked += 1
    }

    var allFailures: [String] { failures + sink.violations + (eventsIn == eventsOut ? [] : ["\(label): \(eventsIn) events in, \(eventsOut) out"]) }

    /// Cycles from the first input transfer to the last output transfer.
    var busyCycles: Int { sink.lastFire - (source.firstFire ?? 0) + 1 }

    var summary: String {
        "\(label) C=\(config.channels) K=\(config.chunkChannels) Wc=\(config.countWidth) E=\(config.slots): \(vectors) vectors (\(emptyVectors) empty), \(eventsIn) events in, \(eventsOut) out, \(checked) beats checked"
    }
}

@Suite(.serialized) struct RouterEncoderTests {
    static let cycles = 12_000

    static let sweep: [(String, EventEncoderConfig, Bool)] = [
        ("c1", EventEncoderConfig(channels: 1, countWidth: 1, slots: 1), true),
        ("c8e1", EventEncoderConfig(channels: 8, countWidth: 2, slots: 1), true),
        ("c8e3", EventEncoderConfig(channels: 8, countWidth: 2, slots: 3), true),
        ("c13k4", EventEncoderConfig(channels: 13, chunkChannels: 4, countWidth: 1, slots: 2), true),
        ("c5k2", EventEncoderConfig(channels: 5, chunkChannels: 2, countWidth: 3, slots: 2), true),
        ("c96k32", EventEncoderConfig(channels: 96, chunkChannels: 32, countWidth: 2, slots: 4), true),
        ("c96k96", EventEncoderConfig(channels: 96, chunkChannels: 96, countWidth: 1, slots: 1), true),
        // The generated blocks' shapes: a 64-channel beat and a partial final beat (the channel
        // is the beat number beside the index), and 12-channel beats (the channel is an add).
        ("c96k64", EventEncoderConfig(channels: 96, chunkChannels: 64, countWidth: 1, slots: 1), true),
        ("c96k12", EventEncoderConfig(channels: 96, chunkChannels: 12, countWidth: 1, slots: 1), true),
        // Beats wider than one pick chain (64 bits): segments of 64, 64 and 22 channels, and
        // four segments with a 8-channel last one, each kept only when the lower ones are empty.
        ("c300k150", EventEncoderConfig(channels: 300, chunkChannels: 150, countWidth: 2, slots: 1), true),
        ("c200k200", EventEncoderConfig(channels: 200, chunkChannels: 200, countWidth: 1, slots: 1), true),
        // No stalls: the measured rate against max(1, ceil(nonzeros/E)) cycles per input beat.
        ("rate_e4", EventEncoderConfig(channels: 96, chunkChannels: 32, countWidth: 2, slots: 4), false),
        ("rate_e1", EventEncoderConfig(channels: 64, chunkChannels: 64, countWidth: 1, slots: 1), false),
    ]

    @Test func encoderMatchesModelInVerilator() throws {
        let seed = TestSeed.value(default: 0xE7C0_DE)
        print("RouterEncoderTests seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        var parts: [SweepTop.Part] = []
        for (label, config, _) in Self.sweep {
            parts.append(.init(prefix: label, module: try makeEventEncoder(config)))
        }
        let top = SweepTop.make("encoder_sweep", parts)
        let driver = try SweepRunner.verilator(top, "encoders")
        var rng = SplitMix64(seed: seed)
        let benches = Self.sweep.map { EncoderBench($0.0, $0.1, driver: driver, seed: rng.next(), stalls: $0.2) }
        let ran = SweepRunner.run(driver, benches, cycles: Self.cycles)
        for b in benches {
            print(b.summary)
            #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))")
            #expect(b.eventsIn == b.eventsOut)
            #expect(b.vectors > 0 && b.emptyVectors > 0, "\(b.label) should see empty vectors too")
        }
        for b in benches where b.label.hasPrefix("rate") {
            print("\(b.label): \(b.busyCycles) cycles for \(b.scanCycles) scan cycles allowed (max(1, ceil(nonzeros/E)) per input beat) over \(b.vectors) vectors")
            // Two cycles of latency at the end; nothing else may be added.
            #expect(b.busyCycles <= b.scanCycles + 3)
        }
        print("RouterEncoderTests: \(ran) cycles")
        #expect(ran >= Self.cycles)
    }

    @Test func encoderLintClean() throws {
        for (_, config, _) in Self.sweep.prefix(9) {
            let findings = try SweepRunner.lint(try makeEventEncoder(config))
            #expect(findings.isEmpty, "\(config.moduleName): \(findings)")
        }
    }

    @Test func encoderRejectsBadParameters() {
        let bad: [(EventEncoderConfig, String)] = [
            (EventEncoderConfig(channels: 0), "channels"),
            (EventEncoderConfig(channels: 8, chunkChannels: 9), "chunkChannels"),
            (EventEncoderConfig(channels: 8, countWidth: 0), "countWidth"),
            (EventEncoderConfig(channels: 8, chunkChannels: 4, slots: 5), "slots"),
        ]
        for (config, field) in bad {
            #expect {
                _ = try makeEventEncoder(config)
            } throws: { e in
                (e as? BlockError)?.description.hasPrefix(field) == true
            }
        }
    }
}
