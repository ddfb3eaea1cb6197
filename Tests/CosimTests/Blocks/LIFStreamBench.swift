import Description
import Foundation
import HDL
import Cosim

// A small transaction-level testbench for the spiking blocks' valid/ready streams, shared by
// the LIF, summation and mask suites: ports of any width, random input-valid gaps and random
// output-ready drops, protocol checks on every output stream, and sweep wrappers that put
// several variants of a block in one design so that one Verilator build covers them all.

/// Packed access to a clocked model's ports by name, for ports of any width.
final class SpikingPorts {
    let model: ClockedModel
    private var inWords: [UInt32]
    private var outWords: [UInt32]
    private var inOffset: [String: (offset: Int, port: SimPort)] = [:]
    private var outOffset: [String: (offset: Int, port: SimPort)] = [:]
    private var dirty = true

    init(_ driver: PortDriver) {
        model = driver.model
        inWords = [UInt32](repeating: 0, count: model.inputWords)
        outWords = [UInt32](repeating: 0, count: model.outputWords)
        var o = 0
        for p in driver.inputs { inOffset[p.name] = (o, p); o += p.words }
        o = 0
        for p in driver.outputs { outOffset[p.name] = (o, p); o += p.words }
    }

    func has(_ name: String) -> Bool { inOffset[name] != nil || outOffset[name] != nil }

    func width(_ name: String) -> Int {
        (inOffset[name] ?? outOffset[name]).map(\.port.width) ?? 0
    }

    /// A resolved port: where its words sit in the packed inputs or outputs.
    struct Handle {
        let offset: Int
        let words: Int
        let width: Int
    }

    func input(_ name: String) -> Handle {
        guard let (o, p) = inOffset[name] else { preconditionFailure("no input port '\(name)'") }
        return Handle(offset: o, words: p.words, width: p.width)
    }

    func output(_ name: String) -> Handle {
        guard let (o, p) = outOffset[name] else { preconditionFailure("no output port '\(name)'") }
        return Handle(offset: o, words: p.words, width: p.width)
    }

    /// Sets an input to the low bits of `words` (64-bit words, least significant first).
    func set(_ h: Handle, words: [UInt64]) {
        for i in 0..<h.words {
            let w = i / 2 < words.count ? words[i / 2] : 0
            inWords[h.offset + i] = UInt32(truncatingIfNeeded: i % 2 == 0 ? w : w >> 32)
        }
        if h.width % 32 != 0 { inWords[h.offset + h.words - 1] &= (UInt32(1) << UInt32(h.width % 32)) - 1 }
        dirty = true
    }

    func set(_ h: Handle, _ value: Bool) {
        inWords[h.offset] = value ? 1 : 0
        dirty = true
    }

    func set(_ name: String, words: [UInt64]) { set(input(name), words: words) }

    func set(_ name: String, _ value: Int) {
        let w = width(name)
        let fill: UInt64 = value < 0 ? ~0 : 0
        set(name, words: [UInt64(bitPattern: Int64(value))] + [UInt64](repeating: fill, count: (w + 63) / 64))
    }

    func set(_ name: String, _ value: Bool) { set(name, value ? 1 : 0) }

    func eval() {
        inWords.withUnsafeBufferPointer { model.setInputs($0) }
        model.eval()
        outWords.withUnsafeMutableBufferPointer { model.getOutputs($0) }
        dirty = false
    }

    func tick() {
        if dirty { eval() }
        model.tick()
        dirty = true
    }

    /// An output as 64-bit words, least significant first.
    func get(_ h: Handle) -> [UInt64] {
        if dirty { eval() }
        var out = [UInt64](repeating: 0, count: (h.width + 63) / 64)
        for i in 0..<h.words {
            out[i / 2] |= UInt64(outWords[h.offset + i]) << UInt64(32 * (i % 2))
        }
        return out
    }

    func bit(_ h: Handle) -> Bool {
        if dirty { eval() }
        return outWords[h.offset] & 1 != 0
    }

