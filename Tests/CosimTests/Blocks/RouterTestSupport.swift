import Description
import Foundation
import Testing
import HDL
import Blocks
import Cosim

// Test bench parts shared by the router and accumulator suites: a top that places several
// blocks side by side (one Verilator build per sweep), stream sources and sinks with random
// stalls and a protocol check, and the cycle loop.

/// Several block instances side by side in one top module, so that one Verilator build covers a
/// whole parameter sweep. Port `p` of part `x` becomes top port `x_p`. Inputs wider than 64
/// bits are split into 32-bit words `x_p_w<i>` (word 0 least significant); outputs listed in
/// `lanes` are split into signed lanes `x_p_<j>` of the given width.
struct SweepTop {
    struct Part {
        let prefix: String
        let module: Module
        var lanes: [String: Int] = [:]
    }

    static func make(_ name: String, _ parts: [Part]) -> Module {
        let top = Module(name, doc: "Test sweep: \(parts.map(\.prefix).joined(separator: ", ")).")
        for part in parts {
            let inst = top.instance(part.module, "u_\(part.prefix)")
            for p in part.module.inputs {
                let n = "\(part.prefix)_\(p.name)"
                if p.width > 64 {
                    let words = (0..<((p.width + 31) / 32)).map { i in
                        top.input("\(n)_w\(i)", width: min(32, p.width - 32 * i))
                    }
                    let joined = cat(words.reversed())
                    inst.connect(p.name, p.isSigned ? joined.asSigned() : joined)
                } else {
                    inst.connect(p.name, top.input(n, width: p.width, signed: p.isSigned))
                }
            }
            for p in part.module.outputs {
                let n = "\(part.prefix)_\(p.name)"
                let value = inst.output(p.name)
                if let lw = part.lanes[p.name] {
                    for j in 0..<(p.width / lw) {
                        top.output("\(n)_\(j)", value.slice(j * lw + lw - 1, j * lw).asSigned())
                    }
                } else {
                    top.output(n, value)
                }
            }
        }
        return top
    }
}

/// One part's ports on a shared driver.
struct Bus {
    let driver: PortDriver
    let prefix: String

    func name(_ port: String) -> String { "\(prefix)_\(port)" }
    func set(_ port: String, _ value: Int) { driver.set(name(port), value) }
    func set(_ port: String, _ value: Bool) { driver.set(name(port), value) }
    func get(_ port: String) -> Int { Int(driver.get(name(port))) }
    func bit(_ port: String) -> Bool { driver.get(name(port)) != 0 }
    func signed(_ port: String) -> Int { driver.getSigned(name(port)) }

    /// Sets a port of any width from little-endian 64-bit words (split into 32-bit words
    /// by `SweepTop` when wider than 64 bits).
    func setWide(_ port: String, _ words: [UInt64], width: Int) {
        if width <= 64 {
            driver.set(name(port), Int(bitPattern: UInt(words.first ?? 0)))
            return
        }
        for i in 0..<((width + 31) / 32) {
            let w = i / 2 < words.count ? words[i / 2] : 0
            driver.set("\(name(port))_w\(i)", Int((w >> UInt64(32 * (i % 2))) & 0xFFFF_FFFF))
        }
    }
}

extension SplitMix64 {
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    mutating func chance(_ p: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < p
    }
}

/// How often a stream stalls. The probability changes every few hundred cycles, so that long
/// runs of back-pressure and of full speed both happen.
struct StallProfile {
    var rng: SplitMix64
    let choices: [Double]
    private var current: Double
    private var left = 0

    init(seed: UInt64, choices: [Double]) {
        rng = SplitMix64(seed: seed)
        self.choices = choices
        current = choices[0]
    }

    /// Never stalls.
    static let never = StallProfile(seed: 0, choices: [1.0])
    /// Input valid or output ready with random gaps.
    static func random(_ seed: UInt64) -> StallProfile {
        StallProfile(seed: seed, choices: [1.0, 0.9, 0.6, 0.3, 0.05])
    }

