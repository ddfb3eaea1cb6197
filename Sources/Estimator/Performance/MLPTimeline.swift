import Description
import Blocks
/// A group-level timeline of the generated MLP (`makeMLP`), vector by vector, with no stalls on
/// its output. It is the QKTA timeline's K-to-projection half (`QKTATimeline`) without the mask:
///
/// - fc1 takes the input events, `G1 = ceil(H/P1)` cycles each, back to back, with `o1` idle
///   cycles between vectors (1, or 2 when `G1 <= 2`; `SpikeAccumulatorPipeline`). A vector's first event may issue group `g`
///   only once the previous vector's result for group `g` has drained (`group_free`); an
///   all-zero vector (one marker beat) waits for the whole previous drain.
/// - The input event encoder scans one `s_axis` beat of `n` non-zero counts in `max(1, n)`
///   cycles and holds each event until it knows whether it is the vector's last, so the
///   vector's last event issues no earlier than the scan of its last beat. In a QKFormer block
///   the beats arrive from the attention residual: `arrivals` gives the cycle each beat is
///   offered, and an event issues `inputLatency` cycles after its beat arrived at the earliest.
/// - The fc1 drain (one beat of `P1` currents per cycle) passes the fc1 LIF bank
///   (`passLatency` cycles) into the hidden event encoder, which takes one beat at a time,
///   scans it and queues up to `eventQueue` events for fc2 (`G = ceil(C/P)` cycles each). The
///   drain may run `chain` beats ahead of the encoder (accumulator output slice and LIF output
///   buffer), and the LIF output `skid` beats ahead of the encoder's accept.
/// - The last output beat of a vector leaves `G + outputLatency` cycles after its last fc2 event
///   has issued (drain, LIF bank, output), at most one output beat per cycle.
/// - A bank of one group is pipelined too (`LIFStateStorage.pipelinedAtAnyGroups`): a beat that
///   is not its token's first passes it 4 cycles after the previous beat at the earliest.
///
/// The constants are the QKTA timeline's where the hardware is the same (the accumulator, the
/// event encoder and its queue, the LIF output path) and were read from the MLP's sources
/// otherwise, before any MLP was simulated; the calibration configs of
/// `BlockCyclesVsSimulationTests` then needed no change, and its held-out ones check them
/// (docs/estimate-cycles.md).
struct MLPTimeline {
    let G1: Int, G: Int, o1: Int, o2: Int
    /// Cycles fc1's drain waits for a vector's last write (`SpikeAccumulatorPipeline`).
    let wait1: Int
    /// `chain`, `passLatency` and `outputLatency` are for register LIF banks plus the extra
    /// cycles of a pipelined fc1 bank (4 more beats held, 4 cycles later) and fc2 bank.
    let chain: Int
    let passLatency: Int
    let skid = 2
    let eventQueue = 3
    let outputLatency: Int
    let inputLatency = 3
    /// One-group pipelined banks (`MLPShape.lifBeatInterval`): a beat that is not its token's
    /// first passes the fc1 bank `interval1` cycles after the previous one, and the fc2 bank
    /// emits it `interval2` cycles after the previous output beat.
    let interval1: Int, interval2: Int
    let timeSteps: Int
    /// Vectors pushed so far (the `T` steps of a token are consecutive vectors).
    private var vectors = 0

    static let never = Int.min / 4

    /// End (last group issued) of the previous vector in fc1.
    private(set) var inputEnd = -1
    private var drain: [Int]
    private var pass: [Int]
    private var accept: [Int]
    private var encoderFree = never
    /// fc2: when its last event finished issuing, and the accept times of its latest events.
    private(set) var projDone = never
    private var projAccepts: [Int] = []
    /// The last output beat of the previous vector.
    private(set) var outputEnd = never

    init(_ shape: MLPShape) {
        G1 = shape.hiddenGroups
        G = shape.groups
        let fc1 = SpikeAccumulatorPipeline(groups: G1, countWidth: shape.inputCountWidth), fc2 = SpikeAccumulatorPipeline(groups: G, countWidth: 1)
        // fc1's drain times carry its wait; fc2's drain is not followed, so o2 holds it.
        (o1, o2, wait1) = (fc1.emptyVectorOverhead, fc2.vectorOverhead, fc1.drainWait)
        let x1 = shape.hiddenLIFExtraLatency
        (chain, passLatency, outputLatency) = (4 + x1, 1 + x1, 4 + shape.outputLIFExtraLatency)
        (interval1, interval2, timeSteps) = (shape.lifBeatInterval(groups: G1), shape.lifBeatInterval(groups: G), shape.timeSteps)
        drain = [Int](repeating: Self.never, count: G1)
        pass = [Int](repeating: Self.never, count: G1)
        accept = [Int](repeating: Self.never, count: G1)
    }

