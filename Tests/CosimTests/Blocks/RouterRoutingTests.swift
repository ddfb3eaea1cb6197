import Description
import Foundation
import Testing
import HDL
import Blocks
import Cosim

/// Random beats of a layout, as plain field values (`last` last when the layout has it).
private func randomBeat(_ rng: inout SplitMix64, _ layout: StreamLayout, lastChance: Double) -> [Int] {
    var v = layout.fields.map { f -> Int in
        let raw = Int(truncatingIfNeeded: rng.next() & ((1 << UInt64(f.width)) - 1))
        // Signed fields read back sign-extended.
        return f.isSigned && raw >= 1 << (f.width - 1) ? raw - (1 << f.width) : raw
    }
    if layout.hasLast { v.append(rng.chance(lastChance) ? 1 : 0) }
    return v
}

private func setBeat(_ bus: Bus, _ stream: String, _ layout: StreamLayout, _ beat: [Int]) {
    for (f, v) in zip(layout.fields, beat) { bus.set("\(stream)_\(f.name)", v) }
    if layout.hasLast { bus.set("\(stream)_last", beat.last! != 0) }
}

private func readBeat(_ bus: Bus, _ stream: String, _ layout: StreamLayout) -> [Int] {
    var v = layout.fields.map { f in f.isSigned ? bus.signed("\(stream)_\(f.name)") : bus.get("\(stream)_\(f.name)") }
    if layout.hasLast { v.append(bus.get("\(stream)_last")) }
    return v
}

/// Events carried by a beat of `layout`: the set bits of its `event` field, or 1 per beat for
/// layouts without one.
private func eventCount(_ beat: [Int], _ layout: StreamLayout) -> Int {
    guard let i = layout.fields.firstIndex(where: { $0.name == "event" }) else { return 1 }
    return beat[i].nonzeroBitCount
}

/// Broadcast: every consumer must receive exactly the input sequence.
final class BroadcastBench: Bench {
    let label: String
    let config: StreamBroadcastConfig
    let source: StreamSource<[Int]>
    let sinks: [StreamSink<[Int]>]
    private var rng: SplitMix64
    private var sent: [[Int]] = []
    private var next: [Int]
    private(set) var failures: [String] = []
    private(set) var eventsIn = 0
    private(set) var eventsOut: [Int]

    init(_ label: String, _ config: StreamBroadcastConfig, driver: PortDriver, seed: UInt64) {
        self.label = label
        self.config = config
        let bus = Bus(driver: driver, prefix: label)
        rng = SplitMix64(seed: seed)
        let layout = config.layout
        source = StreamSource(bus, "in", profile: .random(seed &+ 1)) { setBeat($0, "in", layout, $1) }
        sinks = (0..<config.consumers).map { k in
            StreamSink(bus, "out\(k)", profile: .random(seed &+ 2 &+ UInt64(k))) { readBeat($0, "out\(k)", layout) }
        }
        next = [Int](repeating: 0, count: config.consumers)
        eventsOut = next
    }

    func refill(cycle: Int, target: Int) -> Bool {
        while cycle < target && source.pending < 4 {
            let beat = randomBeat(&rng, config.layout, lastChance: 0.3)
            source.queue.append(beat)
            sent.append(beat)
            eventsIn += eventCount(beat, config.layout)
        }
        return source.idle && next.allSatisfy { $0 == sent.count }
    }

    func drive(cycle: Int) {
        source.drive()
        for s in sinks { s.drive() }
    }

    func observe(cycle: Int) {
        _ = source.observe(cycle: cycle)
        for (k, s) in sinks.enumerated() {
            guard let beat = s.observe(cycle: cycle) else { continue }
            eventsOut[k] += eventCount(beat, config.layout)
            if next[k] >= sent.count || beat != sent[next[k]] {
                if failures.count < 5 {
                    failures.append("\(label) out\(k): beat \(next[k]) at cycle \(cycle) is \(beat), expected \(next[k] < sent.count ? "\(sent[next[k]])" : "none")")
                }
            }
            next[k] += 1
        }
    }

    var allFailures: [String] {
        failures + sinks.flatMap(\.violations)
            + eventsOut.enumerated().compactMap { $1 == eventsIn ? nil : "\(label) out\($0): \($1) events, \(eventsIn) in" }
    }

    var summary: String {
        "\(label) broadcast to \(config.consumers), layout \(config.layout): \(sent.count) beats, \(eventsIn) events in, out \(eventsOut)"
    }
}