    mutating func go() -> Bool {
        if left == 0 {
            current = choices[rng.int(0...(choices.count - 1))]
            left = rng.int(20...300)
        }
        left -= 1
        return current >= 1.0 || rng.chance(current)
    }
}

/// A valid/ready source: presents the queued beats in order, with random gaps, and holds a
/// presented beat until it transfers (AXI: valid never drops before the handshake).
final class StreamSource<Beat> {
    let bus: Bus
    let stream: String
    var queue: [Beat] = []
    private(set) var next = 0
    private var presenting = false
    var profile: StallProfile
    let setPayload: (Bus, Beat) -> Void
    /// Cycle of the first and of the latest transfer.
    private(set) var firstFire: Int?
    private(set) var lastFire = 0

    init(_ bus: Bus, _ stream: String, profile: StallProfile, setPayload: @escaping (Bus, Beat) -> Void) {
        self.bus = bus
        self.stream = stream
        self.profile = profile
        self.setPayload = setPayload
    }

    var pending: Int { queue.count - next }
    var idle: Bool { next == queue.count }

    func drive() {
        if !presenting, next < queue.count, profile.go() { presenting = true }
        bus.set("\(stream)_valid", presenting)
        if presenting { setPayload(bus, queue[next]) }
    }

    /// After eval: the beat that transferred this cycle, if any.
    func observe(cycle: Int) -> Beat? {
        guard presenting, bus.bit("\(stream)_ready") else { return nil }
        presenting = false
        next += 1
        if firstFire == nil { firstFire = cycle }
        lastFire = cycle
        return queue[next - 1]
    }
}

/// A valid/ready sink with random ready drops, which also checks the producer's side of the
/// protocol: a beat offered and not taken must still be offered, unchanged, next cycle.
final class StreamSink<Beat: Equatable> {
    let bus: Bus
    let stream: String
    var profile: StallProfile
    let read: (Bus) -> Beat
    private var ready = false
    private var stalled: Beat?
    private(set) var violations: [String] = []
    private(set) var received = 0
    private(set) var lastFire = 0

    init(_ bus: Bus, _ stream: String, profile: StallProfile, read: @escaping (Bus) -> Beat) {
        self.bus = bus
        self.stream = stream
        self.profile = profile
        self.read = read
    }

    func drive() {
        ready = profile.go()
        bus.set("\(stream)_ready", ready)
    }

    func observe(cycle: Int) -> Beat? {
        let valid = bus.bit("\(stream)_valid")
        if let s = stalled {
            if !valid {
                violations.append("\(bus.prefix) \(stream): valid dropped at cycle \(cycle) before the handshake")
            } else if read(bus) != s {
                violations.append("\(bus.prefix) \(stream): payload changed at cycle \(cycle) while stalled: \(s) -> \(read(bus))")
            }
        }
        stalled = nil
        guard valid else { return nil }
        let beat = read(bus)
        if ready {
            received += 1
            lastFire = cycle
            return beat
        }
        stalled = beat
        return nil
    }
}

/// One block under test in a sweep.
protocol Bench: AnyObject {
    var label: String { get }
    /// Sets this cycle's inputs.
    func drive(cycle: Int)
    /// Reads this cycle's outputs (after eval) and records transfers.
    func observe(cycle: Int)
    /// Queues more work while `cycle` is below the target; returns whether all work is done.
    func refill(cycle: Int, target: Int) -> Bool
    /// Mismatches and protocol violations.
    var failures: [String] { get }
    var summary: String { get }
}

