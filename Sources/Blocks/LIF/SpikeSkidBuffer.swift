import HDL

/// A two-entry output buffer for a valid/ready stream: a main register that drives the outputs
/// and a skid register that catches the beat accepted in the cycle the consumer dropped ready.
///
/// `ready` is a register (`!skid_valid`), so the producer's ready never depends on the consumer's
/// ready through logic, and the outputs (valid and payload) are registers. With the consumer
/// always ready the skid never fills and one beat passes per cycle; after a stall, the skid
/// drains first, so order is kept. Payload is held while `valid && !ready`.
///
/// Build it in two steps, because the producer's logic needs `ready` before it can say what to
/// enqueue: `let b = SpikeSkidBuffer(m, "out", fields)`, use `b.ready`, then
/// `b.connect(enqueue:payload:consumerReady:)`.
struct SpikeSkidBuffer {
    let fields: [(name: String, width: Int, signed: Bool)]
    let mainValid: Expr
    let skidValid: Expr
    let main: [Expr]
    let skid: [Expr]
    unowned let module: Module

    init(_ m: Module, _ prefix: String, fields: [(name: String, width: Int, signed: Bool)]) {
        self.fields = fields
        module = m
        mainValid = m.reg("\(prefix)_valid_q", width: 1, reset: 0)
        skidValid = m.reg("\(prefix)_skid_valid", width: 1, reset: 0)
        main = fields.map { m.reg("\(prefix)_\($0.name)_q", width: $0.width, signed: $0.signed) }
        skid = fields.map { m.reg("\(prefix)_skid_\($0.name)", width: $0.width, signed: $0.signed) }
    }

    /// The producer may enqueue this cycle (a register).
    var ready: Expr { ~skidValid }
    /// The stream's valid (a register).
    var valid: Expr { mainValid }
    /// The stream's payload (registers), in `fields` order.
    var payload: [Expr] { main }

    /// `enqueue` must only be high when `ready` is; `payload` matches `fields`.
    func connect(enqueue: Expr, payload: [Expr], consumerReady: Expr) {
        precondition(payload.count == fields.count)
        let m = module
        // The main register is free after this edge if it is empty or being taken.
        let mainFree = ~mainValid | consumerReady
        m.next(mainValid, mux(mainFree, skidValid | enqueue, .const(1, width: 1)))
        m.next(skidValid, mux(mainFree, .const(0, width: 1), skidValid | enqueue))
        let loadMain = mainFree & (skidValid | enqueue)
        let loadSkid = ~mainFree & enqueue
        for (j, p) in payload.enumerated() {
            m.next(main[j], mux(skidValid, skid[j], p), enable: loadMain)
            m.next(skid[j], p, enable: loadSkid)
        }
    }
}