/// Merge: each producer's beats in order, vectors never interleaved, `out_source` right; with
/// `backlogged` producers (never a gap) the grants must rotate strictly.
final class MergeBench: Bench {
    let label: String
    let config: StreamMergeConfig
    let sources: [StreamSource<[Int]>]
    let sink: StreamSink<[Int]>
    let backlogged: Bool
    private var rng: SplitMix64
    private var sent: [[[Int]]]
    private var next: [Int]
    private var lockedTo: Int?
    private var lastGranted: Int?
    private var rotationChecked = 0
    private var stopRotationCheck = false
    private(set) var failures: [String] = []
    private(set) var eventsIn = 0, eventsOut = 0

    init(_ label: String, _ config: StreamMergeConfig, driver: PortDriver, seed: UInt64, backlogged: Bool) {
        self.label = label
        self.config = config
        self.backlogged = backlogged
        let bus = Bus(driver: driver, prefix: label)
        rng = SplitMix64(seed: seed)
        let layout = config.layout
        sources = (0..<config.producers).map { k in
            StreamSource(bus, "in\(k)", profile: backlogged ? .never : .random(seed &+ 1 &+ UInt64(k))) {
                setBeat($0, "in\(k)", layout, $1)
            }
        }
        let outLayout = StreamLayout(fields: [StreamField("source", width: config.sourceWidth)] + layout.fields,
                                     hasLast: layout.hasLast)
        sink = StreamSink(bus, "out", profile: .random(seed &+ 99)) { readBeat($0, "out", outLayout) }
        sent = [[[Int]]](repeating: [], count: config.producers)
        next = [Int](repeating: 0, count: config.producers)
    }

    func refill(cycle: Int, target: Int) -> Bool {
        for (k, s) in sources.enumerated() {
            while cycle < target && s.pending < 6 {
                // A vector of 1...4 beats (a single beat without last).
                let n = config.layout.hasLast ? rng.int(1...4) : 1
                for i in 0..<n {
                    var beat = randomBeat(&rng, config.layout, lastChance: 0)
                    if config.layout.hasLast { beat[beat.count - 1] = i == n - 1 ? 1 : 0 }
                    s.queue.append(beat)
                    sent[k].append(beat)
                    eventsIn += eventCount(beat, config.layout)
                }
            }
        }
        if cycle >= target { stopRotationCheck = true }
        return sources.allSatisfy(\.idle) && zip(next, sent).allSatisfy { $0 == $1.count }
    }

    func drive(cycle: Int) {
        for s in sources { s.drive() }
        sink.drive()
    }

    func observe(cycle: Int) {
        for s in sources { _ = s.observe(cycle: cycle) }
        guard let out = sink.observe(cycle: cycle) else { return }
        let src = out[0], beat = Array(out.dropFirst())
        eventsOut += eventCount(beat, config.layout)
        func fail(_ s: String) { if failures.count < 5 { failures.append("\(label) cycle \(cycle): \(s)") } }
        guard src < config.producers else { return fail("source \(src) out of range") }
        if let l = lockedTo, l != src { fail("beat from \(src) inside a vector of \(l)") }
        if lockedTo == nil {
            // A new vector (or beat) starts: with every producer backlogged, strictly the next one.
            if backlogged && !stopRotationCheck, let g = lastGranted {
                if src != (g + 1) % config.producers { fail("grant went to \(src) after \(g), expected \((g + 1) % config.producers)") }
                rotationChecked += 1
            }
            lastGranted = src
        }
        if next[src] >= sent[src].count || beat != sent[src][next[src]] {
            fail("beat \(next[src]) of source \(src) is \(beat), expected \(next[src] < sent[src].count ? "\(sent[src][next[src]])" : "none")")
        }
        next[src] += 1
        if config.layout.hasLast { lockedTo = beat.last! == 1 ? nil : src }
    }

    var allFailures: [String] {
        failures + sink.violations + (eventsIn == eventsOut ? [] : ["\(label): \(eventsIn) events in, \(eventsOut) out"])
            + (backlogged && rotationChecked < 100 ? ["\(label): only \(rotationChecked) rotations checked"] : [])
    }

    var summary: String {
        "\(label) merge of \(config.producers)\(backlogged ? " (backlogged, \(rotationChecked) grants checked for strict rotation)" : ""), layout \(config.layout): beats per source \(next), \(eventsIn) events in, \(eventsOut) out"
    }
}

/// Per-head split against a model: each head gets its events in order, local channels, `last`
/// on its last event of the vector or an empty `last` beat.
final class SplitBench: Bench {
    let label: String
    let config: HeadSplitConfig
    let source: StreamSource<EventBeat>
    let sinks: [StreamSink<EventBeat>]
    private var rng: SplitMix64
    private var expected: [[EventBeat]]
    private var next: [Int]
    private(set) var failures: [String] = []
    private(set) var vectors = 0, eventsIn = 0
    private(set) var eventsOut: [Int]

