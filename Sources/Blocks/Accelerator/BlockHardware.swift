import Description
import HDL

/// The generator's choices for a block description: how wide each part runs, and where the
/// LIF state lives. Not part of what the block computes.
public struct Folding: Hashable, Sendable {
    /// `P`, the lanes of the attention's accumulators (and of an MLP alone).
    public var lanes: Int
    /// fc2's lanes inside a QKFormer block; nil: `defaultMLPLanes`.
    public var mlpLanes: Int?
    /// fc1's lanes; nil: twice fc2's inside a block (at most 256), the MLP's own default alone.
    public var hiddenLanes: Int?
    public var storage: LIFStateStorage
    /// Extra vectors each residual admits beyond its branch's window.
    public var vectorsInFlight: Int
    /// Counts per input beat of an attention or MLP alone; nil: the block's default (inside a
    /// QKFormer block it is always `min(P, C)`).
    public var inputChunk: Int?
    /// Sample buffers of a two-pass attention (SSA's `S` banks): 2 overlaps the first pass of the
    /// next sample with the second pass of this one, 1 saves the second buffer.
    public var sampleBuffers: Int

    public init(lanes: Int, mlpLanes: Int? = nil, hiddenLanes: Int? = nil, storage: LIFStateStorage = .auto,
                vectorsInFlight: Int = 4, inputChunk: Int? = nil, sampleBuffers: Int = 2) {
        (self.lanes, self.mlpLanes, self.hiddenLanes, self.storage, self.vectorsInFlight) = (lanes, mlpLanes, hiddenLanes, storage, vectorsInFlight)
        (self.inputChunk, self.sampleBuffers) = (inputChunk, sampleBuffers)
    }
}

/// The default fc2 lanes of a block's MLP: `mlpRatio * P`, so that fc2, which reads the
/// `mlpRatio * C` hidden spikes, takes about as many cycles per vector as the attention's
/// accumulators; at most 256 and a multiple of `K = min(P, C)` (at least `K`), and at most `C`:
/// more lanes than fc2 has outputs would idle (a small block, C = 12 at P = 7, had 28). With fc1 at twice
/// that, the stage-1 block of hst-4-384 (P = 12) runs 4x faster than with the attention's P
/// everywhere and its lane utilisation doubles (0.30 -> 0.64, `QKFormerBlockSoakTests`).
public func defaultMLPLanes(lanes: Int, channels: Int, mlpRatio: Int) -> Int {
    min(channels, defaultMLPPace(lanes: lanes, channels: channels, mlpRatio: mlpRatio))
}

/// The default fc1 (hidden) lanes of a block's MLP: twice fc2's pace, at most 256 and at most the
/// hidden width `mlpRatio * C` (where fc2 is clamped to `C`, fc1 keeps the pace it would have had).
public func defaultHiddenLanes(lanes: Int, channels: Int, mlpRatio: Int) -> Int {
    min(256, 2 * defaultMLPPace(lanes: lanes, channels: channels, mlpRatio: mlpRatio), mlpRatio * channels)
}

/// `mlpRatio * P` rounded down to a multiple of `K = min(P, C)` (at least `K`), at most 256.
func defaultMLPPace(lanes: Int, channels: Int, mlpRatio: Int) -> Int {
    let k = min(lanes, channels)
    return max(k, min(256, lanes * mlpRatio) / k * k)
}

extension SpikingLayerWeights {
    /// The generator's form of a described layer: QKFormer's LIF on the finest grid of the
    /// layer, with a per-channel threshold `2^(Fw + E)` where the channels' grids differ.
    public init(_ l: SpikingLayer) throws {
        func narrow(_ v: Int64) throws -> Int {
            guard abs(v) < 1 << 48 else {
                throw BlockError("layer \(l.name): a quantized value \(v) is too wide for the generator (48 bits); lower weightBits or check the tensors")
            }
            return Int(v)
        }
        let e = l.decayFractionBits
        self.init(weights: try l.weights.map { try $0.map(narrow) }, bias: try l.bias.map(narrow),
                  neuron: .qkformer(weightFractionBits: l.fractionBits.max()!, extraFractionBits: e),
                  thresholds: l.uniformGrid ? nil : l.fractionBits.map { 1 << ($0 + e) })
    }
}

