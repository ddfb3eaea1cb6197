import Foundation
import HDL

/// Logic depth between flip-flops, from the estimator's own bit netlist (`FlatBuilder`), and
/// the clock frequency it allows on an ECP5.
///
/// Every gate is mapped for depth into K-input LUTs (K = 4 for ECP5's LUT4, 6 for xc7's LUT6),
/// the way ABC's `if -D` mapping ranks cuts: for each gate its cuts of up to K inputs are
/// enumerated from its operands' cuts, and the gate's arrival is the best cut's latest input
/// plus one LUT. Inverters are free. Adders and comparisons between two variables are carry
/// chains: an operand enters the chain (`carryEntry`), the carry ripples one bit at a time
/// (`carryBit`), and each sum bit leaves it. Flip-flops, input ports and RAM outputs start at
/// zero; a flip-flop's D and enable, and a RAM's write port, end a path. DSP products add
/// `dsp`. Each LUT level's routing grows with the fanout of the net it drives
/// (`routeFanout * log2(fanout)`), as placement spreads a wide net's readers. On ECP5 a
/// comparison against a constant is a chain followed by two LUT levels, as `synth_ecp5` maps it.
///
/// The critical path's delay is `clockToQ + arrival + setup` and Fmax is its inverse. The
/// delays are not per-design constants: they are per LUT level, per carry bit and per net
/// fanout, so the model follows the netlist when the RTL changes (pipelining cuts levels and
/// chains, and the estimate sees it). `Delays.ecp5` is calibrated against nextpnr-ecp5
/// (docs/estimate-accuracy.md, "Fmax estimate").
public enum LogicDepth {
    public struct Delays: Sendable, Equatable {
        public var clockToQ: Double
        public var setup: Double
        /// One LUT level including the routing into the next cell, at fanout 1.
        public var lut: Double
        /// Extra routing per doubling of a LUT output's fanout.
        public var routeFanout: Double
        /// Into a carry chain (routing plus the first cell).
        public var carryEntry: Double
        /// Per bit of carry ripple.
        public var carryBit: Double
        /// A product on a hard multiplier, inputs to outputs.
        public var dsp: Double
        /// A block RAM's clock to its read data (a path starting there, instead of clock-to-Q).
        public var blockRAM: Double = 3.0
        /// Routing into a hard multiplier, per multiplier in the design: a design of many DSPs
        /// spreads them over the die's DSP rows, and the registers that feed them (a count fanned
        /// out to every lane, a weight word) sit far from most of them.
        public var dspSpread: Double = 0
        /// The multipliers of the whole die, where the spread stops growing: a design can use no
        /// more than the die has, and no wire is longer than the die (LFE5U-85F: 156 MULT18X18D).
        /// A section of a whole network with more multipliers (it would not fit the part) is
        /// charged the spread of a full die.
        public var dspSpreadCap = 156

        /// ECP5 speed grade 8 (nextpnr-ecp5), calibrated in docs/estimate-accuracy.md.
        public init(clockToQ: Double, setup: Double, lut: Double, routeFanout: Double, carryEntry: Double, carryBit: Double, dsp: Double) {
            (self.clockToQ, self.setup, self.lut, self.routeFanout) = (clockToQ, setup, lut, routeFanout)
            (self.carryEntry, self.carryBit, self.dsp) = (carryEntry, carryBit, dsp)
        }

        /// Fitted by `qkforge calibrate --fmax --reuse` on its eleven calibration designs
        /// (2026-12-07, session 7, with the compare's two LUT levels and the DSP delay fitted;
        /// docs/estimate-accuracy.md, "Fmax calibration"): clock-to-Q and setup kept, block RAM
        /// 3.0 kept by the fit.
        ///
        /// `dspSpread` (session 9) is fitted by least squares on the eight DSP paths nextpnr had
        /// placed on a block's critical path by then (docs/timing.md, session 9): the fc1 count
        /// register into its lanes' MULT18X18D and their product registers in QKFormer blocks of
        /// 30, 50 and 62 multipliers (held-out seeds 19, 20 and 22), 6.70 to 9.73 ns where the rest
        /// of the model says 6.50 ns; 0.044 ns a multiplier.
        public static let ecp5: Delays = {
            var d = Delays(clockToQ: 0.5, setup: 0.3, lut: 0.5, routeFanout: 0.05, carryEntry: 2.2, carryBit: 0.035, dsp: 5.7)
            d.dspSpread = 0.044
            return d
        }()
        /// Every LUT level 1, everything else nothing: the "deepest" path is then the one with
        /// the most LUT levels between flip-flops (summed across any carry chain, RAM or DSP it
        /// passes), and its `ns` is that count. The xc7 figure `estimate` prints.
        public static let levels: Delays = {
            var d = Delays(clockToQ: 0, setup: 0, lut: 1, routeFanout: 0, carryEntry: 0, carryBit: 0, dsp: 0)
            d.blockRAM = 0
            return d
        }()
    }