    init(_ label: String, _ config: HeadSplitConfig, driver: PortDriver, seed: UInt64) {
        self.label = label
        self.config = config
        let bus = Bus(driver: driver, prefix: label)
        rng = SplitMix64(seed: seed)
        source = StreamSource(bus, "in", profile: .random(seed &+ 1)) { $1.set($0, "in") }
        let fmt = config.outputFormat
        sinks = (0..<config.heads).map { h in
            StreamSink(bus, "out\(h)", profile: .random(seed &+ 2 &+ UInt64(h))) { EventBeat.read($0, "out\(h)", fmt) }
        }
        expected = [[EventBeat]](repeating: [], count: config.heads)
        next = [Int](repeating: 0, count: config.heads)
        eventsOut = next
    }

    func addVector() {
        let c = config.channels, d = config.headChannels
        let counts = VectorGen.counts(&rng, channels: c, maxCount: (1 << config.countWidth) - 1)
        var beats = VectorGen.eventBeats(counts, trailingMarker: rng.chance(0.2))
        // The split does not need ascending channels: shuffle some vectors' events, and slip in
        // beats that carry neither an event nor an end (they must vanish).
        if rng.chance(0.3) {
            var evs = beats.filter { !$0.events.isEmpty }
            let tail = beats.last!
            evs.shuffle(using: &rng)
            beats = evs.map { EventBeat(events: $0.events, last: false) }
            if tail.events.isEmpty { beats.append(tail) } else {
                if beats.isEmpty { beats.append(EventBeat(events: [], last: true)) } else { beats[beats.count - 1].last = true }
            }
        }
        if rng.chance(0.1) { beats.insert(EventBeat(events: [], last: false), at: rng.int(0...(beats.count - 1))) }
        var perHead = [[EventBeat.Pair]](repeating: [], count: config.heads)
        for b in beats {
            for e in b.events {
                let h = e.channel / d
                perHead[h].append(.init(channel: config.localChannels ? e.channel - h * d : e.channel, count: e.count))
                eventsIn += 1
            }
        }
        for h in 0..<config.heads {
            if perHead[h].isEmpty {
                expected[h].append(EventBeat(events: [], last: true))
            } else {
                for (i, e) in perHead[h].enumerated() {
                    expected[h].append(EventBeat(events: [e], last: i == perHead[h].count - 1))
                }
            }
        }
        source.queue += beats
        vectors += 1
    }

    func refill(cycle: Int, target: Int) -> Bool {
        while cycle < target && source.pending < 6 { addVector() }
        return source.idle && zip(next, expected).allSatisfy { $0 == $1.count }
    }

    func drive(cycle: Int) {
        source.drive()
        for s in sinks { s.drive() }
    }

    func observe(cycle: Int) {
        _ = source.observe(cycle: cycle)
        for (h, s) in sinks.enumerated() {
            guard let beat = s.observe(cycle: cycle) else { continue }
            eventsOut[h] += beat.events.count
            if next[h] >= expected[h].count || beat != expected[h][next[h]] {
                if failures.count < 5 {
                    failures.append("\(label) out\(h): beat \(next[h]) at cycle \(cycle) is \(beat), expected \(next[h] < expected[h].count ? "\(expected[h][next[h]])" : "none")")
                }
            }
            next[h] += 1
        }
    }

    var allFailures: [String] {
        let total = eventsOut.reduce(0, +)
        return failures + sinks.flatMap(\.violations) + (total == eventsIn ? [] : ["\(label): \(eventsIn) events in, \(total) out"])
    }

    var summary: String {
        "\(label) split C=\(config.channels) heads=\(config.heads) \(config.localChannels ? "local" : "global"): \(vectors) vectors, \(eventsIn) events in, per head \(eventsOut)"
    }
}

@Suite(.serialized) struct RouterRoutingTests {
    static let cycles = 12_000

    static let eventsE1 = EventStreamFormat(channels: 8, countWidth: 2).layout
    static let eventsE3 = EventStreamFormat(channels: 96, countWidth: 1, slots: 3).layout
    static let plain = StreamLayout(fields: [StreamField("a", width: 5), StreamField("b", width: 9, signed: true)], hasLast: false)

