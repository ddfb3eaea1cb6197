import Description
import HDL
import Blocks

/// What the cycle model needs to know about one generated MLP (`makeMLP`): its size and its
/// two foldings. Built from the generator's `MLPConfig`, so the folding is the generated one.
public struct MLPShape: Sendable, Hashable {
    /// `C`.
    public var channels: Int
    /// `H = mlpRatio * C`, the fc1 outputs.
    public var hidden: Int
    /// `N`, tokens per sample.
    public var tokens: Int
    /// `T`.
    public var timeSteps: Int
    /// `P`: fc2 lanes (and `m_axis` spikes per beat).
    public var lanes: Int
    /// `P1`: fc1 lanes (and hidden spikes per beat into the hidden event encoder).
    public var hiddenLanes: Int
    /// Input counts per `s_axis` beat, `K`.
    public var inputChunk: Int
    /// Where the fc1 and fc2 LIF banks keep their membranes (`auto` resolves per bank).
    public var storage: LIFStateStorage

    /// Bits of an input count (1 for spikes; a block's residual stream carries more): fc1's
    /// product register follows it (`SpikeAccumulatorPipeline`).
    public var inputCountWidth: Int

    public init(channels: Int, hidden: Int, tokens: Int, timeSteps: Int, lanes: Int, hiddenLanes: Int, inputChunk: Int,
                storage: LIFStateStorage = .auto, inputCountWidth: Int = 1) {
        self.storage = storage
        self.inputCountWidth = inputCountWidth
        self.channels = channels
        self.hidden = hidden
        self.tokens = tokens
        self.timeSteps = timeSteps
        self.lanes = lanes
        self.hiddenLanes = hiddenLanes
        self.inputChunk = inputChunk
    }

    /// The shape of the MLP `makeMLP(c)` generates, serving `tokens` tokens per sample.
    public init(mlp c: MLPConfig, tokens: Int) {
        self.init(channels: c.channels, hidden: c.hidden, tokens: tokens, timeSteps: c.timeSteps, lanes: c.lanes,
                  hiddenLanes: c.hiddenLanes, inputChunk: c.inputChunk, storage: c.storage, inputCountWidth: c.countWidth)
    }

    /// The storage `makeMLP` builds both banks with, before `resolved(groups:)`.
    var bankStorage: LIFStateStorage { storage.forTimeSteps(timeSteps).pipelinedAtAnyGroups }
    /// Cycles the fc1 LIF bank adds over a register bank (`LIFStateStorage.extraLatency`).
    public var hiddenLIFExtraLatency: Int { bankStorage.resolved(groups: hiddenGroups).extraLatency }
    /// Cycles the fc2 LIF bank adds over a register bank.
    public var outputLIFExtraLatency: Int { bankStorage.resolved(groups: groups).extraLatency }
    /// Cycles between two beats of a one-group pipelined bank when the second is not a token's
    /// first (it waits for the first's write-back); 1 for any other bank (`G >= 2`, or registers).
    func lifBeatInterval(groups g: Int) -> Int { bankStorage.resolved(groups: g).beatInterval(groups: g) }

    /// `G = ceil(C / P)`: fc2 cycles per hidden event, output beats per vector.
    public var groups: Int { (channels + lanes - 1) / lanes }
    /// `G1 = ceil(H / P1)`: fc1 cycles per input event, hidden beats per vector.
    public var hiddenGroups: Int { (hidden + hiddenLanes - 1) / hiddenLanes }
    /// `s_axis` beats per vector, `ceil(C / K)`.
    public var inputBeats: Int { (channels + inputChunk - 1) / inputChunk }
    /// Vectors (token x time step) per sample, `N * T`.
    public var vectorsPerSample: Int { tokens * timeSteps }
    func channelsInInputBeat(_ b: Int) -> Int { min(inputChunk, channels - b * inputChunk) }
    func neuronsInHiddenGroup(_ g: Int) -> Int { min(hiddenLanes, hidden - g * hiddenLanes) }
}

/// The events of one vector through the MLP: non-zero input counts per `s_axis` beat and fc1
/// spikes per hidden group of `P1` neurons.
public struct MLPVectorEvents: Sendable, Hashable {
    /// `ceil(C/K)` entries.
    public var inputPerBeat: [Int]
    /// `ceil(H/P1)` entries.
    public var hiddenPerGroup: [Int]

    public init(inputPerBeat: [Int], hiddenPerGroup: [Int]) {
        self.inputPerBeat = inputPerBeat
        self.hiddenPerGroup = hiddenPerGroup
    }

    public var inputEvents: Int { inputPerBeat.reduce(0, +) }
    public var hiddenEvents: Int { hiddenPerGroup.reduce(0, +) }

    /// The vectors of one sample in stream order (tokens in order, the `T` time steps of a token
    /// innermost), counted from dense tensors in C order: the MLP input `[T][N][C]` (any non-zero
    /// count is an event) and the fc1 spikes `[T][N][H]`.
    public static func vectors(shape: MLPShape, input: [UInt8], hidden: [UInt8]) -> [MLPVectorEvents] {
        let T = shape.timeSteps, N = shape.tokens, C = shape.channels, H = shape.hidden
        precondition(input.count == T * N * C && hidden.count == T * N * H, "tensors must be [T][N][C] and [T][N][H]")
        var out: [MLPVectorEvents] = []
        out.reserveCapacity(N * T)
        for n in 0..<N {
            for t in 0..<T {
                let base = (t * N + n) * C, hBase = (t * N + n) * H
                let beats = (0..<shape.inputBeats).map { b in
                    (0..<shape.channelsInInputBeat(b)).reduce(0) { $0 + (input[base + b * shape.inputChunk + $1] != 0 ? 1 : 0) }
                }
                let groups = (0..<shape.hiddenGroups).map { g in
                    (0..<shape.neuronsInHiddenGroup(g)).reduce(0) { $0 + (hidden[hBase + g * shape.hiddenLanes + $1] != 0 ? 1 : 0) }
                }
                out.append(MLPVectorEvents(inputPerBeat: beats, hiddenPerGroup: groups))
            }
        }
        return out
    }
}