    func get(_ name: String) -> [UInt64] { get(output(name)) }

    func bit(_ name: String) -> Bool { bit(output(name)) }
}

/// Bits `[lo, lo + width)` of a packed vector, as an unsigned number (width <= 64).
func spikingField(_ words: [UInt64], _ lo: Int, _ width: Int) -> UInt64 {
    var v: UInt64 = 0
    for b in 0..<width {
        let i = lo + b
        if i / 64 < words.count, (words[i / 64] >> UInt64(i % 64)) & 1 == 1 { v |= UInt64(1) << UInt64(b) }
    }
    return v
}

/// The same field read as a two's-complement number.
func spikingSignedField(_ words: [UInt64], _ lo: Int, _ width: Int) -> Int64 {
    let v = spikingField(words, lo, width)
    if width < 64, (v >> UInt64(width - 1)) & 1 == 1 { return Int64(bitPattern: v | ~((UInt64(1) << UInt64(width)) - 1)) }
    return Int64(bitPattern: v)
}

/// Packs 0/1 spikes, spike `i` at bit `i`.
func spikingBits(_ spikes: [UInt8]) -> [UInt64] {
    var out = [UInt64](repeating: 0, count: max(1, (spikes.count + 63) / 64))
    for (i, x) in spikes.enumerated() where x != 0 { out[i / 64] |= UInt64(1) << UInt64(i % 64) }
    return out
}

/// Packs equal-width fields (field 0 at bit 0) into 64-bit words.
func spikingPack(_ values: [Int64], width: Int) -> [UInt64] {
    var out = [UInt64](repeating: 0, count: max(1, (values.count * width + 63) / 64))
    for (j, x) in values.enumerated() {
        let u = UInt64(bitPattern: x)
        for b in 0..<width where (u >> UInt64(min(b, 63))) & 1 == 1 {
            let i = j * width + b
            out[i / 64] |= UInt64(1) << UInt64(i % 64)
        }
    }
    return out
}

/// One beat of a stream: field name (without the stream prefix) to value words.
typealias SpikingBeat = [String: [UInt64]]

/// Drives one input stream: presents queued beats with random valid gaps, holds each beat
/// until it is taken.
final class SpikingSource {
    let prefix: String
    var queue: [SpikingBeat]
    var next = 0
    var holding = false
    var pValid = 1.0
    var sent = 0
    var valid: SpikingPorts.Handle?
    var ready: SpikingPorts.Handle?
    var fieldHandles: [String: SpikingPorts.Handle] = [:]

    init(_ prefix: String, beats: [SpikingBeat]) {
        self.prefix = prefix
        queue = beats
    }

    func resolve(_ ports: SpikingPorts) {
        valid = ports.input("\(prefix)_valid")
        ready = ports.output("\(prefix)_ready")
        for beat in queue.prefix(1) { for f in beat.keys { fieldHandles[f] = ports.input("\(prefix)_\(f)") } }
    }

    func present(_ ports: SpikingPorts) {
        for (f, v) in queue[next] {
            if fieldHandles[f] == nil { fieldHandles[f] = ports.input("\(prefix)_\(f)") }
            ports.set(fieldHandles[f]!, words: v)
        }
    }

    var done: Bool { next >= queue.count && !holding }
}

/// Takes one output stream with random ready drops, records its beats and checks the protocol:
/// once valid, a beat stays valid with the same payload until it is taken.
final class SpikingSink {
    let prefix: String
    let fields: [String]
    var pReady = 1.0
    var received: [SpikingBeat] = []
    var protocolErrors: [String] = []
    private var pending: SpikingBeat?   // valid and not taken last cycle
    var valid: SpikingPorts.Handle?
    var ready: SpikingPorts.Handle?
    var fieldHandles: [SpikingPorts.Handle] = []

    init(_ prefix: String, fields: [String]) {
        self.prefix = prefix
        self.fields = fields
    }

