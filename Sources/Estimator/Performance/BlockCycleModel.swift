import Description
import HDL
import Blocks

/// What the cycle model needs to know about one generated QKFormer block
/// (`makeQKFormerBlock`): its attention (QKTA or QKCA), its MLP and the credit limits of its
/// two SEW residuals.
public struct BlockShape: Sendable, Hashable {
    public var attention: AcceleratorShape
    public var mlp: MLPShape
    /// Vectors the attention residual admits and has not yet joined (`V1`: 4 with QKTA,
    /// `N*T + 3` with QKCA).
    public var attentionCredits: Int
    /// The same around the MLP (`V2`).
    public var mlpCredits: Int

    public init(attention: AcceleratorShape, mlp: MLPShape, attentionCredits: Int, mlpCredits: Int) {
        self.attention = attention
        self.mlp = mlp
        self.attentionCredits = attentionCredits
        self.mlpCredits = mlpCredits
    }

    /// The shape of the block `makeQKFormerBlock(c)` generates, serving `tokens` tokens per
    /// sample (with QKCA, the tokens are the attention's).
    public init(block c: QKFormerBlockConfig, tokens: Int) throws {
        let att: AcceleratorShape
        switch c.attention {
        case .token(let q): att = try AcceleratorShape(qkta: q, tokens: tokens)
        case .channel(let q): att = try AcceleratorShape(qkca: q)
        case .selfAttention:
            throw BlockError("the cycle model of a QKFormer block covers QKTA and QKCA; an SSA block has no cycle model yet")
        }
        self.init(attention: att, mlp: MLPShape(mlp: c.mlp, tokens: att.tokens),
                  attentionCredits: c.attentionResidual.vectorsInFlight, mlpCredits: c.mlpResidual.vectorsInFlight)
    }

    /// Beats per vector on every stream between the block's parts, `ceil(C/K)`.
    public var beats: Int { mlp.inputBeats }
    public var vectorsPerSample: Int { attention.vectorsPerSample }
}

/// The events of one vector through the block: the attention's (block input, `X'`) and the
/// MLP's (`x1 = x + Attn(x)`, fc1 spikes).
public struct BlockVectorEvents: Sendable, Hashable {
    public var attention: VectorEvents
    public var mlp: MLPVectorEvents
    public init(attention: VectorEvents, mlp: MLPVectorEvents) {
        self.attention = attention
        self.mlp = mlp
    }
}

/// The cycle model of the generated QKFormer block with no stalls on either stream, from the
/// events of each vector. The attention and the MLP are the models of their own blocks
/// (`QKTATimeline` or the QKCA passes of `CycleModel`, and `MLPTimeline`), joined vector by
/// vector through the two residuals:
///
/// - The attention residual joins each attention output beat with the FIFO's copy of the input,
///   one beat per cycle, and forwards `x1` to the MLP residual, which forks it into the MLP; so
///   the MLP's input beats arrive when they are joined. A vector enters the MLP only while
///   fewer than `V2` vectors are in the MLP and not yet joined behind it.
/// - The MLP residual joins one `K`-count beat per cycle: a branch beat of `P` spikes serves
///   `P/K` output beats, so a vector leaves no faster than `ceil(C/K)` cycles.
/// - With QKCA, pass 1 of a sample admits a vector only while fewer than `V1 = N*T + 3`
///   vectors are admitted and not joined, and pass 2 cannot run more than `attentionSlack`
///   vectors ahead of the join.
///
/// The join latency and the QKCA slack were read from the residual and the QKCA sources before
/// any block was simulated; `BlockCyclesVsSimulationTests` checks them on calibration and
/// held-out configs (docs/estimate-cycles.md).
public struct BlockCycleModel: Sendable {
    public let shape: BlockShape
    public init(_ shape: BlockShape) { self.shape = shape }

    /// Cycles from an attention output beat (or an MLP output beat) to its joined beat leaving
    /// the residual.
    let joinLatency = 2
    /// Pass-2 vectors of QKCA that may be ahead of the attention residual's join.
    let attentionSlack = 2