    /// LUT levels after the carry chain of a comparison against a constant on ECP5 (chain, then
    /// two or more LUT4 on each of the eleven nextpnr critical paths through a LIF compare in the
    /// calibration set and held-out seed 16).
    static let constantCompareLUTLevels: Int32 = 2

    /// The deepest register-to-register path.
    public struct Path: Sendable, Equatable {
        /// Estimated path delay in ns, clock-to-Q and setup included.
        public var ns: Double
        /// LUT levels on the path outside carry chains.
        public var lutLevels: Int
        /// Carry bits rippled on the path, over all its chains.
        public var carryBits: Int
        /// The longest single chain on the path, in bits.
        public var longestCarry: Int
        /// Carry chains entered on the path.
        public var chains: Int = 0
        /// Sum over the path's LUT levels of log2(fanout of the level's output).
        public var fanoutLog: Double = 0
        /// The path starts at a block RAM's read data.
        public var fromBlockRAM: Bool = false
        /// The instance path of the module whose flip-flop (or RAM) ends the path.
        public var endModule: String = ""
        public var fmaxMHz: Double { ns > 0 ? 1000 / ns : .infinity }
    }

    /// The whole design's critical path with K-input LUTs.
    public static func analyze(_ design: Design, lutInputs: Int = 4, delays: Delays = .ecp5) -> Path {
        let b = ResourceModel.finalBuilder(design)
        return analyze(b, lutInputs: lutInputs, delays: delays)
    }

    struct Arrival {
        var t: Double = 0
        var levels: Int32 = 0
        var carry: Int32 = 0
        var longest: Int32 = 0
        var chains: Int32 = 0
        var fanoutLog: Double = 0
        var fromRAM = false
        static func later(_ a: Arrival, _ b: Arrival) -> Arrival { b.t > a.t ? b : a }
    }