    func resolve(_ ports: SpikingPorts) {
        valid = ports.output("\(prefix)_valid")
        ready = ports.input("\(prefix)_ready")
        fieldHandles = fields.map { ports.output("\(prefix)_\($0)") }
    }

    func observe(cycle: Int, valid: Bool, ready: Bool, payload: () -> SpikingBeat) {
        if valid {
            let beat = payload()
            if let p = pending, p != beat, protocolErrors.count < 5 {
                protocolErrors.append("\(prefix): cycle \(cycle): payload changed while valid and not ready (beat \(received.count))")
            }
            pending = ready ? nil : beat
            if ready { received.append(beat) }
        } else {
            if pending != nil, protocolErrors.count < 5 {
                protocolErrors.append("\(prefix): cycle \(cycle): valid dropped before the beat was taken (beat \(received.count))")
            }
            pending = nil
        }
    }
}

/// Runs sources and sinks on one model until every source is drained and every sink has its
/// expected beats (or a cycle limit). Every 200 cycles each stream draws a new stall profile:
/// always valid/ready, mostly, half the time, or rarely.
final class SpikingStreamBench {
    let ports: SpikingPorts
    var rng: SplitMix64
    var sources: [SpikingSource] = []
    var sinks: [(sink: SpikingSink, expected: Int)] = []
    /// Called every cycle after the outputs settle, before the clock edge (cycle number).
    var onCycle: ((Int) -> Void)?
    private(set) var cycles = 0

    init(_ ports: SpikingPorts, seed: UInt64) {
        self.ports = ports
        rng = SplitMix64(seed: seed)
    }

    func random() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }

    static let profiles = [1.0, 1.0, 0.9, 0.6, 0.3]

    func reset() {
        for s in sources { ports.set("\(s.prefix)_valid", false) }
        for (s, _) in sinks { ports.set("\(s.prefix)_ready", false) }
        if ports.has("rst") {
            ports.set("rst", true)
            ports.tick(); ports.tick()
            ports.set("rst", false)
        }
    }

    /// Runs at least `minCycles` and until done; returns false if `maxCycles` ran out first.
    @discardableResult
    func run(minCycles: Int = 0, maxCycles: Int, noStalls: Bool = false) -> Bool {
        for s in sources where s.valid == nil { s.resolve(ports) }
        for (s, _) in sinks where s.valid == nil { s.resolve(ports) }
        var readies = [Bool](repeating: false, count: sinks.count)
        var c = 0
        while c < maxCycles {
            let finished = sources.allSatisfy(\.done) && sinks.allSatisfy { $0.sink.received.count >= $0.expected }
            if finished && c >= minCycles { return true }
            if c % 200 == 0 && !noStalls {
                for s in sources { s.pValid = Self.profiles[Int(rng.next() % UInt64(Self.profiles.count))] }
                for (s, _) in sinks { s.pReady = Self.profiles[Int(rng.next() % UInt64(Self.profiles.count))] }
            }
            for s in sources {
                if !s.holding, s.next < s.queue.count, noStalls || random() < s.pValid {
                    s.holding = true
                    s.present(ports)
                }
                ports.set(s.valid!, s.holding)
            }
            for (i, (s, _)) in sinks.enumerated() {
                readies[i] = noStalls || random() < s.pReady
                ports.set(s.ready!, readies[i])
            }
            ports.eval()
            for s in sources where s.holding && ports.bit(s.ready!) {
                s.holding = false
                s.next += 1
                s.sent += 1
            }
            for (i, (s, _)) in sinks.enumerated() {
                s.observe(cycle: cycles, valid: ports.bit(s.valid!), ready: readies[i]) {
                    var beat: SpikingBeat = [:]
                    for (f, h) in zip(s.fields, s.fieldHandles) { beat[f] = ports.get(h) }
                    return beat
                }
            }
            onCycle?(cycles)
            ports.tick()
            cycles += 1
            c += 1
        }
        return false
    }
}