    /// Cycles to stream `samples` (each `N*T` vectors in stream order) through the block back
    /// to back, from reset to the last output beat: what a co-simulation without stalls measures.
    public func runCycles(_ samples: [[BlockVectorEvents]]) -> Int {
        (run(samples).last ?? 0) + 1
    }

    /// Steady-state cycles per sample (no fill): the second of two back-to-back copies.
    public func cyclesPerSample(_ sample: [BlockVectorEvents]) -> Int {
        let ends = run([sample, sample])
        let n = sample.count
        return ends[2 * n - 1] - ends[n - 1]
    }

    /// The cycle of each vector's last output beat.
    func run(_ samples: [[BlockVectorEvents]]) -> [Int] {
        switch shape.attention.mask {
        case .token: return runToken(samples.flatMap { $0 })
        case .channel: return runChannel(samples)
        }
    }

    /// The MLP half: takes each vector's attention output time, returns its joined output time.
    struct MLPHalf {
        let shape: BlockShape
        let joinLatency: Int
        var mlp: MLPTimeline
        var join1: [Int] = []
        var join2: [Int] = []
        init(_ shape: BlockShape, joinLatency: Int) {
            self.shape = shape
            self.joinLatency = joinLatency
            mlp = MLPTimeline(shape.mlp)
        }

        /// Vector `v` whose last attention output beat leaves at `attentionOut`.
        mutating func push(_ v: MLPVectorEvents, attentionOut: Int) {
            let B = shape.beats, G2 = shape.mlp.groups, i = join2.count
            var first = max(attentionOut - (B - 1) + joinLatency, (join1.last ?? MLPTimeline.never) + 1)
            if i >= shape.mlpCredits { first = max(first, join2[i - shape.mlpCredits] + 1) }
            let arrivals = (0..<B).map { first + $0 }
            join1.append(arrivals[B - 1])
            let out = mlp.push(v, arrivals: arrivals)
            // The join serves B beats from G2 branch beats, one per cycle.
            join2.append(max(out + (B - G2) + joinLatency, (join2.last ?? MLPTimeline.never) + B))
        }
    }

    func runToken(_ vectors: [BlockVectorEvents]) -> [Int] {
        let a = shape.attention
        var att = QKTATimeline(CycleModel(a))
        var half = MLPHalf(shape, joinLatency: joinLatency)
        var attOut = MLPTimeline.never
        for v in vectors {
            att.push(v.attention)
            attOut = max(att.projDone + a.groups + 4 + a.lifExtraLatency, attOut + a.groups)
            half.push(v.mlp, attentionOut: attOut)
        }
        return half.join2
    }

    func runChannel(_ samples: [[BlockVectorEvents]]) -> [Int] {
        let a = shape.attention, m = CycleModel(a), G = a.groups
        var half = MLPHalf(shape, joinLatency: joinLatency)
        var in1 = -1, end2 = 0
        var global = 0
        for s in samples {
            // Pass 1: one vector after another, each admitted under the residual's credit.
            for v in s {
                var start = in1
                let back = global - shape.attentionCredits
                if back >= 0 { start = max(start, half.join1[back] + 1) }
                in1 = start + max(m.inputStage(v.attention), G)
                global += 1
            }
            let end1 = max(in1, end2)
            var out = max(end1 + m.maskCycles + m.passLatency, end2)
            // Pass 2: each vector's projection, no more than `attentionSlack` vectors ahead of the join.
            let base = global - s.count
            for (u, v) in s.enumerated() {
                let back = base + u - attentionSlack
                if back >= 0 && back < half.join1.count { out = max(out, half.join1[back]) }
                out += max(m.projectionStage(v.attention), G)
                half.push(v.mlp, attentionOut: out + m.passLatency)
            }
            end2 = out
            in1 = end1
        }
        return half.join2
    }
}