/// The hardware of one block description: the configs of its parts, folded, and the module.
/// The description's composition maps onto the generator's blocks here and nowhere else.
public struct BlockHardware: Sendable {
    /// How the parts are built.
    public enum Structure: Hashable, Sendable {
        /// A Q-K attention alone (QKTA or QKCA).
        case attention(BlockAttention)
        /// An MLP alone.
        case mlp(MLPConfig)
        /// `x1 = x + Attn(x)`, `x2 = x1 + MLP(x1)`.
        case qkformerBlock(QKFormerBlockConfig)
    }

    public let block: BlockDescription
    public let folding: Folding
    public private(set) var structure: Structure

    public init(_ d: BlockDescription, folding f: Folding) throws {
        block = d
        folding = f
        let c = d.config
        let stem = "\((c.model ?? "custom").replacingOccurrences(of: "-", with: "_"))_s\(c.stage)"
        func attention(_ mask: AttentionMask, _ heads: Int, _ q: SpikingLayer, _ k: SpikingLayer, _ p: SpikingLayer,
                       inputChunk: Int?) throws -> BlockAttention {
            let name = "\(mask == .token ? "qkta" : "qkca")_\(stem)"
            let qkta = QKTAConfig(channels: d.input.channels, heads: heads, timeSteps: d.input.timeSteps, lanes: f.lanes,
                                  inputChunk: inputChunk, maxInputCount: d.input.maxCount, q: try SpikingLayerWeights(q),
                                  k: try SpikingLayerWeights(k), proj: try SpikingLayerWeights(p), storage: f.storage, name: name)
            return mask == .token ? .token(qkta) : .channel(QKCAConfig(qkta, tokens: d.input.tokens, name: name))
        }
        func selfAttention(_ heads: Int, _ q: SpikingLayer, _ k: SpikingLayer, _ v: SpikingLayer, _ p: SpikingLayer,
                           inputChunk: Int?) throws -> BlockAttention {
            .selfAttention(SSAConfig(channels: d.input.channels, heads: heads, timeSteps: d.input.timeSteps, tokens: d.input.tokens,
                                     lanes: f.lanes, inputChunk: inputChunk, maxInputCount: d.input.maxCount,
                                     q: try SpikingLayerWeights(q), k: try SpikingLayerWeights(k), v: try SpikingLayerWeights(v),
                                     proj: try SpikingLayerWeights(p), storage: f.storage, sBanks: f.sampleBuffers, name: "ssa_\(stem)"))
        }
        switch d.body {
        case .attention(let mask, let heads, let q, let k, let p):
            structure = .attention(try attention(mask, heads, q, k, p, inputChunk: f.inputChunk))
        case .selfAttention(let heads, let q, let k, let v, let p):
            structure = .attention(try selfAttention(heads, q, k, v, p, inputChunk: f.inputChunk))
        case .mlp(let fc1, let fc2):
            structure = .mlp(MLPConfig(channels: d.input.channels, hidden: fc1.outputs, timeSteps: d.input.timeSteps,
                                       lanes: f.lanes, hiddenLanes: f.hiddenLanes, inputChunk: f.inputChunk ?? min(f.lanes, d.input.channels),
                                       maxInputCount: d.input.maxCount, fc1: try SpikingLayerWeights(fc1),
                                       fc2: try SpikingLayerWeights(fc2), storage: f.storage, name: "mlp_\(stem)"))
        case .chain(let parts):
            let C = d.input.channels, K = min(f.lanes, C)
            guard parts.count == 2, case .residual(let first) = parts[0], case .residual(.mlp(let fc1, let fc2)) = parts[1] else {
                throw BlockError("the generator builds a chain only as a QKFormer block (x + Attn(x), then x1 + MLP(x1)); this chain has \(parts.map(\.name))")
            }
            let att: BlockAttention
            switch first {
            case .attention(let mask, let heads, let q, let k, let p): att = try attention(mask, heads, q, k, p, inputChunk: K)
            case .selfAttention(let heads, let q, let k, let v, let p): att = try selfAttention(heads, q, k, v, p, inputChunk: K)
            default:
                throw BlockError("the first residual of a QKFormer block holds an attention, not \(first.name)")
            }
            let fc2Lanes = f.mlpLanes ?? defaultMLPLanes(lanes: f.lanes, channels: C, mlpRatio: max(1, fc1.outputs / C))
            let mlp = MLPConfig(channels: C, hidden: fc1.outputs, timeSteps: d.input.timeSteps, lanes: fc2Lanes,
                                hiddenLanes: f.hiddenLanes ?? min(fc1.outputs, f.mlpLanes.map { min(256, 2 * $0) }
                                    ?? defaultHiddenLanes(lanes: f.lanes, channels: C, mlpRatio: max(1, fc1.outputs / C))),
                                inputChunk: K,
                                maxInputCount: d.input.maxCount + 1, fc1: try SpikingLayerWeights(fc1),
                                fc2: try SpikingLayerWeights(fc2), storage: f.storage, name: "mlp_\(stem)")
            let block = QKFormerBlockConfig(attention: att, mlp: mlp, vectorsInFlight: f.vectorsInFlight, name: "qkformer_block_\(stem)")
            try block.validate()
            structure = .qkformerBlock(block)
        case .conv, .fork:
            throw BlockError("a convolution or patch embedding is built by the network generator, not as a block")
        case .residual:
            throw BlockError("the generator builds a residual only inside a QKFormer block; describe the block as a chain of the attention residual and the MLP residual")
        }
    }