    static func analyze(_ b: FlatBuilder, lutInputs k: Int, delays d: Delays) -> Path {
        let lutInputs = k
        let net = b.net
        let n = net.kind.count
        func isGate(_ x: Int) -> Bool { net.kind[x].rawValue >= BitNetlist.Kind.not.rawValue }
        // Liveness from the outputs, as the resource packing finds it.
        var live = [Bool](repeating: false, count: n)
        var liveFlop = [Bool](repeating: false, count: b.flops.count)
        var liveBlock = [Bool](repeating: false, count: b.blocks.count)
        var work = b.topOutputs
        while let x = work.popLast() {
            if live[x] { continue }
            live[x] = true
            switch net.kind[x] {
            case .const0, .const1: break
            case .leaf:
                if let f = b.leafFlop[x] {
                    liveFlop[f] = true
                    work.append(b.flops[f].d); work.append(b.flops[f].en)
                } else if let blk = b.leafBlock[x], !liveBlock[blk] {
                    liveBlock[blk] = true
                    work += b.blocks[blk].inputs
                    for (p, q) in b.blocks[blk].pairs { work.append(p); work.append(q) }
                }
            default: work += net.fanins(x)
            }
        }
        var fanout = [Int32](repeating: 0, count: n)
        for x in 0..<n where live[x] && isGate(x) { for f in net.fanins(x) { fanout[f] += 1 } }
        for (i, f) in b.flops.enumerated() where liveFlop[i] { fanout[f.d] += 1; fanout[f.en] += 1 }
        for (i, blk) in b.blocks.enumerated() where liveBlock[i] {
            for x in blk.inputs { fanout[x] += 1 }
            for (p, q) in blk.pairs { fanout[p] += 1; fanout[q] += 1 }
        }
        let designDSPs = b.blocks.indices.reduce(0) { liveBlock[$1] ? $0 + b.blocks[$1].dsps : $0 }
        func rep(_ x: Int) -> Int {
            var x = x
            while net.kind[x] == .not { x = Int(net.a[x]) }
            return x
        }
        var arr = [Arrival](repeating: Arrival(), count: n)
        /// LUT levels since the last flop or carry chain (what ABC's depth mapping sees).
        var level = [Int32](repeating: 0, count: n)
        var cuts = [[[Int32]]](repeating: [], count: n)
        var blockDone = [Bool](repeating: false, count: b.blocks.count)
        func lutDelay(_ x: Int) -> Double {
            d.lut + d.routeFanout * log2(Double(max(1, fanout[x])))
        }
        func cutArrival(_ c: [Int32]) -> Arrival {
            var a = Arrival(t: -1)
            for l in c { a = Arrival.later(a, arr[Int(l)]) }
            return a
        }
        func merge(_ a: [Int32], _ c: [Int32]) -> [Int32]? {
            var out = a
            for l in c where !out.contains(l) {
                out.append(l)
                if out.count > k { return nil }
            }
            return out.sorted()
        }
        /// A block's outputs, once its inputs are known.
        func settle(_ bi: Int) {
            blockDone[bi] = true
            let blk = b.blocks[bi]
            switch blk.kind {
            case .adder:
                var run = Arrival(t: -Double.infinity)
                var chain: Int32 = 0, before: Int32 = 0
                for (j, (s, _)) in blk.pairs.enumerated() {
                    // The operands of the propagate `x ^ y` enter the chain here, or the carry
                    // from the bit below arrives later and ripples on.
                    let r = rep(s)
                    var op = net.kind[r] == .xor ? Arrival.later(arr[rep(Int(net.a[r]))], arr[rep(Int(net.b[r]))]) : arr[r]
                    op.t += d.carryEntry
                    op.carry += 1
                    op.chains += 1
                    var rippled = run
                    rippled.t += d.carryBit
                    rippled.carry += 1
                    if j > 0 && rippled.t >= op.t { run = rippled; chain += 1 } else { run = op; before = op.longest; chain = 1 }
                    var out = run
                    out.longest = max(before, chain)
                    if j < blk.outputs.count { arr[blk.outputs[j]] = out }
                }
            case .compare:
                // A comparison of two variables: a carry chain over the bit pairs.
                let w = blk.inputs.count / 2
                var a = Arrival(t: -1)
                for x in blk.inputs { a = Arrival.later(a, arr[rep(x)]) }
                a.t += d.carryEntry + d.carryBit * Double(w)
                a.carry += Int32(w)
                a.chains += 1
                a.longest = max(a.longest, Int32(w))
                for q in blk.outputs { arr[q] = a }
            case .dsp:
                var a = Arrival(t: 0)
                for x in blk.inputs { a = Arrival.later(a, arr[rep(x)]) }
                a.t += d.dsp + d.dspSpread * Double(min(designDSPs, d.dspSpreadCap))
                for q in blk.outputs { arr[q] = a }
            case .memory where blk.bram18 + blk.bram36 > 0:
                var a = Arrival(t: d.blockRAM - d.clockToQ)
                a.fromRAM = true
                for q in blk.outputs { arr[q] = a }
            case .memory, .flops:
                for q in blk.outputs { arr[q] = Arrival() }
            }
        }
        for x in 2..<n {
            switch net.kind[x] {
            case .const0, .const1: break
            case .leaf:
                if let bi = b.leafBlock[x], !blockDone[bi] { settle(bi) }
                cuts[x] = [[Int32(x)]]
            case .not:
                arr[x] = arr[rep(x)]
                level[x] = level[rep(x)]
                cuts[x] = cuts[rep(x)]
            default:
                guard live[x] else { continue }
                if lutInputs == 4, let ops = b.constantCompares[x], ops.count > 4 {
                    // ECP5: a comparison against a constant stays a carry chain, and `synth_ecp5`
                    // forms the result from the chain's top bits in two more LUT levels (every
                    // LIF compare on a nextpnr critical path reads chain, LUT, LUT).
                    var a = Arrival(t: -1)
                    for o in ops { a = Arrival.later(a, arr[rep(o)]) }
                    a.t += d.carryEntry + d.carryBit * Double(ops.count)
                    a.carry += Int32(ops.count)
                    a.chains += 1
                    a.longest = max(a.longest, Int32(ops.count))
                    a.t += Double(Self.constantCompareLUTLevels - 1) * d.lut + lutDelay(x)
                    a.levels += Self.constantCompareLUTLevels
                    a.fanoutLog += log2(Double(max(1, fanout[x])))
                    arr[x] = a
                    level[x] = Int32(Self.constantCompareLUTLevels)
                    cuts[x] = [[Int32(x)]]
                    continue
                }
                var acc: [[Int32]] = [[]]
                for f in net.fanins(x) {
                    let r = rep(f)
                    let opts: [[Int32]] = isGate(r) ? cuts[r] : [[Int32(r)]]
                    var next: [[Int32]] = []
                    for a in acc { for o in opts { if let m = merge(a, o) { next.append(m) } } }
                    acc = next
                }
                // ABC maps each region between flops and carry chains (hard boxes to it) for
                // LUT depth: the cut is chosen by levels from the region's inputs, then timed.
                var scored = Array(Set(acc)).map { c in (c, c.map { level[Int($0)] }.max() ?? 0, cutArrival(c)) }
                // Ties on levels go to the smaller cut (ABC's area tie-break): it leaves room in
                // the readers' cuts, which keeps a balanced tree at its optimal depth.
                scored.sort { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0.count != $1.0.count ? $0.0.count < $1.0.count : $0.2.t < $1.2.t }
                level[x] = (scored.first?.1 ?? 0) + 1
                var best = scored.first?.2 ?? Arrival()
                best.t += lutDelay(x)
                best.levels += 1
                best.fanoutLog += log2(Double(max(1, fanout[x])))
                arr[x] = best
                cuts[x] = [[Int32(x)]] + scored.prefix(8).map(\.0)
                // ABC balances associative logic before mapping (`balance`, `dch`): a tree of one
                // operator (AND, OR or XOR) whose inner gates are read nowhere else maps as a
                // balanced K-ary tree over its leaves, whatever order the netlist chained them in.
                // Combining the K earliest leaves first gives its least depth.
                let op = net.kind[x]
                if op == .and || op == .or || op == .xor {
                    var leaves: [Int] = [], stack = net.fanins(x)
                    while let f = stack.popLast() {
                        if net.kind[f] == op && fanout[f] == 1 { stack += net.fanins(f) } else { leaves.append(rep(f)) }
                    }
                    if leaves.count > k {
                        var items = leaves.map { (level[$0], arr[$0]) }
                        while items.count > 1 {
                            items.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1.t < $1.1.t }
                            let group = items.prefix(k)
                            var a = Arrival(t: -1)
                            for g in group { a = Arrival.later(a, g.1) }
                            a.t += lutDelay(x)
                            a.levels += 1
                            a.fanoutLog += log2(Double(max(1, fanout[x])))
                            items = [((group.map(\.0).max() ?? 0) + 1, a)] + Array(items.dropFirst(k))
                        }
                        if let (l, a) = items.first, l < level[x] || (l == level[x] && a.t < arr[x].t) {
                            level[x] = l
                            arr[x] = a
                        }
                    }
                }
            }
        }
        var worst = Arrival(t: 0), worstOwner = 0
        var perOwner: [Int: Arrival] = [:]
        func end(_ a: Arrival, _ owner: Int) {
            if a.t > worst.t { worst = a; worstOwner = owner }
            if a.t > (perOwner[owner]?.t ?? -1) { perOwner[owner] = a }
        }
        for (i, f) in b.flops.enumerated() where liveFlop[i] {
            end(arr[rep(f.d)], f.owner)
            end(arr[rep(f.en)], f.owner)
        }
        for (i, blk) in b.blocks.enumerated() where liveBlock[i] && blk.kind == .memory {
            for x in blk.inputs { end(arr[rep(x)], blk.owner) }
        }
        func path(_ a: Arrival, _ owner: Int) -> Path {
            Path(ns: d.clockToQ + a.t + d.setup, lutLevels: Int(a.levels), carryBits: Int(a.carry),
                 longestCarry: Int(a.longest), chains: Int(a.chains), fanoutLog: a.fanoutLog, fromBlockRAM: a.fromRAM,
                 endModule: b.placements[owner].path)
        }
        if ProcessInfo.processInfo.environment["QKFORGE_DEPTH_MODULES"] != nil {
            for (o, a) in perOwner.sorted(by: { $0.value.t > $1.value.t }) {
                let p = path(a, o)
                print(String(format: "  depth: %@ %.3f ns, %d levels, %d carry bits in %d chains (longest %d), fanout log2 sum %.3f, ram %d",
                             p.endModule, p.ns, p.lutLevels, p.carryBits, p.chains, p.longestCarry, p.fanoutLog, p.fromBlockRAM ? 1 : 0))
            }
        }
        return path(worst, worstOwner)
    }
}
