import Description
import HDL

/// Parameters of the event-driven spike x weight accumulator (docs/arithmetic.md §3):
/// `I[o] = b[o] + sum_i x[i] * W[o][i]` over the events `(i, x[i])` of one vector.
public struct SpikeAccumulatorConfig: Hashable, Sendable {
    /// `W[o][i]`: `outputs` rows of `inputs` signed integers (BatchNorm already folded).
    public var weights: [[Int]]
    /// `b[o]`, one per output; nil means zeros (a conv without bias).
    public var bias: [Int]?
    /// Accumulate lanes `P`: outputs updated per cycle. Each event takes `ceil(C_out/P)` cycles.
    public var lanes: Int
    /// The largest input count `m` (1 for 0/1 spikes, more on SEW residual streams). The count
    /// port has `bits(m)` bits, and widths are sized for every value that port can carry.
    public var maxCount: Int
    /// A forced accumulator width (signed bits). Narrower than the exact width, every addition
    /// saturates there, as the golden `LinearLayer(accumulatorWidth:)` does; nil sizes it exactly.
    public var accumulatorWidth: Int?
    /// Module name prefix; the parameters and a hash of the weights are appended.
    public var name: String

    public init(weights: [[Int]], bias: [Int]? = nil, lanes: Int, maxCount: Int = 1,
                accumulatorWidth: Int? = nil, name: String = "spike_accumulator") {
        self.weights = weights
        self.bias = bias
        self.lanes = lanes
        self.maxCount = maxCount
        self.accumulatorWidth = accumulatorWidth
        self.name = name
    }

    /// `C_in`.
    public var inputs: Int { weights.first?.count ?? 0 }
    /// `C_out`.
    public var outputs: Int { weights.count }
    /// Output groups `G = ceil(C_out / P)`: cycles per event and beats per result vector.
    public var groups: Int { (outputs + lanes - 1) / max(lanes, 1) }
    /// `b`, zeros when not given.
    public var biasValues: [Int] { bias ?? [Int](repeating: 0, count: outputs) }

    public func validate() throws {
        guard let first = name.first, first.isLetter,
              name.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" }) else {
            throw BlockError("name '\(name)' is not a Verilog identifier; use ASCII letters, digits and '_', starting with a letter")
        }
        guard outputs >= 1, inputs >= 1 else {
            throw BlockError("weights is \(outputs)x\(inputs); give at least one output row of at least one input")
        }
        if let o = weights.firstIndex(where: { $0.count != inputs }) {
            throw BlockError("weights[\(o)] has \(weights[o].count) inputs, row 0 has \(inputs); give every row the same length")
        }
        if let b = bias, b.count != outputs {
            throw BlockError("bias has \(b.count) values for \(outputs) outputs; give one per output row of weights")
        }
        guard (1...256).contains(lanes) else {
            throw BlockError("lanes is \(lanes); choose 1...256 accumulate lanes")
        }
        guard (1...255).contains(maxCount) else {
            throw BlockError("maxCount is \(maxCount); choose 1...255 (the largest input count)")
        }
        guard inputs * groups <= 1 << 22 else {
            throw BlockError("the weight memory would have \(inputs * groups) words; raise lanes or shrink the layer")
        }
        let bounds = Interval(-(1 << 40), 1 << 40)
        if let o = weights.firstIndex(where: { $0.contains { !bounds.contains($0) } }) {
            throw BlockError("weights[\(o)] has a value beyond +-2^40; rescale the weights")
        }
        if let o = biasValues.firstIndex(where: { !bounds.contains($0) }) {
            throw BlockError("bias[\(o)] is beyond +-2^40; rescale the bias")
        }
        if let w = accumulatorWidth {
            guard (2...62).contains(w) else {
                throw BlockError("accumulatorWidth is \(w); force 2...62 bits or leave it nil for the exact width")
            }
            let range = Interval.ofWidth(w, signed: true)
            if let o = biasValues.firstIndex(where: { !range.contains($0) }) {
                throw BlockError("bias[\(o)] = \(biasValues[o]) does not fit the forced \(w)-bit accumulator; widen accumulatorWidth to at least \(Interval.point(biasValues[o]).signedWidth)")
            }
        }
    }

    /// The widths of the datapath, from interval analysis.
    public func widths() throws -> SpikeAccumulatorWidths {
        try validate()
        let countWidth = Interval(0, maxCount).unsignedWidth
        // Every value the count port can carry, not only maxCount: nothing can overflow.
        let counts = Interval(0, (1 << countWidth) - 1)
        var weightRange = Interval.point(0)
        for row in weights { for w in row { weightRange = weightRange.union(.point(w)) } }
        var biasRange = Interval.point(0)
        for b in biasValues { biasRange = biasRange.union(.point(b)) }
        var current: Interval?
        for (o, row) in weights.enumerated() {
            // Any subset of inputs, each adding count * w with count in `counts`.
            var acc = Interval.point(biasValues[o])
            for w in row where w != 0 {
                acc = try acc.adding(try counts.multiplying(.point(w)))
            }
            current = current.map { $0.union(acc) } ?? acc
        }
        let exact = current!
        guard exact.signedWidth <= 62 else {
            throw BlockError("the exact accumulator needs \(exact.signedWidth) bits (range \(exact)); force accumulatorWidth to at most 62 (saturating)")
        }
        let accumulator = accumulatorWidth ?? exact.signedWidth
        return SpikeAccumulatorWidths(
            channel: Interval(0, inputs - 1).unsignedWidth,
            count: countWidth,
            weight: weightRange.signedWidth,
            bias: biasRange.signedWidth,
            exactRange: exact,
            exactAccumulator: exact.signedWidth,
            accumulator: accumulator,
            currentRange: accumulator < exact.signedWidth
                ? Interval(max(exact.lo, -(1 << (accumulator - 1))), min(exact.hi, (1 << (accumulator - 1)) - 1))
                : exact,
            saturates: accumulator < exact.signedWidth,
            group: Interval(0, groups - 1).unsignedWidth)
    }

    /// A name unique to the parameter set: the weights and bias enter through a hash.
    public func moduleName() throws -> String {
        let w = try widths()
        let text = "\(weights)|\(biasValues)|\(maxCount)|\(accumulatorWidth.map(String.init) ?? "exact")|\(lanes)"
        return "\(name)_i\(inputs)_o\(outputs)_p\(lanes)_a\(w.accumulator)\(w.saturates ? "s" : "")_\(ModuleNameHash.hash(text))"
    }
}

