import HDL

/// Parameters of a broadcast: one stream feeding several consumers (e.g. the Q and the K
/// projection reading the same spikes).
public struct StreamBroadcastConfig: Hashable, Sendable {
    public var layout: StreamLayout
    /// Consumers, `N >= 1`.
    public var consumers: Int

    public init(layout: StreamLayout, consumers: Int) {
        self.layout = layout
        self.consumers = consumers
    }

    public var moduleName: String {
        "stream_broadcast_n\(consumers)_b\(layout.payloadWidth)_\(ModuleNameHash.hash(layout.description))"
    }

    public func validate() throws {
        try layout.validate("layout")
        guard (1...32).contains(consumers) else {
            throw BlockError("consumers is \(consumers); a broadcast feeds 1...32 consumers")
        }
    }
}

/// Broadcast: every input beat goes to every consumer exactly once.
///
/// Each accepted beat is held in one register with a pending flag per consumer; consumer `k`
/// sees `out<k>_valid = pending[k]` and takes the beat in its own time, and the next beat
/// enters once every consumer has taken the current one (in the same cycle as the last one
/// takes it). A skid buffer on the input keeps `in_ready` a register. Throughput one beat per
/// cycle when all consumers are ready; latency 2 cycles from input transfer to `out<k>_valid`.
public func makeStreamBroadcast(_ config: StreamBroadcastConfig) throws -> Module {
    try config.validate()
    let layout = config.layout, n = config.consumers
    let fields = layout.fieldsWithLast
    let m = Module(config.moduleName, doc: """
        Broadcast of one stream to \(n) consumers; each beat reaches each consumer exactly once.
        in:  in_valid/in_ready, \(fields.map { "in_\($0.name)" }.joined(separator: ", ")).
        out<k> (k = 0..\(n - 1)): out<k>_valid/out<k>_ready and the same payload fields.
        Payload: \(layout). One beat per cycle when every consumer is ready; latency 2 cycles.
        in_ready and every out<k>_valid are registers.
        """)
    m.parameter("consumers", n)
    m.parameter("layout", layout)

    let input = m.inputStream("in", layout)
    let outReady = (0..<n).map { m.input("out\($0)_ready", width: 1) }

    let slice = SkidBuffer(m, "in_slice", fields: fields)
    let held = fields.map { m.reg("held_\($0.name)", width: $0.width, signed: $0.isSigned) }
    let pending = (0..<n).map { m.reg("pending\($0)", width: 1, reset: 0) }

    // Every consumer has taken the held beat, or takes it now.
    var free: Expr = .const(1, width: 1)
    for k in 0..<n { free = free & (~pending[k] | outReady[k]) }
    let allTaken = m.wire("all_taken", free)
    let load = m.wire("load", slice.downValid & allTaken)
    slice.drive(upValid: input.valid, upPayload: input.payload, downReady: allTaken)
    for (r, v) in zip(held, slice.downPayload) { m.next(r, v, enable: load) }
    for k in 0..<n {
        m.next(pending[k], mux(load, .const(1, width: 1), pending[k] & ~outReady[k]))
    }

    m.assign(input.ready, slice.upReady)
    for k in 0..<n {
        m.outputStream("out\(k)", layout, valid: pending[k], payload: held)
    }
    return m
}
