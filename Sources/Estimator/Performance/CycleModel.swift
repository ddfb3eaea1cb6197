import Description
import Blocks
/// The events of one vector (one token at one time step) as the accelerator sees them.
public struct VectorEvents: Sendable, Hashable {
    /// Non-zero input counts in each `s_axis` beat of the vector (`ceil(C/K)` entries).
    public var inputPerBeat: [Int]
    /// Non-zero `X'` spikes in each lane group of the vector (`ceil(C/P)` entries).
    public var maskedPerGroup: [Int]

    public init(inputPerBeat: [Int], maskedPerGroup: [Int]) {
        self.inputPerBeat = inputPerBeat
        self.maskedPerGroup = maskedPerGroup
    }

    public var inputEvents: Int { inputPerBeat.reduce(0, +) }
    public var maskedEvents: Int { maskedPerGroup.reduce(0, +) }
}

/// The cycle model of the generated QKTA and QKCA accelerators (Blocks/Accelerator), with no
/// stalls on either stream, from the events of each vector.
///
/// Every term is a property of the generated microarchitecture, read from the block sources
/// and their module docs:
/// - The event encoder scans one `s_axis` beat of `n` non-zero counts in `max(1, n)` cycles.
/// - The event-driven accumulator spends `G = ceil(C/P)` cycles per event (one weight word per
///   lane group); an all-zero vector costs one marker beat. Between vectors it loses `o` cycles
///   (`SpikeAccumulatorPipeline.overhead(events:)`): after a vector with events 1 plus the drain's
///   wait for the last write (2 at `G = 1`, 2 or 3 at `G = 2`, 1 or 2 at `G = 3`), after an empty
///   one 1, or 2 at `G = 1`.
/// - So the input side of a vector with `e` events needs at least
///   `A = max(sum_b max(1, n_b), max(1, e) * G + o)` cycles, and the projection side of a vector
///   with `x` masked events at least `B = max(sum_g max(1, x_g), max(1, x) * G + o)`.
/// - QKTA: the two sides overlap across vectors but are coupled through the K accumulator
///   (it may not overwrite a group before the previous vector's K spikes of that group have been
///   masked and taken by the projection side), so a vector costs between `max(A, B)` and
///   `A + B`. `QKTATimeline` follows these handshakes group by group.
/// - QKCA: pass 1 (input side, K buffer writes at 1 word per cycle) takes `sum_v max(A_v, G)`;
///   the mask 1 cycle (OR form) or `T*G` beats (general form); pass 2 reads the K buffer one word
///   per cycle into the projection side, `sum_v max(B_v, G)`. Pass 1 of the next sample overlaps
///   pass 2 of this one, but may not run ahead of it (a single K buffer).
public struct CycleModel: Sendable {
    public let shape: AcceleratorShape
    public init(_ shape: AcceleratorShape) { self.shape = shape }

    /// The Q and K accumulators' add pipeline (they take the input's counts).
    public var inputAccumulator: SpikeAccumulatorPipeline {
        SpikeAccumulatorPipeline(groups: shape.groups, countWidth: Interval(0, shape.maxInputCount).unsignedWidth)
    }
    /// The projection accumulator's (it takes spikes).
    public var projectionAccumulator: SpikeAccumulatorPipeline { SpikeAccumulatorPipeline(groups: shape.groups, countWidth: 1) }

    /// QKCA: the latency between a pass ending and the next step starting (LIF bank, sinks,
    /// encoder, accumulator issue), about half of the QKTA pipeline's 17-cycle fill; pipelined
    /// LIF banks add their extra stages (the K bank before the mask, the projection bank after).
    public var passLatency: Int { 8 + shape.lifExtraLatency }

    /// Input-side cycles of one vector: `max(sum_b max(1, n_b), max(1, e) * G + o)`.
    public func inputStage(_ v: VectorEvents) -> Int {
        let scan = v.inputPerBeat.reduce(0) { $0 + max(1, $1) }
        return max(scan, max(1, v.inputEvents) * shape.groups + inputAccumulator.overhead(events: v.inputEvents))
    }

