import HDL

/// Parameters of a merge: several streams of one layout into one, round-robin.
public struct StreamMergeConfig: Hashable, Sendable {
    public var layout: StreamLayout
    /// Producers, `N >= 1`.
    public var producers: Int

    public init(layout: StreamLayout, producers: Int) {
        self.layout = layout
        self.producers = producers
    }

    /// Bits of `out_source`.
    public var sourceWidth: Int { Interval(0, max(producers - 1, 0)).unsignedWidth }

    public var moduleName: String {
        "stream_merge_n\(producers)_b\(layout.payloadWidth)_\(ModuleNameHash.hash(layout.description))"
    }

    public func validate() throws {
        try layout.validate("layout")
        guard (1...16).contains(producers) else {
            throw BlockError("producers is \(producers); a merge takes 1...16 streams")
        }
        guard !layout.fields.contains(where: { $0.name == "source" }) else {
            throw BlockError("layout has a field 'source', which the merge adds; rename that field")
        }
    }
}

/// Merge: round-robin over the producers with a valid beat, starting after the one served
/// last. When the layout has `last`, a producer keeps the output from the first beat of a
/// vector to its `last` beat, so vectors are never interleaved; each producer's beats keep
/// their order. `out_source` names the producer of each beat.
///
/// `in<k>_ready` depends combinationally on the other producers' `valid` (the arbiter's
/// choice), never on `out_ready`: the output is a skid buffer, so `out_valid` is a register.
/// One beat per cycle; latency 1 cycle.
public func makeStreamMerge(_ config: StreamMergeConfig) throws -> Module {
    try config.validate()
    let layout = config.layout, n = config.producers
    let fields = layout.fieldsWithLast
    let sw = config.sourceWidth
    let m = Module(config.moduleName, doc: """
        Round-robin merge of \(n) streams\(layout.hasLast ? ", a vector (first beat to last) at a time" : "").
        in<k> (k = 0..\(n - 1)): in<k>_valid/in<k>_ready, \(fields.map { "in<k>_\($0.name)" }.joined(separator: ", ")).
        out: out_valid/out_ready, out_source[\(sw - 1):0] (the producer), and the same payload fields.
        Payload: \(layout). One beat per cycle, latency 1 cycle; out_valid is a register.
        """)
    m.parameter("producers", n)
    m.parameter("layout", layout)

    let inputs = (0..<n).map { m.inputStream("in\($0)", layout) }
    let outReady = m.input("out_ready", width: 1)
    let out = SkidBuffer(m, "out_slice", fields: [StreamField("source", width: sw)] + fields)

    // The producer served last; the search starts after it.
    let pointer = m.reg("rr_last", width: sw, reset: n - 1)
    let locked = m.reg("locked", width: 1, reset: 0)
    let lockedSource = m.reg("locked_source", width: sw, reset: 0)

    var grant: [Expr] = []
    for k in 0..<n {
        var rr: Expr = .const(0, width: 1)
        for p in 0..<n {
            // With pointer p, producer k wins if no producer between p+1 and k (cyclically)
            // has a valid beat.
            var wins = inputs[k].valid
            var j = (p + 1) % n
            while j != k {
                wins = wins & ~inputs[j].valid
                j = (j + 1) % n
            }
            rr = rr | (pointer.eq(.const(p, width: sw)) & wins)
        }
        let byLock = lockedSource.eq(.const(k, width: sw))
        grant.append(m.wire("grant\(k)", mux(locked, byLock, rr)))
    }

    var chosenValid: Expr = .const(0, width: 1)
    for k in 0..<n { chosenValid = chosenValid | (grant[k] & inputs[k].valid) }
    let upValid = m.wire("chosen_valid", chosenValid)
    var sourceBits: [Expr] = []
    for b in 0..<sw {
        let hits = (0..<n).filter { ($0 >> b) & 1 == 1 }.map { grant[$0] }
        sourceBits.append(hits.isEmpty ? .const(0, width: 1) : cat(hits).orReduce())
    }
    let source = m.wire("chosen_source", cat(sourceBits.reversed()))
    var payload: [Expr] = [source]
    for (i, f) in fields.enumerated() {
        var v: Expr = .const(0, width: f.width, signed: f.isSigned)
        for k in 0..<n { v = v | mux(grant[k], inputs[k].payload[i], .const(0, width: f.width, signed: f.isSigned)) }
        payload.append(m.wire("chosen_\(f.name)", v))
    }
    let fire = m.wire("fire", upValid & out.upReady)
    out.drive(upValid: upValid, upPayload: payload, downReady: outReady)
    for k in 0..<n { m.assign(inputs[k].ready, grant[k] & out.upReady) }

    m.next(pointer, source, enable: fire)
    if layout.hasLast {
        m.next(locked, ~payload.last!, enable: fire)
        m.next(lockedSource, source, enable: fire)
    } else {
        m.next(locked, .const(0, width: 1))
        m.next(lockedSource, .const(0, width: sw))
    }

    m.outputStream("out", StreamLayout(fields: [StreamField("source", width: sw)] + layout.fields, hasLast: layout.hasLast),
                   valid: out.downValid, payload: out.downPayload)
    return m
}