    /// The top module.
    public func makeModule() throws -> Module {
        switch structure {
        case .attention(let a): try a.make()
        case .mlp(let m): try makeMLP(m)
        case .qkformerBlock(let b): try makeQKFormerBlock(b)
        }
    }

    public var inputFormat: CountStreamFormat {
        switch structure {
        case .attention(let a): a.inputFormat
        case .mlp(let m): m.inputFormat
        case .qkformerBlock(let b): b.inputFormat
        }
    }

    public var outputFormat: CountStreamFormat {
        switch structure {
        case .attention(let a): a.outputFormat
        case .mlp(let m): m.outputFormat
        case .qkformerBlock(let b): b.outputFormat
        }
    }
}

extension BlockAttention {
    /// `s_axis`: `inputChunk` counts per beat.
    public var inputFormat: CountStreamFormat {
        switch self {
        case .token(let c): CountStreamFormat(channels: c.channels, lanes: c.inputChunk, countWidth: c.countWidth, timeSteps: c.timeSteps)
        case .channel(let c): CountStreamFormat(channels: c.channels, lanes: c.inputChunk, countWidth: c.countWidth, timeSteps: c.timeSteps)
        case .selfAttention(let c): CountStreamFormat(channels: c.channels, lanes: c.inputChunk, countWidth: c.countWidth, timeSteps: c.timeSteps)
        }
    }

    /// `m_axis`: spikes, `min(P, C)` per beat.
    public var outputFormat: CountStreamFormat {
        CountStreamFormat(channels: channels, lanes: min(lanes, channels), countWidth: 1, timeSteps: timeSteps)
    }
}

extension BlockHardware {
    /// The lanes of each spiking layer's accumulator, in the order of `Part.layers`.
    public var layerLanes: [Int] {
        switch structure {
        case .attention(let a): Array(repeating: a.lanes, count: a.layerCount)
        case .mlp(let m): [m.hiddenLanes, m.lanes]
        case .qkformerBlock(let b):
            Array(repeating: b.attention.lanes, count: b.attention.layerCount) + [b.mlp.hiddenLanes, b.mlp.lanes]
        }
    }
}

extension BlockHardware {
    /// The same hardware with QKCA's channel-mask circuit `form` (nothing changes otherwise).
    public func withAttentionForm(_ form: AttentionForm) -> BlockHardware {
        guard case .attention(.channel(var c)) = structure, c.attentionForm != form else { return self }
        c.attentionForm = form
        var h = self
        h.structure = .attention(.channel(c))
        return h
    }
}
