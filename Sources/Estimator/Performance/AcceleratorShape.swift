import Description
import HDL
import Blocks

/// Everything the cycle and energy models need to know about one generated QKTA or QKCA block:
/// its size, its folding, and the datapath widths of its memories (for memory-access energy).
///
/// Built from the generator's own config (`init(qkta:)`, `init(qkca:)`) so that the widths are
/// exactly the generated ones, or given directly (`init(mask:channels:...)`) for hand-worked
/// tests and for sizes too large to generate.
public struct AcceleratorShape: Sendable, Hashable {
    /// Token (QKTA) or channel (QKCA) attention.
    public var mask: AttentionMask
    /// `C`.
    public var channels: Int
    /// `h` (QKTA's token mask has one bit per head; QKCA does not use the heads).
    public var heads: Int
    /// `N`, tokens per sample.
    public var tokens: Int
    /// `T`.
    public var timeSteps: Int
    /// `P`.
    public var lanes: Int
    /// Input channels per `s_axis` beat, `K`.
    public var inputChunk: Int
    /// The largest input count (1 for spikes).
    public var maxInputCount: Int
    /// Signed weight bits of the Q, K and projection weight memories (as generated: the widest
    /// weight of the layer).
    public var weightWidth: Int
    /// Signed accumulator bits (the `acc_lane` state RAMs).
    public var accumulatorWidth: Int
    /// Signed membrane bits of the Q, K and projection LIF banks.
    public var membraneWidth: Int
    /// Where the LIF banks keep their membranes.
    public var storage: LIFStateStorage
    /// QKCA only: whether the channel mask is the proven 1-bit OR form (QKFormer's `attn_lif`).
    public var orForm: Bool

    public init(mask: AttentionMask, channels: Int, heads: Int, tokens: Int, timeSteps: Int, lanes: Int,
                inputChunk: Int? = nil, maxInputCount: Int = 1, weightWidth: Int = 8, accumulatorWidth: Int = 16,
                membraneWidth: Int = 16, storage: LIFStateStorage = .auto, orForm: Bool = true) {
        self.mask = mask
        self.channels = channels
        self.heads = heads
        self.tokens = tokens
        self.timeSteps = timeSteps
        self.lanes = lanes
        self.inputChunk = inputChunk ?? QKTAConfig.defaultInputChunk(channels: channels)
        self.maxInputCount = maxInputCount
        self.weightWidth = weightWidth
        self.accumulatorWidth = accumulatorWidth
        self.membraneWidth = membraneWidth
        self.storage = storage
        self.orForm = orForm
    }

    /// The shape of a block's hardware, when the cycle and energy models cover it (an attention
    /// block, QKTA or QKCA); nil otherwise (SSA has its own, `SSACycleModel`).
    public init?(hardware h: BlockHardware) throws {
        guard case .attention(let a) = h.structure else { return nil }
        switch a {
        case .token(let c): try self.init(qkta: c, tokens: h.block.input.tokens)
        case .channel(let c): try self.init(qkca: c)
        case .selfAttention: return nil
        }
    }

    /// The shape of the QKTA block `makeQKTA(c)` generates, serving `tokens` tokens per sample.
    public init(qkta c: QKTAConfig, tokens: Int) throws {
        let (ww, wa, wv) = try Self.widths(q: c.q, k: c.k, proj: c.proj, lanes: c.lanes, maxCount: c.maxInputCount,
                                          channels: c.channels, storage: c.storage)
        self.init(mask: .token, channels: c.channels, heads: c.heads, tokens: tokens, timeSteps: c.timeSteps, lanes: c.lanes,
                  inputChunk: c.inputChunk, maxInputCount: c.maxInputCount, weightWidth: ww, accumulatorWidth: wa,
                  membraneWidth: wv, storage: c.storage, orForm: true)
    }

    /// The shape of the QKCA block `makeQKCA(c)` generates.
    public init(qkca c: QKCAConfig) throws {
        let (ww, wa, wv) = try Self.widths(q: c.q, k: c.k, proj: c.proj, lanes: c.lanes, maxCount: c.maxInputCount,
                                          channels: c.channels, storage: c.storage)
        self.init(mask: .channel, channels: c.channels, heads: c.heads, tokens: c.tokens, timeSteps: c.timeSteps, lanes: c.lanes,
                  inputChunk: c.inputChunk, maxInputCount: c.maxInputCount, weightWidth: ww, accumulatorWidth: wa,
                  membraneWidth: wv, storage: c.storage, orForm: try c.usesOrForm())
    }