/// A test-only top pairing two variants of one block on shared inputs: pair `i`'s inputs are
/// the top's `u<i>_x`, the first variant's outputs `u<i>_x` and the second's `u<i>_alt_x`, so
/// that a bench drives both with the same stimuli and stalls and compares them every cycle.
func spikingPairTop(_ name: String, _ pairs: [(Module, Module)]) -> Module {
    let top = Module(name, doc: "Test pairs: \(pairs.count) pair(s) of block variants on shared inputs.")
    for (i, (a, b)) in pairs.enumerated() {
        let ia = top.instance(a, "u\(i)_a"), ib = top.instance(b, "u\(i)_b")
        for s in a.ports where s.kind == .input {
            let port = top.input("u\(i)_\(s.name)", width: s.width, signed: s.isSigned)
            ia.connect(s.name, port)
            ib.connect(s.name, port)
        }
        for s in a.ports where s.kind == .output {
            top.output("u\(i)_\(s.name)", ia.output(s.name))
            top.output("u\(i)_alt_\(s.name)", ib.output(s.name))
        }
    }
    return top
}

/// A test-only top that instantiates `children` side by side; child `i`'s port `x` becomes
/// the top's port `u<i>_x`.
func spikingSweepTop(_ name: String, _ children: [Module]) -> Module {
    let top = Module(name, doc: "Test sweep: \(children.count) block variants side by side.")
    for (i, child) in children.enumerated() {
        let inst = top.instance(child, "u\(i)")
        for s in child.ports {
            if s.kind == .input {
                inst.connect(s.name, top.input("u\(i)_\(s.name)", width: s.width, signed: s.isSigned))
            } else {
                top.output("u\(i)_\(s.name)", inst.output(s.name))
            }
        }
    }
    return top
}

enum SpikingCosim {
    /// A scratch directory of its own for each design, removed when the design is clean.
    static func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-blocks-\(getpid())-\(name)")
    }

    /// Elaborates `top`, lints it in Verilator, Yosys and Icarus (returning the findings), and
    /// builds its Verilator model.
    static func build(_ top: Module, lint: Bool = true) throws -> (ports: SpikingPorts, design: Design, findings: [Lint.Finding]) {
        let design = try Elaborate.run(top)
        let dir = scratch(top.name)
        var findings: [Lint.Finding] = []
        if lint {
            let emitted = VerilogEmitter.emit(design)
            let lintDir = scratch(top.name + "-lint")
            try emitted.write(to: lintDir)
            findings = try Lint.check(directory: lintDir, top: emitted.top)
            if findings.isEmpty { try? FileManager.default.removeItem(at: lintDir) }
        }
        let driver = try PortDriver.verilator(design, directory: dir)
        // The model now lives in the Verilator cache; the sources are regenerated on demand.
        if findings.isEmpty { try? FileManager.default.removeItem(at: dir) }
        return (SpikingPorts(driver), design, findings)
    }

    /// The IR simulator of `top`, for cheap extra sweep points.
    static func simulate(_ top: Module) throws -> SpikingPorts {
        SpikingPorts(try PortDriver.simulator(try Elaborate.run(top)))
    }
}

extension SplitMix64 {
    /// Uniform in `lo...hi`.
    mutating func spkInt(_ lo: Int, _ hi: Int) -> Int {
        lo + Int(next() % UInt64(hi - lo + 1))
    }

    /// A value of `lo...hi` that favours the ends and zero.
    mutating func spkEdgy(_ lo: Int, _ hi: Int) -> Int {
        switch next() % 8 {
        case 0: return lo
        case 1: return hi
        case 2: return min(max(0, lo), hi)
        default: return spkInt(lo, hi)
        }
    }

    /// Spikes with a density drawn per call: sparse, medium, dense or all ones.
    mutating func spkSpikes(_ n: Int) -> [UInt8] {
        let density = [0.05, 0.3, 0.5, 0.85, 1.0][Int(next() % 5)]
        return (0..<n).map { _ in spkChance(density) ? 1 : 0 }
    }

    mutating func spkChance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
}
