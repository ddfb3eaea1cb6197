import HDL

/// A two-entry register slice between a producer ("up") and a consumer ("down"): both
/// `upReady` and `downValid` come straight from registers, so neither side sees a combinational
/// path through it, and it still moves one beat per cycle. The second entry (the skid) catches
/// the beat that arrives in the cycle the consumer stalls.
///
/// Built in two steps because the logic that feeds it usually needs `upReady` first: `init`
/// makes the registers, `drive` connects the producer and the consumer's ready.
final class SkidBuffer {
    let name: String
    let fields: [StreamField]
    /// The producer may transfer this cycle (a register: the skid entry is empty).
    let upReady: Expr
    /// The consumer's view: a register.
    let downValid: Expr
    /// The consumer's view, one register per field.
    let downPayload: [Expr]

    private unowned let module: Module
    private let skidValid: Expr
    private let skid: [Expr]
    /// Whether the skid entry's data copies the producer whenever the entry is empty (its
    /// enable is then `upReady`, a register) rather than only when a beat parks (a gate on
    /// the consumer's ready): for a wide entry whose enable would otherwise be on a critical
    /// path (the pipelined LIF bank's input).
    private let loadsWhenEmpty: Bool
    /// With `readyRegister`, `upReady` is a register of its own that always equals
    /// `!skidValid` (reset 1), rather than an inverter of `skidValid`: where `upReady` enables
    /// many flops (the pipelined LIF bank's shift), Yosys' `synth_xilinx` puts one INV in front of
    /// every flop whose clock enable is an inverted signal; one flop more avoids all of them.
    private let readyRegister: Expr?

    init(_ m: Module, _ name: String, fields: [StreamField], loadsWhenEmpty: Bool = false, readyRegister: Bool = false) {
        self.module = m
        self.loadsWhenEmpty = loadsWhenEmpty
        self.name = name
        self.fields = fields
        downValid = m.reg("\(name)_valid", width: 1, reset: 0)
        downPayload = fields.map { m.reg("\(name)_\($0.name)", width: $0.width, signed: $0.isSigned) }
        skidValid = m.reg("\(name)_skid_valid", width: 1, reset: 0)
        skid = fields.map { m.reg("\(name)_skid_\($0.name)", width: $0.width, signed: $0.isSigned) }
        if readyRegister {
            let r = m.reg("\(name)_ready", width: 1, reset: 1)
            self.readyRegister = r
            upReady = r
        } else {
            self.readyRegister = nil
            upReady = m.wire("\(name)_up_ready", ~skidValid)
        }
    }

    /// `upValid`/`upPayload`: the producer's beat (it transfers when `upValid && upReady`);
    /// `downReady`: the consumer takes `downPayload` when `downValid && downReady`. Returns when
    /// the output entry loads (`load`) and what it loads (`incoming`, per field: the skid entry
    /// if it holds a beat, else the producer's), for logic that follows the beat into the entry.
    @discardableResult
    func drive(upValid: Expr, upPayload: [Expr], downReady: Expr) -> (load: Expr, incoming: [Expr]) {
        let m = module
        precondition(upPayload.count == fields.count, "skid buffer \(name): \(upPayload.count) payload values for \(fields.count) fields")
        let upFire = m.wire("\(name)_up_fire", upValid & upReady)
        // The output entry is free, or empties this cycle: refill it, from the skid first.
        let load = m.wire("\(name)_load", downReady | ~downValid)
        m.next(downValid, mux(load, skidValid | upFire, downValid))
        let incoming = downPayload.indices.map { i in mux(skidValid, skid[i], upPayload[i]) }
        for (i, r) in downPayload.enumerated() {
            m.next(r, incoming[i], enable: load)
        }
        // A beat that arrives while the output entry is stuck waits in the skid entry. With
        // `loadsWhenEmpty` the entry's data copies the producer whenever the entry is empty
        // and only its valid bit says whether the copy is a parked beat.
        m.next(skidValid, mux(load, .const(0, width: 1), skidValid | upFire))
        if let r = readyRegister { m.next(r, mux(load, .const(1, width: 1), ~(skidValid | upFire))) }
        let park = loadsWhenEmpty ? upReady : m.wire("\(name)_park", upFire & ~load)
        for (i, r) in skid.enumerated() {
            m.next(r, upPayload[i], enable: park)
        }
        return (load, incoming)
    }
}

