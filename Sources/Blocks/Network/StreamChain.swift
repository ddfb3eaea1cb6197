import HDL

/// Modules with count-stream ports (`s_axis_*` in, `m_axis_*` out, `s_axis_error`) one after
/// another: each stage's `m_axis` drives the next stage's `s_axis` directly (valid/ready, no
/// buffering added), the chain's ports are the first stage's `s_axis` and the last stage's
/// `m_axis`, and its `s_axis_error` is any stage's.
///
/// The formats must agree where two stages meet (`CountStreamFormat.check(feeds:)`); the
/// caller passes them so that a mismatch is named, never wired.
public func makeStreamChain(_ name: String, doc: String, stages: [(module: Module, input: CountStreamFormat, output: CountStreamFormat)]) throws -> Module {
    guard let first = stages.first, let lastStage = stages.last else { throw BlockError("a chain needs at least one stage") }
    for (a, b) in zip(stages, stages.dropFirst()) {
        try a.output.check(feeds: b.input, a.module.name, b.module.name)
    }
    func port(_ m: Module, _ p: String) throws -> Int {
        guard let s = m.ports.first(where: { $0.name == p }) else { throw BlockError("\(m.name) has no port \(p); a chain stage needs count-stream ports") }
        return s.width
    }
    let m = Module(name, doc: """
        \(doc)
        Stages, in stream order: \(stages.map(\.module.name).joined(separator: " -> ")).
        Input stream s_axis: \(first.input) (as \(first.module.name) takes it).
        Output stream m_axis: \(lastStage.output) (as \(lastStage.module.name) gives it).
        Both follow docs/formats.md: tokens in order, the T time steps of a token innermost; tlast ends a vector,
        tuser[1] marks the first beat of a token and tuser[0] the first beat of a time step.
        s_axis_error (sticky): any stage saw a malformed input.
        \(streamBlockConventions(memories: true))
        """)
    let sValid = m.input("s_axis_tvalid", width: 1)
    let sData = m.input("s_axis_tdata", width: try port(first.module, "s_axis_tdata"))
    let sLast = m.input("s_axis_tlast", width: 1)
    let sUser = m.input("s_axis_tuser", width: 2)
    let mReady = m.input("m_axis_tready", width: 1)
    var valid = sValid, data = sData, last = sLast, user = sUser
    var readyTarget: Instance? = nil
    var error: Expr? = nil
    var sReady: Expr? = nil
    for (i, s) in stages.enumerated() {
        let u = m.instance(s.module, "u_\(i)_\(s.module.name)")
        u.connect("s_axis_tvalid", valid)
        u.connect("s_axis_tdata", data)
        u.connect("s_axis_tlast", last)
        u.connect("s_axis_tuser", user)
        if let prev = readyTarget { prev.connect("m_axis_tready", u.output("s_axis_tready")) } else { sReady = u.output("s_axis_tready") }
        error = error.map { $0 | u.output("s_axis_error") } ?? u.output("s_axis_error")
        valid = u.output("m_axis_tvalid")
        data = u.output("m_axis_tdata")
        last = u.output("m_axis_tlast")
        user = u.output("m_axis_tuser")
        readyTarget = u
    }
    readyTarget!.connect("m_axis_tready", mReady)
    m.output("s_axis_tready", sReady!)
    m.output("s_axis_error", error!)
    m.output("m_axis_tvalid", valid)
    m.output("m_axis_tdata", data)
    m.output("m_axis_tlast", last)
    m.output("m_axis_tuser", user)
    return m
}
