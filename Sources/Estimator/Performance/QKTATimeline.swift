/// A group-level timeline of the generated QKTA pipeline, vector by vector, without stalls on
/// either stream. It follows the handshakes that couple the input side and the projection side
/// (read from the block sources and confirmed on a Verilator waveform):
///
/// - The Q and K accumulators take the same events (one broadcast, which lets Q run up to one
///   event ahead of K). An event issues its `G` groups on consecutive cycles; events follow each
///   other back to back, and vectors with `o` idle cycles between them (1, or 2 when `G <= 2`,
///   where the drain waits for the vector's last write: `SpikeAccumulatorPipeline`).
/// - A vector's first event may issue group `g` only once the previous vector's result for group
///   `g` has drained out of the K accumulator (the accumulator's `group_free`). An all-zero
///   vector (one marker beat) waits for the whole previous drain (and 5 cycles of hand-over);
///   an all-zero `X'` vector costs the projection accumulator `G` cycles (its bias drains).
/// - The K drain can run `kChain = 4` beats ahead of the mask: the accumulator's output slice
///   and the K LIF bank's output buffer.
/// - The token mask of a vector is ready `G + qLatency` (`qLatency = 4`) cycles after Q's last
///   event of the vector (Q drain of `G` beats, Q LIF, gather, row sums, attention LIF), and
///   only after the previous vector's last K beat has passed the mask (one mask held at a time).
/// - The mask passes one K beat per cycle (`kLatency = 2` after the drain) into its 2-beat output
///   skid buffer; the `X'` event encoder takes one beat at a time, scans it, and queues up to
///   `eventQueue = 3` events (hold register and output slice) for the projection accumulator,
///   which spends `G` cycles per event.
/// - The last output beat leaves `G + 4` cycles after the last projection event has issued
///   (drain, LIF bank, output).
///
/// `CyclesVsSimulationTests` checks the result against Verilator (docs/estimate-cycles.md).
struct QKTATimeline {
    /// `o`: the idle cycles between vectors on the input side (the drain times `d` carry the
    /// wait for the last write); `oProj`: the projection's, whose drain the timeline does not
    /// follow, so its wait is in it (`SpikeAccumulatorPipeline`).
    let G: Int, o: Int, oProj: Int
    /// Cycles the accumulator's drain waits for a vector's last write.
    let drainWait: Int
    /// With register LIF banks (`x = 0`); a pipelined bank holds `x = 4` more beats (s1, s2,
    /// s3, s4) and passes each `x` cycles later (`AcceleratorShape.lifExtraLatency`): the K bank
    /// lengthens `kChain` and `kLatency`, the Q bank `qLatency`, the projection bank the end.
    let kChain: Int
    let kLatency: Int
    let xSkid = 2
    let eventQueue = 3
    let qLatency: Int
    let outLatency: Int
    /// Events Q may run ahead of K (the broadcast's buffer).
    let qLead = 1

    static let never = Int.min / 4

    /// End (last group issued) of the previous vector in the K and the Q accumulator.
    private(set) var inputEnd = -1
    private var qEnd = -1
    /// The previous vector's K drain times, mask pass times and X' encoder accept times, per group.
    private var drain: [Int]
    private var kPass: [Int]
    private var xAccept: [Int]
    private var encoderFree = never
    /// Projection accumulator: when the last event finished issuing, and the accept times of
    /// the most recent events (for the encoder's queue).
    private(set) var projDone = never
    private var projAccepts: [Int] = []

    init(_ m: CycleModel) {
        G = m.shape.groups
        o = m.inputAccumulator.emptyVectorOverhead
        oProj = m.projectionAccumulator.vectorOverhead
        drainWait = m.inputAccumulator.drainWait
        let x = m.shape.lifExtraLatency
        (kChain, kLatency, qLatency, outLatency) = (4 + x, 2 + x, 4 + x, 4 + x)
        drain = [Int](repeating: Self.never, count: G)
        kPass = [Int](repeating: Self.never, count: G)
        xAccept = [Int](repeating: Self.never, count: G)
    }

    mutating func push(_ v: VectorEvents) {
        let e = v.inputEvents, n = max(1, e)
        let scan = v.inputPerBeat.reduce(0) { $0 + max(1, $1) }
        var end: Int
        if e == 0 {
            end = max(inputEnd + 1 + o, drain[G - 1] + 5)
        } else {
            var t = max(inputEnd + 1 + o, drain[0] + 1)
            for g in 1..<G { t = max(t + 1, drain[g] + 1) }
            end = t + (n - 1) * G
        }
        end = max(end, inputEnd + scan)
        let qOwn = e == 0 ? qEnd + 1 + o : qEnd + n * G + o
        let qDone = min(end, max(qOwn, end - qLead * G))
        let mask = max(qDone + G + qLatency, kPass[G - 1] + 1)

        var d = [Int](repeating: 0, count: G), k = [Int](repeating: 0, count: G), xa = [Int](repeating: 0, count: G)
        var firstOfVector = true
        for g in 0..<G {
            d[g] = end + 1 + g + drainWait
            if g > 0 { d[g] = max(d[g], d[g - 1] + 1) }
            if g >= kChain { d[g] = max(d[g], k[g - kChain] + 2) }
            k[g] = max(mask + 1, d[g] + kLatency)
            if g > 0 { k[g] = max(k[g], k[g - 1] + 1) }
            let b = g - xSkid
            if b >= 0 { k[g] = max(k[g], xa[b]) } else if G + b >= 0 { k[g] = max(k[g], xAccept[G + b]) }
            xa[g] = max(k[g] + 1, encoderFree)
            let x = v.maskedPerGroup[g]
            if x == 0 {
                encoderFree = xa[g] + 1
                continue
            }
            var emit = xa[g] + 1
            for _ in 0..<x {
                if projAccepts.count >= eventQueue { emit = max(emit, projAccepts[projAccepts.count - eventQueue]) }
                var accept = max(emit + 1, projDone)
                if firstOfVector { accept = max(accept, projDone + oProj) }
                firstOfVector = false
                projDone = accept + G
                projAccepts.append(accept)
                if projAccepts.count > eventQueue { projAccepts.removeFirst() }
                emit += 1
            }
            encoderFree = emit
        }
        if v.maskedEvents == 0 {
            // A marker beat: waits for the previous vector's drain.
            projDone = max(k[G - 1] + 3, projDone + G)
            projAccepts.append(projDone)
            if projAccepts.count > eventQueue { projAccepts.removeFirst() }
        }
        (drain, kPass, xAccept, inputEnd, qEnd) = (d, k, xa, end, qDone)
    }

    /// The cycle of the last output beat.
    func finish() -> Int { max(projDone, inputEnd) + G + outLatency }
}