    /// Adds a vector; returns the cycle of its last output beat. `arrivals`, when given, is the
    /// cycle each of its `s_axis` beats is offered (else the input never waits).
    @discardableResult
    mutating func push(_ v: MLPVectorEvents, arrivals: [Int]? = nil) -> Int {
        let e = v.inputEvents, n = max(1, e)
        let scan = v.inputPerBeat.reduce(0) { $0 + max(1, $1) }
        var end: Int
        if e == 0 {
            end = max(inputEnd + 1 + o1, drain[G1 - 1] + 5)
        } else {
            var t = max(inputEnd + 1 + o1, drain[0] + 1)
            for g in 1..<max(G1, 1) { t = max(t + 1, drain[g] + 1) }
            end = t + (n - 1) * G1
        }
        end = max(end, inputEnd + scan)
        if let a = arrivals {
            // Every event from beat b on issues after beat b arrived; the last waits for the scan.
            var remaining = e
            for (b, k) in v.inputPerBeat.enumerated() {
                if remaining > 0 { end = max(end, a[b] + inputLatency + remaining * G1 - 1) }
                remaining -= k
            }
            end = max(end, a[a.count - 1] + inputLatency + max(1, v.inputPerBeat.last ?? 1) - 1)
        }

        let firstStep = vectors % max(1, timeSteps) == 0
        vectors += 1
        var d = [Int](repeating: 0, count: G1), k = [Int](repeating: 0, count: G1), xa = [Int](repeating: 0, count: G1)
        var firstOfVector = true
        for g in 0..<G1 {
            d[g] = end + 1 + g + wait1
            if g > 0 { d[g] = max(d[g], d[g - 1] + 1) }
            if g >= chain { d[g] = max(d[g], k[g - chain] + 2) }
            k[g] = max(d[g] + passLatency, (g > 0 ? k[g - 1] : pass[G1 - 1]) + (firstStep ? 1 : interval1))
            let b = g - skid
            if b >= 0 { k[g] = max(k[g], xa[b]) } else if G1 + b >= 0 { k[g] = max(k[g], accept[G1 + b]) }
            xa[g] = max(k[g] + 1, encoderFree)
            let x = v.hiddenPerGroup[g]
            if x == 0 {
                encoderFree = xa[g] + 1
                continue
            }
            var emit = xa[g] + 1
            for _ in 0..<x {
                if projAccepts.count >= eventQueue { emit = max(emit, projAccepts[projAccepts.count - eventQueue]) }
                var acc = max(emit + 1, projDone)
                if firstOfVector { acc = max(acc, projDone + o2) }
                firstOfVector = false
                projDone = acc + G
                projAccepts.append(acc)
                if projAccepts.count > eventQueue { projAccepts.removeFirst() }
                emit += 1
            }
            encoderFree = emit
        }
        if v.hiddenEvents == 0 {
            // A marker beat: waits for the vector's last hidden beat.
            projDone = max(k[G1 - 1] + 3, projDone + G)
            projAccepts.append(projDone)
            if projAccepts.count > eventQueue { projAccepts.removeFirst() }
        }
        (drain, pass, accept, inputEnd) = (d, k, xa, end)
        outputEnd = max(projDone + G + outputLatency, outputEnd + (firstStep ? G : max(G, interval2)))
        return outputEnd
    }
}

/// The cycle model of the generated MLP with no stalls on either stream, from the events of
/// each vector (`MLPTimeline`).
public struct MLPCycleModel: Sendable {
    public let shape: MLPShape
    public init(_ shape: MLPShape) { self.shape = shape }

    /// Cycles to stream `samples` (each `N*T` vectors in stream order) through the MLP back to
    /// back, from reset to the last output beat: what a co-simulation without stalls measures.
    public func runCycles(_ samples: [[MLPVectorEvents]]) -> Int {
        var t = MLPTimeline(shape)
        var last = 0
        for s in samples { for v in s { last = t.push(v) } }
        return last + 1
    }

    /// Steady-state cycles per sample (no fill): the second of two back-to-back copies.
    public func cyclesPerSample(_ sample: [MLPVectorEvents]) -> Int {
        var t = MLPTimeline(shape)
        var first = 0, second = 0
        for v in sample { first = t.push(v) }
        for v in sample { second = t.push(v) }
        return second - first
    }
}