enum SweepRunner {
    /// Builds `top` in Verilator (cached) and returns a driver on it.
    static func verilator(_ top: Module, _ tag: String) throws -> PortDriver {
        let design = try Elaborate.run(top)
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("qkforge-blocks-\(tag)-\(getpid())-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try PortDriver.verilator(design, directory: dir)
    }

    /// Resets, then runs every bench for at least `cycles` cycles and until its work drains
    /// (at most `cycles + drain` cycles). Returns the cycles run.
    @discardableResult
    static func run(_ driver: PortDriver, _ benches: [Bench], cycles: Int, drain: Int = 20_000) -> Int {
        if driver.has("rst") {
            driver.set("rst", 1)
            driver.tick()
            driver.tick()
            driver.set("rst", 0)
        }
        var cycle = 0
        while cycle < cycles + drain {
            var done = true
            for b in benches where !b.refill(cycle: cycle, target: cycles) { done = false }
            if done && cycle >= cycles { break }
            for b in benches { b.drive(cycle: cycle) }
            driver.eval()
            for b in benches { b.observe(cycle: cycle) }
            driver.tick()
            cycle += 1
        }
        return cycle
    }

    /// Lint of the emitted Verilog of `module` in Verilator -Wall, Yosys and Icarus.
    static func lint(_ module: Module) throws -> [Lint.Finding] {
        let emitted = VerilogEmitter.emit(try Elaborate.run(module))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-blocks-lint-\(UUID().uuidString)")
        try emitted.write(to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        return try Lint.check(directory: dir, top: emitted.top)
    }
}

/// One address event and a beat of them, as the tests model the event stream.
struct EventBeat: Equatable, CustomStringConvertible {
    /// `(channel, count)` of the occupied slots, slot 0 first.
    var events: [Pair]
    var last: Bool

    struct Pair: Equatable, CustomStringConvertible {
        var channel: Int
        var count: Int
        var description: String { "\(channel):\(count)" }
    }

    var description: String { "[\(events.map(\.description).joined(separator: " "))\(last ? " last" : "")]" }

    /// Reads an event beat of `format` from stream `stream`. The slot mask must be contiguous
    /// from slot 0; a hole is reported as a channel of -1 so that it never matches.
    static func read(_ bus: Bus, _ stream: String, _ format: EventStreamFormat) -> EventBeat {
        let mask = bus.get("\(stream)_event")
        var events: [Pair] = []
        var hole = false
        for e in 0..<format.slots {
            if (mask >> e) & 1 == 1 {
                if hole { events.append(Pair(channel: -1, count: -1)) }
                events.append(Pair(channel: bus.get("\(stream)_\(format.channelField(e))"),
                                   count: bus.get("\(stream)_\(format.countField(e))")))
            } else {
                hole = true
            }
        }
        return EventBeat(events: events, last: bus.bit("\(stream)_last"))
    }

    /// Drives a one-slot event beat (an empty beat has `event == 0`).
    func set(_ bus: Bus, _ stream: String) {
        let e = events.first
        bus.set("\(stream)_event", e != nil)
        bus.set("\(stream)_channel", e?.channel ?? 0)
        bus.set("\(stream)_count", e?.count ?? 0)
        bus.set("\(stream)_last", last)
    }
}

/// Random sparse/dense count vectors.
enum VectorGen {
    /// `channels` counts in `0...maxCount`: all zero, sparse, medium, dense or all non-zero.
    static func counts(_ rng: inout SplitMix64, channels: Int, maxCount: Int) -> [Int] {
        let density: Double = [0.0, 0.03, 0.15, 0.5, 0.9, 1.0][rng.int(0...5)]
        return (0..<channels).map { _ in rng.chance(density) ? rng.int(1...maxCount) : 0 }
    }

    /// The one-event-per-beat stream of a vector: its non-zero counts in ascending channel
    /// order, `last` on the final one, or one empty `last` beat. With `trailingMarker`, a
    /// non-empty vector ends with an empty `last` beat instead.
    static func eventBeats(_ counts: [Int], trailingMarker: Bool = false) -> [EventBeat] {
        var beats = counts.enumerated().filter { $0.element != 0 }
            .map { EventBeat(events: [.init(channel: $0.offset, count: $0.element)], last: false) }
        if beats.isEmpty || trailingMarker {
            beats.append(EventBeat(events: [], last: true))
        } else {
            beats[beats.count - 1].last = true
        }
        return beats
    }
}