/// Marks the last beat of a vector without knowing in advance which beat that is.
///
/// A producer (the event encoder, the per-head split) offers tokens: a beat of data, an end of
/// vector, or both. A data beat is held back one token until the next token says whether it
/// was the last: another data beat means "not last", an end means "last" (a beat that ends its
/// vector and finds the hold empty goes straight out). A vector with no data
/// at all becomes one empty beat (all fields zero) with `last` set, so the consumer still sees
/// the vector end. The output is a `SkidBuffer`, so `out.downValid` and the payload are
/// registers, and the hold never waits on the consumer combinationally.
///
/// Every token costs at most one output beat, so tokens flow at one per cycle while the
/// consumer keeps up. Token rules (`hasData`, `end`): data-only, data-and-end, or end-only;
/// never neither.
final class LastLookahead {
    let name: String
    let fields: [StreamField]
    /// Fields, then `last`.
    let out: SkidBuffer

    private unowned let module: Module
    private let holdValid: Expr
    private let holdFinal: Expr
    private let hold: [Expr]

    init(_ m: Module, _ name: String, fields: [StreamField]) {
        self.module = m
        self.name = name
        self.fields = fields
        out = SkidBuffer(m, "\(name)_out", fields: fields + [StreamField("last", width: 1)])
        holdValid = m.reg("\(name)_hold_valid", width: 1, reset: 0)
        // The held beat is known to be the last of its vector: it leaves on the next free slot.
        holdFinal = m.reg("\(name)_hold_final", width: 1, reset: 0)
        hold = fields.map { m.reg("\(name)_hold_\($0.name)", width: $0.width, signed: $0.isSigned) }
    }

    /// Whether a token of this kind would be taken this cycle. Depends on registers and the
    /// token's kind only.
    func ready(hasData: Expr, end: Expr) -> Expr {
        let canLoad = out.upReady
        return mux(holdValid, canLoad, (hasData & ~end) | canLoad)
    }

    /// `take`: the token is transferred this cycle (the caller checked `ready`).
    func drive(take: Expr, hasData: Expr, end: Expr, payload: [Expr], downReady: Expr) {
        let m = module
        precondition(payload.count == fields.count, "last lookahead \(name): \(payload.count) payload values for \(fields.count) fields")
        let canLoad = out.upReady
        let drainFinal = holdValid & holdFinal & canLoad
        let pushHeld = m.wire("\(name)_push_held", drainFinal | (take & holdValid & ~holdFinal))
        let pushToken = m.wire("\(name)_push_token", take & ~holdValid & (~hasData | end))
        // A data token waits in the hold unless it goes straight out; an empty end that
        // arrives while a final beat leaves takes its place, so every token costs at most one
        // output beat and the stream never loses a cycle.
        let loadHold = m.wire("\(name)_load_hold",
                              take & ((hasData & (holdValid | ~end)) | (~hasData & holdValid & holdFinal)))

        var upPayload: [Expr] = []
        for (i, f) in fields.enumerated() {
            let zero = Expr.const(0, width: f.width, signed: f.isSigned)
            upPayload.append(mux(pushHeld, hold[i], mux(hasData, payload[i], zero)))
        }
        // A held beat is the last when it was marked final or the token that pushes it out is
        // an end without data; a token that goes straight out always ends its vector.
        upPayload.append(mux(pushHeld, holdFinal | ~hasData, .const(1, width: 1)))
        out.drive(upValid: pushHeld | pushToken, upPayload: upPayload, downReady: downReady)

        m.next(holdValid, mux(loadHold, .const(1, width: 1), mux(pushHeld, .const(0, width: 1), holdValid)))
        m.next(holdFinal, end, enable: loadHold)
        for (i, r) in hold.enumerated() {
            let zero = Expr.const(0, width: fields[i].width, signed: fields[i].isSigned)
            m.next(r, mux(hasData, payload[i], zero), enable: loadHold)
        }
    }
}