    /// The widest weight, accumulator and membrane of the three layers, as the generator sizes them.
    private static func widths(q: SpikingLayerWeights, k: SpikingLayerWeights, proj: SpikingLayerWeights, lanes: Int,
                               maxCount: Int, channels: Int, storage: LIFStateStorage) throws -> (Int, Int, Int) {
        var ww = 1, wa = 1, wv = 1
        for (l, m) in [(q, maxCount), (k, maxCount), (proj, 1)] {
            let cfg = try l.configs(channels: channels, lanes: lanes, maxCount: m, storage: storage, name: "layer")
            let w = try cfg.accumulator.widths()
            ww = max(ww, w.weight)
            wa = max(wa, w.accumulator)
            wv = max(wv, try cfg.lif.widths().membrane)
        }
        return (ww, wa, wv)
    }

    /// `G = ceil(C / P)`: cycles per accumulate event, beats per spike vector.
    public var groups: Int { (channels + lanes - 1) / lanes }
    /// Cycles each of the Q, K and projection LIF banks (all `G` groups) adds over a register
    /// bank: 4 when `auto` or `pipelined` builds it pipelined, 1 with RAM (`extraLatency`).
    public var lifExtraLatency: Int { storage.forTimeSteps(timeSteps).resolved(groups: groups).extraLatency }
    /// The same for the QKCA's channel-mask bank (general form), which `auto` pipelines only
    /// where its beats never wait (`resolvedWithoutWaits`, `G >= 4`).
    public var attentionLIFExtraLatency: Int { storage.forTimeSteps(timeSteps).resolvedWithoutWaits(groups: groups).extraLatency }
    /// `s_axis` beats per vector, `ceil(C / K)`.
    public var inputBeats: Int { (channels + inputChunk - 1) / inputChunk }
    /// Vectors (token x time step) per sample, `N * T`.
    public var vectorsPerSample: Int { tokens * timeSteps }
    /// Channels per head, `d = C / h`.
    public var headDim: Int { channels / max(heads, 1) }
    /// Channels in input beat `b` (the last one may be partial).
    public func channelsInInputBeat(_ b: Int) -> Int { min(inputChunk, channels - b * inputChunk) }
    /// Channels in lane group `g` (the last one may be partial).
    public func channelsInGroup(_ g: Int) -> Int { min(lanes, channels - g * lanes) }

    public func validate() throws {
        guard channels >= 1, heads >= 1, channels % heads == 0 else {
            throw BlockError("heads is \(heads); it must divide channels \(channels)")
        }
        guard tokens >= 1 else { throw BlockError("tokens is \(tokens); give at least 1") }
        guard timeSteps >= 1 else { throw BlockError("timeSteps is \(timeSteps); give at least 1") }
        guard lanes >= 1 else { throw BlockError("lanes is \(lanes); give at least 1") }
        guard (1...channels).contains(inputChunk) else { throw BlockError("inputChunk is \(inputChunk); choose 1...\(channels)") }
        guard maxInputCount >= 1 else { throw BlockError("maxInputCount is \(maxInputCount); give at least 1") }
    }
}

extension LIFStateStorage {
    /// Cycles a LIF bank with this (resolved) storage adds over a register bank, whose latency
    /// is 1 (the output skid buffer): the pipelined bank's beat passes s1, s2, s3 and s4 before
    /// it is written into the buffer (latency 5, +4); the RAM bank's beat waits one stage for its
    /// synchronous read (latency 2, +1). `auto` must be resolved first (`resolved(groups:)`).
    public var extraLatency: Int {
        switch self {
        case .registers, .auto: return 0
        case .ram: return 1
        case .pipelined: return 4
        }
    }

    /// Cycles from one beat to the next of the same group when the second is not its token's
    /// first: a pipelined bank of one group waits for the previous beat's write-back (s1 to s4,
    /// `LIFBankCosimTests.pipelinedThroughput`); every other (resolved) bank takes a beat a cycle.
    public func beatInterval(groups: Int) -> Int { self == .pipelined && groups == 1 ? extraLatency : 1 }
}
