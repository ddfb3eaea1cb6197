import HDL

/// The router's `SkidBuffer` under the enqueue-style interface the LIF, summation and mask
/// blocks use: `let b = SpikeSkidBuffer(m, "out", fields)`, read `b.ready`, then
/// `b.connect(enqueue:payload:consumerReady:)`. `ready`, `valid` and the payload are
/// registers, so neither side sees a combinational path through it; one beat passes per cycle
/// and the payload is held while `valid && !ready`.
struct SpikeSkidBuffer {
    private let buffer: SkidBuffer

    /// `readyRegister`: `ready` is a flop of its own rather than an inverter (`SkidBuffer`).
    init(_ m: Module, _ prefix: String, fields: [(name: String, width: Int, signed: Bool)], readyRegister: Bool = false) {
        buffer = SkidBuffer(m, "\(prefix)_q", fields: fields.map { StreamField($0.name, width: $0.width, signed: $0.signed) },
                            readyRegister: readyRegister)
    }

    /// The producer may enqueue this cycle (a register).
    var ready: Expr { buffer.upReady }
    /// The stream's valid (a register).
    var valid: Expr { buffer.downValid }
    /// The stream's payload (registers), in `fields` order.
    var payload: [Expr] { buffer.downPayload }

    /// `enqueue` must only be high when `ready` is; `payload` matches `fields`.
    func connect(enqueue: Expr, payload: [Expr], consumerReady: Expr) {
        buffer.drive(upValid: enqueue, upPayload: payload, downReady: consumerReady)
    }
}