/// The accumulator's add pipeline, which its timing and its cycles both follow: the generator
/// builds it (`makeSpikeAccumulator`) and the cycle models read its waits from here.
///
/// An event issues group `g` of its `G` groups in cycle `t_g` (the weight word's synchronous
/// read); the add writes the group's lane state `addStages` cycles later. The weight word gets a
/// register of its own before the add from `G >= 2` (the block RAM's clock-to-out is then not in
/// series with the add: the QKFormer blocks' fc2 path of held-out seed 19, docs/timing.md), and
/// the `count x weight` product (a DSP or a shift-and-add) one more when counts exceed 1 (fc1's
/// path in the same draw). With counts both registers are built at `G = 1` too: there the
/// count went through the multiplier into the add and the lane state in one cycle (held-out seed
/// 20's token block C12 P7 T3, whose fc1 has one group: 11.27 ns placed), at the price of two
/// more cycles a vector (`drainWait`). With 0/1 spikes and one group the weight word goes
/// straight into the add, as before. The drain of a
/// vector reads group `g` one cycle after the vector's last group issues at the earliest, and
/// waits `drainWait` cycles for the group's last write when there are fewer groups than stages.
public struct SpikeAccumulatorPipeline: Hashable, Sendable {
    /// `G`.
    public let groups: Int
    /// The weight word is registered before the add.
    public let registeredWeight: Bool
    /// The `count x weight` product is registered before the add.
    public let registeredProduct: Bool
    /// The product is built as a shift-and-add in logic (`(x[0] ? w : 0) + (x[1] ? 2w : 0)`, one
    /// carry chain) instead of a multiplier: two-bit counts, the residual sum of two spike
    /// streams (0 to 2) or of three (0 to 3). Synthesis maps a `*` of these widths to a hard
    /// multiplier, and on ECP5 the MULT18X18D's own delay (about 5.7 ns) plus the routing from
    /// one count register to every lane's multiplier bounded QKFormer blocks near 100 MHz
    /// (docs/timing.md, session 10). Wider counts keep the multiplier.
    public let shiftAddProduct: Bool

    public init(groups: Int, countWidth: Int) {
        self.groups = groups
        registeredWeight = groups >= 2 || countWidth > 1
        registeredProduct = countWidth > 1
        shiftAddProduct = countWidth == 2
    }

    /// The product is a hard multiplier: counts of three bits or more.
    public var multiplies: Bool { registeredProduct && !shiftAddProduct }

    /// Cycles from an issue to its write: 1, plus one per register stage.
    public var addStages: Int { 1 + (registeredWeight ? 1 : 0) + (registeredProduct ? 1 : 0) }
    /// Cycles the drain waits for a vector's last write. The vector's last event issues group `g`
    /// at `t - (G-1-g)` (`t`: its last group), which is readable from `t - G + g + addStages + 2`;
    /// the drain reads it at `t + 1 + g` at the earliest.
    public var drainWait: Int { max(0, addStages + 1 - groups) }
    /// Cycles lost after a vector with events, on top of `events x G`: the hand-over to the
    /// drain, plus its wait (the next vector issues group `g` only once the drain has read it).
    public var vectorOverhead: Int { 1 + drainWait }
    /// Cycles lost after an empty vector (one marker beat, whose drain reads the bias and waits
    /// for no write), on top of its `G`: 1, or 2 at `G = 1`, where the next vector's only group
    /// is free only once the drain has ended (`group_free`), not once it has moved on.
    public var emptyVectorOverhead: Int { groups == 1 ? 2 : 1 }
    /// The overhead after a vector of `events` events: `emptyVectorOverhead` or `vectorOverhead`.
    public func overhead(events: Int) -> Int { events == 0 ? emptyVectorOverhead : vectorOverhead }
}

/// Widths of the accumulator's datapath.
public struct SpikeAccumulatorWidths: Hashable, Sendable {
    /// `in_channel`.
    public let channel: Int
    /// `in_count`.
    public let count: Int
    /// A weight in the weight memory (signed).
    public let weight: Int
    /// A bias in the bias memory (signed).
    public let bias: Int
    /// Every value any accumulator can take with exact arithmetic.
    public let exactRange: Interval
    /// Signed bits of `exactRange`.
    public let exactAccumulator: Int
    /// Signed bits of the accumulators and of each lane of `out_current`: forced or exact.
    public let accumulator: Int
    /// Every value a lane of `out_current` can carry: `exactRange`, clamped to a forced width.
    public let currentRange: Interval
    /// The forced width is narrower than the exact one: additions saturate.
    public let saturates: Bool
    /// `out_group`.
    public let group: Int
}