    /// Projection-side cycles of one vector: `max(sum_g max(1, x_g), max(1, x) * G + o)`.
    public func projectionStage(_ v: VectorEvents) -> Int {
        let scan = v.maskedPerGroup.reduce(0) { $0 + max(1, $1) }
        return max(scan, max(1, v.maskedEvents) * shape.groups + projectionAccumulator.overhead(events: v.maskedEvents))
    }

    /// Cycles to stream `samples` (each `N*T` vectors in stream order: token-major, time steps
    /// innermost) through the block back to back, from reset to the last output beat: what a
    /// co-simulation without stalls measures.
    public func runCycles(_ samples: [[VectorEvents]]) -> Int {
        switch shape.mask {
        case .token:
            var t = QKTATimeline(self)
            for s in samples { for v in s { t.push(v) } }
            return t.finish()
        case .channel:
            return qkcaRun(samples.map { s in
                (s.reduce(0) { $0 + max(inputStage($1), shape.groups) }, s.reduce(0) { $0 + max(projectionStage($1), shape.groups) })
            })
        }
    }

    /// Cycles of the mask step of QKCA between the passes.
    public var maskCycles: Int { shape.orForm ? 1 : shape.timeSteps * shape.groups + 3 + shape.attentionLIFExtraLatency }

    /// Two-pass pipeline over samples with pass costs `(pass1, pass2)`.
    func qkcaRun(_ passes: [(Int, Int)]) -> Int {
        var end1 = 0, end2 = 0
        for (p1, p2) in passes {
            // Pass 1 of this sample may not run ahead of pass 2 of the previous one (single K buffer).
            end1 = max(end1 + p1, end2)
            let start2 = max(end1 + maskCycles + passLatency, end2)
            end2 = start2 + p2
        }
        // Pass 2's last word also passes the K buffer's second read register (`x_s2`).
        return end2 + passLatency + 1
    }

    /// Steady-state cycles per sample of `sample` (no fill): what a long stream of such samples
    /// costs each.
    public func cyclesPerSample(_ sample: [VectorEvents]) -> Int {
        switch shape.mask {
        case .token:
            // The second of two back-to-back copies: both sides have reached their steady rate.
            var t = QKTATimeline(self)
            for v in sample { t.push(v) }
            let (in1, out1) = (t.inputEnd, t.projDone)
            for v in sample { t.push(v) }
            return max(t.inputEnd - in1, t.projDone - out1)
        case .channel:
            let p1 = sample.reduce(0) { $0 + max(inputStage($1), shape.groups) }
            let p2 = sample.reduce(0) { $0 + max(projectionStage($1), shape.groups) }
            return max(p1, p2 + maskCycles + passLatency)
        }
    }
}

extension VectorEvents {
    /// The vectors of one sample in stream order (tokens in order, the `T` time steps of a token
    /// innermost), counted from dense `[T][N][C]` tensors in C order: the block input (any
    /// non-zero count is an event) and `X'`.
    public static func vectors(shape: AcceleratorShape, input: [UInt8], masked: [UInt8]) -> [VectorEvents] {
        let T = shape.timeSteps, N = shape.tokens, C = shape.channels
        precondition(input.count == T * N * C && masked.count == T * N * C, "tensors must be [T][N][C]")
        var out: [VectorEvents] = []
        out.reserveCapacity(N * T)
        for n in 0..<N {
            for t in 0..<T {
                let base = (t * N + n) * C
                let inBeats = (0..<shape.inputBeats).map { b in
                    (0..<shape.channelsInInputBeat(b)).reduce(0) { $0 + (input[base + b * shape.inputChunk + $1] != 0 ? 1 : 0) }
                }
                let xGroups = (0..<shape.groups).map { g in
                    (0..<shape.channelsInGroup(g)).reduce(0) { $0 + (masked[base + g * shape.lanes + $1] != 0 ? 1 : 0) }
                }
                out.append(VectorEvents(inputPerBeat: inBeats, maskedPerGroup: xGroups))
            }
        }
        return out
    }
}
