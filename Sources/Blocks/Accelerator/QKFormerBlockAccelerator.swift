import HDL

/// The attention half of a QKFormer block.
public enum BlockAttention: Hashable, Sendable {
    /// QKTA: token-local, so the block's state is O(C) for any N.
    case token(QKTAConfig)
    /// QKCA: the channel mask needs a whole sample (`N * T` vectors) before the first output.
    case channel(QKCAConfig)
    /// SSA: `S = K^T V` needs a whole sample (`N * T` vectors) before the first output.
    case selfAttention(SSAConfig)

    private var shape: any AttentionShape {
        switch self { case .token(let c): c; case .channel(let c): c; case .selfAttention(let c): c }
    }
    var channels: Int { shape.channels }
    var timeSteps: Int { shape.timeSteps }
    var lanes: Int { shape.lanes }
    var inputChunk: Int { shape.inputChunk }
    var maxInputCount: Int { shape.maxInputCount }
    /// Vectors it must take before it emits the first of them.
    var window: Int {
        switch self {
        case .token: 1
        case .channel(let c): c.tokens * c.timeSteps
        case .selfAttention(let c): c.tokens * c.timeSteps
        }
    }
    /// Its spiking layers: Q, K, (V,) proj.
    public var layerCount: Int { if case .selfAttention = self { 4 } else { 3 } }
    /// `qkta`, `qkca` or `ssa`.
    var kind: String { switch self { case .token: "qkta"; case .channel: "qkca"; case .selfAttention: "ssa" } }
    func make() throws -> Module {
        switch self {
        case .token(let c): try makeQKTA(c)
        case .channel(let c): try makeQKCA(c)
        case .selfAttention(let c): try makeSSA(c)
        }
    }
}

/// One QKFormer block (docs/arithmetic.md §6): `x1 = x + Attn(x)`, `x2 = x1 + MLP(x1)`, with two
/// SEW residual adds (docs/arithmetic.md §5). Every stream inside carries `K = min(P, C)`
/// counts per beat, so the attention, the MLP and both residual FIFOs line up beat for beat.
public struct QKFormerBlockConfig: Hashable, Sendable {
    /// Its `maxInputCount` is the block's; its `inputChunk` must be `min(lanes, C)`.
    public var attention: BlockAttention
    /// Reads `x1`: `maxInputCount` one more than the attention's, `inputChunk` as the attention's.
    public var mlp: MLPConfig
    /// Extra vectors each residual admits beyond its branch's window (overlap of the branch
    /// pipeline; each costs one vector of FIFO).
    public var vectorsInFlight: Int
    public var name: String

    public init(attention: BlockAttention, mlp: MLPConfig, vectorsInFlight: Int = 4, name: String = "qkformer_block") {
        self.attention = attention
        self.mlp = mlp
        self.vectorsInFlight = vectorsInFlight
        self.name = name
    }

    public var channels: Int { attention.channels }
    public var timeSteps: Int { attention.timeSteps }
    public var maxInputCount: Int { attention.maxInputCount }
    /// Counts per beat everywhere in the block.
    public var lanes: Int { attention.inputChunk }

    /// `x1 = x + Attn(x)`.
    public var attentionResidual: ResidualConfig {
        ResidualConfig(channels: channels, timeSteps: timeSteps, lanes: lanes, maxInputCount: maxInputCount,
                       branchLanes: attention.lanes, branchWindow: attention.window,
                       vectorsInFlight: attention.window + vectorsInFlight - 1, name: "\(name)_res_attn")
    }
    /// `x2 = x1 + MLP(x1)`.
    public var mlpResidual: ResidualConfig {
        ResidualConfig(channels: channels, timeSteps: timeSteps, lanes: lanes, maxInputCount: maxInputCount + 1,
                       branchLanes: mlp.lanes, branchWindow: 1, vectorsInFlight: vectorsInFlight, name: "\(name)_res_mlp")
    }
    public var inputFormat: CountStreamFormat { attentionResidual.inputFormat }
    /// Counts `0...maxInputCount + 2`.
    public var outputFormat: CountStreamFormat { mlpResidual.outputFormat }