    static let broadcasts: [(String, StreamBroadcastConfig)] = [
        ("bc2", StreamBroadcastConfig(layout: eventsE1, consumers: 2)),
        ("bc3", StreamBroadcastConfig(layout: eventsE3, consumers: 3)),
        ("bc1", StreamBroadcastConfig(layout: plain, consumers: 1)),
    ]
    static let merges: [(String, StreamMergeConfig, Bool)] = [
        ("mg2", StreamMergeConfig(layout: eventsE1, producers: 2), false),
        ("mg3", StreamMergeConfig(layout: eventsE3, producers: 3), false),
        ("mg3p", StreamMergeConfig(layout: plain, producers: 3), false),
        ("mg1", StreamMergeConfig(layout: eventsE1, producers: 1), false),
        ("mg3b", StreamMergeConfig(layout: eventsE1, producers: 3), true),
        ("mg2pb", StreamMergeConfig(layout: plain, producers: 2), true),
    ]
    static let splits: [(String, HeadSplitConfig)] = [
        ("sp8h2", HeadSplitConfig(channels: 8, heads: 2, countWidth: 2)),
        ("sp12h3", HeadSplitConfig(channels: 12, heads: 3, countWidth: 1, localChannels: false)),
        ("sp96h6", HeadSplitConfig(channels: 96, heads: 6, countWidth: 2)),
        ("sp1h1", HeadSplitConfig(channels: 1, heads: 1)),
        ("sp6h6", HeadSplitConfig(channels: 6, heads: 6, countWidth: 3)),
    ]

    @Test func routingMatchesModelInVerilator() throws {
        let seed = TestSeed.value(default: 0x0A7E_5)
        print("RouterRoutingTests seed \(seed) (replay with QKFORGE_SEED=\(seed))")
        var parts: [SweepTop.Part] = []
        for (l, c) in Self.broadcasts { parts.append(.init(prefix: l, module: try makeStreamBroadcast(c))) }
        for (l, c, _) in Self.merges { parts.append(.init(prefix: l, module: try makeStreamMerge(c))) }
        for (l, c) in Self.splits { parts.append(.init(prefix: l, module: try makeHeadSplit(c))) }
        let driver = try SweepRunner.verilator(SweepTop.make("routing_sweep", parts), "routing")
        var rng = SplitMix64(seed: seed)
        var benches: [Bench] = []
        let bcs = Self.broadcasts.map { BroadcastBench($0.0, $0.1, driver: driver, seed: rng.next()) }
        let mgs = Self.merges.map { MergeBench($0.0, $0.1, driver: driver, seed: rng.next(), backlogged: $0.2) }
        let sps = Self.splits.map { SplitBench($0.0, $0.1, driver: driver, seed: rng.next()) }
        benches = bcs + mgs + sps
        let ran = SweepRunner.run(driver, benches, cycles: Self.cycles)
        for b in bcs {
            print(b.summary)
            #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))")
        }
        for b in mgs {
            print(b.summary)
            #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))")
        }
        for b in sps {
            print(b.summary)
            #expect(b.allFailures.isEmpty, "\(b.allFailures.prefix(5))")
        }
        print("RouterRoutingTests: \(ran) cycles")
        #expect(ran >= Self.cycles)
    }

    @Test func routingLintClean() throws {
        var modules: [Module] = []
        for (_, c) in Self.broadcasts { modules.append(try makeStreamBroadcast(c)) }
        for (_, c, _) in Self.merges.prefix(4) { modules.append(try makeStreamMerge(c)) }
        for (_, c) in Self.splits { modules.append(try makeHeadSplit(c)) }
        for m in modules {
            let findings = try SweepRunner.lint(m)
            #expect(findings.isEmpty, "\(m.name): \(findings)")
        }
    }

    @Test func routingRejectsBadParameters() {
        func rejects(_ field: String, _ build: () throws -> Module) {
            #expect {
                _ = try build()
            } throws: { e in
                (e as? BlockError)?.description.contains(field) == true
            }
        }
        rejects("consumers") { try makeStreamBroadcast(StreamBroadcastConfig(layout: Self.plain, consumers: 0)) }
        rejects("producers") { try makeStreamMerge(StreamMergeConfig(layout: Self.plain, producers: 17)) }
        rejects("heads") { try makeHeadSplit(HeadSplitConfig(channels: 10, heads: 3)) }
        rejects("reserved") {
            try makeStreamBroadcast(StreamBroadcastConfig(
                layout: StreamLayout(fields: [StreamField("ready", width: 1)], hasLast: false), consumers: 2))
        }
        rejects("twice") {
            try makeStreamMerge(StreamMergeConfig(
                layout: StreamLayout(fields: [StreamField("a", width: 1), StreamField("a", width: 2)], hasLast: true), producers: 2))
        }
    }
}