    public func validate() throws {
        guard vectorsInFlight >= 1 else { throw BlockError("vectorsInFlight is \(vectorsInFlight); give at least 1") }
        guard attention.inputChunk == min(attention.lanes, channels) else {
            throw BlockError("the attention takes \(attention.inputChunk) channels per beat; inside a block it must take min(lanes, C) = \(min(attention.lanes, channels))")
        }
        guard mlp.channels == channels, mlp.timeSteps == timeSteps else {
            throw BlockError("the MLP has C = \(mlp.channels), T = \(mlp.timeSteps) but the attention C = \(channels), T = \(timeSteps); both halves of a block have the same C and T")
        }
        guard mlp.maxInputCount == maxInputCount + 1 else {
            throw BlockError("the MLP reads x1 = x + Attn(x), counts up to \(maxInputCount + 1); set its maxInputCount to \(maxInputCount + 1), not \(mlp.maxInputCount)")
        }
        guard mlp.inputChunk == lanes else {
            throw BlockError("the MLP takes \(mlp.inputChunk) channels per beat; inside a block it must take \(lanes), as the attention")
        }
        try attentionResidual.outputFormat.check(feeds: mlpResidual.inputFormat, "the attention residual", "the MLP residual")
    }
}

/// Builds the QKFormer block: the attention residual feeding the MLP residual.
public func makeQKFormerBlock(_ c: QKFormerBlockConfig) throws -> Module {
    try c.validate()
    let r1 = c.attentionResidual, r2 = c.mlpResidual
    let res1 = try makeResidual(r1, branch: try c.attention.make())
    let res2 = try makeResidual(r2, branch: try makeMLP(c.mlp))
    let kind = c.attention.kind
    let inF = c.inputFormat, outF = c.outputFormat
    let m = Module("\(c.name)_\(kind)_c\(c.channels)_t\(c.timeSteps)_p\(c.attention.lanes)", doc: """
        QKFormer block (docs/arithmetic.md §6), \(kind == "qkta" ? "QKTA (token attention: every state O(C), independent of N)" : kind == "qkca" ? "QKCA (channel attention: buffers a sample)" : "SSA (self-attention: buffers a sample)"):
        x1 = x + Attn(x), x2 = x1 + MLP(x1), SEW residual adds on counts (docs/arithmetic.md §5). Top module of this design.
        Input stream s_axis (one vector per token and time step; tokens in order, the T = \(c.timeSteps) time steps of a
        token innermost; a vector is \(inF.beats) beat(s) of \(inF.lanes) counts of \(inF.countWidth) bit(s), counts 0...\(c.maxInputCount)):
          s_axis_tdata  [\(inF.dataWidth - 1):0]  count of channel beat*\(inF.lanes) + j at bits [j*\(inF.countWidth) +: \(inF.countWidth)]
          s_axis_tlast  last beat of a vector
          s_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        s_axis_error goes high (sticky) if tlast or tuser disagree with the beat count.
        Output stream m_axis (x2: one vector per input vector, same order, \(outF.beats) beat(s) of \(outF.lanes) counts of \(outF.countWidth) bit(s),
        counts 0...\(c.maxInputCount + 2)):
          m_axis_tdata  [\(outF.dataWidth - 1):0]  count of channel beat*\(outF.lanes) + j at bits [j*\(outF.countWidth) +: \(outF.countWidth)]
          m_axis_tlast  last beat of a vector
          m_axis_tuser  [1] first beat of a token, [0] first beat of a time step
        Residual FIFOs: \(r1.fifoDepth) beats around the attention (\(r1.vectorsInFlight) vectors), \(r2.fifoDepth) around the MLP
        (\(r2.vectorsInFlight) vectors); each depth is proven in its residual module's header.
        \(streamBlockConventions(memories: true))
        """)
    m.parameter("channels", c.channels)
    m.parameter("timeSteps", c.timeSteps)
    m.parameter("lanes", c.attention.lanes)
    m.parameter("maxInputCount", c.maxInputCount)
    m.parameter("attention", kind)

    let u1 = m.instance(res1, "u_res_attn")
    let u2 = m.instance(res2, "u_res_mlp")
    for p in ["tvalid", "tdata", "tlast", "tuser"] {
        u1.connect("s_axis_\(p)", m.input("s_axis_\(p)", width: p == "tdata" ? inF.dataWidth : p == "tuser" ? 2 : 1))
        u2.connect("s_axis_\(p)", u1.output("m_axis_\(p)"))
    }
    u1.connect("m_axis_tready", u2.output("s_axis_tready"))
    u2.connect("m_axis_tready", m.input("m_axis_tready", width: 1))
    m.output("s_axis_tready", u1.output("s_axis_tready"))
    m.output("s_axis_error", u1.output("s_axis_error") | u2.output("s_axis_error"))
    for p in ["tvalid", "tdata", "tlast", "tuser"] { m.output("m_axis_\(p)", u2.output("m_axis_\(p)")) }
    return m
}
