/// Counts what the bit netlist costs on a 7-series part, the way Yosys's `abc -luts
/// 2:2,3,6:5,10,20` (ABC's `if` mapper) and the xc7 techmap rules spend it:
///
/// - Dead logic is dropped: only what reaches a top-level output (through flip-flops, RAMs and
///   carry chains) is kept, as `opt_clean` does after `flatten`.
/// - The logic between leaves (flip-flops, inputs, carry chains, RAM outputs) and sinks
///   (flip-flop D and CE pins, CARRY4 S and DI inputs, RAM and DSP ports, top outputs) is
///   covered by cuts of up to 8 inputs: a cut of 6 or fewer is one LUT, of 7 two LUT6 and a
///   MUXF7, of 8 four LUT6, two MUXF7 and a MUXF8. ABC maps for depth first (every cut one
///   level), then recovers area under the deepest sink's depth, so logic read in several places
///   is duplicated when that keeps it shallow. Inverters are free inside a LUT; an inverter
///   alone in front of a pin is an INV (counted as a LUT).
/// - Each node keeps its 6 fastest and 6 (area-flow) smallest cuts; ABC keeps 8 priority cuts
///   and also restructures the logic (`dch`, `mfs2`), which this model does not.
/// - MUXF7/MUXF8 are not counted as LUTs.
struct LUTPacking {
    var luts: [Int]
    var flops: [Int]
    var carry4: [Int]
    var dsps: [Int]
    var bram18: [Int]
    var bram36: [Int]
    var lutRAMSites: [Int]
    /// Flip-flops with a constant output, and flip-flops identical to an earlier one.
    var constantFlops: [FlopKey: Int] = [:]
    var mergedFlops: [FlopKey: FlopKey] = [:]

    static let lutInputs = 6
    /// Area-recovery passes after the delay-oriented cover (ABC runs area flow, then exact area).
    static let recoveryPasses = 1

    init(_ b: FlatBuilder) {
        let net = b.net
        let n = net.kind.count
        let places = b.placements.count
        luts = [Int](repeating: 0, count: places)
        flops = luts; carry4 = luts; dsps = luts; bram18 = luts; bram36 = luts; lutRAMSites = luts

        // Liveness.
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
                } else if let k = b.leafBlock[x], !liveBlock[k] {
                    liveBlock[k] = true
                    work += b.blocks[k].inputs
                    for (p, q) in b.blocks[k].pairs { work.append(p); work.append(q) }
                }
            default: work += net.fanins(x)
            }
        }

        // Fanout among live readers.
        var fanout = [Int32](repeating: 0, count: n)
        for x in 0..<n where live[x] && net.kind[x].rawValue >= BitNetlist.Kind.not.rawValue {
            for f in net.fanins(x) { fanout[f] += 1 }
        }
        for (i, f) in b.flops.enumerated() where liveFlop[i] { fanout[f.d] += 1; fanout[f.en] += 1 }
        for (i, k) in b.blocks.enumerated() where liveBlock[i] {
            for x in k.inputs { fanout[x] += 1 }
            for (p, q) in k.pairs { fanout[p] += 1; fanout[q] += 1 }
        }
        for x in b.topOutputs { fanout[x] += 1 }

        // Cut-based LUT mapping, as ABC's `if` mapper does it for `abc -luts 2:2,3,6:5,10,20`:
        // every gate gets its best few cuts of up to 8 inputs, ranked by area flow with ABC's
        // costs (LUT1-2: 2, LUT3-6: 5, LUT7: 10, LUT8: 20); the cover is then chosen from the
        // sinks back. Inverters are free (folded into the LUT that reads them); logic read in
        // several places may be duplicated into several cuts, as ABC does.
        func isGate(_ x: Int) -> Bool { net.kind[x].rawValue >= BitNetlist.Kind.not.rawValue }
        /// The node a bit stands for once inverters are folded away.
        func rep(_ x: Int) -> Int {
            var x = x
            while net.kind[x] == .not { x = Int(net.a[x]) }
            return x
        }
        func abcCost(_ k: Int) -> Float { k <= 2 ? 2 : k <= 6 ? 5 : k == 7 ? 10 : 20 }
        func lutsOf(_ k: Int) -> Int { k <= 6 ? 1 : k == 7 ? 2 : 4 }
        let maxCut = 8, cutsKept = 12
        var cuts = [[[Int32]]](repeating: [], count: n)
        var flow = [Float](repeating: 0, count: n)
        var arrival = [Int32](repeating: 0, count: n)
        func leafFlow(_ l: Int32) -> Float { flow[Int(l)] / Float(max(1, Int(fanout[Int(l)]))) }
        func cutArrival(_ c: [Int32]) -> Int32 { (c.map { arrival[Int($0)] }.max() ?? -1) + 1 }
        func cutFlow(_ c: [Int32]) -> Float { abcCost(c.count) + c.reduce(0) { $0 + leafFlow($1) } }
        func merge(_ a: [Int32], _ b: [Int32], limit: Int) -> [Int32]? {
            var out = a
            for v in b where !out.contains(v) {
                out.append(v)
                if out.count > limit { return nil }
            }
            return out
        }
        /// Candidate cuts of a bit: its own trivial cut plus, for a gate, its kept cuts.
        func options(_ x: Int) -> [[Int32]] {
            let r = rep(x)
            if r <= 1 { return [[]] }
            if !isGate(r) { return [[Int32(r)]] }
            return [[Int32(r)]] + cuts[r]
        }
        for x in 0..<n where live[x] && isGate(x) && net.kind[x] != .not {
            let ins = net.fanins(x)
            var acc: [[Int32]] = [[]]
            for f in ins {
                var next: [[Int32]] = []
                for a in acc { for o in options(f) { if let m = merge(a, o, limit: maxCut) { next.append(m) } } }
                if next.count > 96 {
                    next.sort { $0.count < $1.count }
                    next = Array(next.prefix(96))
                }
                acc = next
            }
            var scored: [(Int32, Float, [Int32])] = []
            for c in acc {
                let sorted = c.sorted()
                if scored.contains(where: { $0.2 == sorted }) { continue }
                scored.append((cutArrival(sorted), cutFlow(sorted), sorted))
            }
            // Keep the fastest cuts and the smallest (area flow) ones.
            let byDelay = scored.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            let byArea = scored.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
            var kept: [[Int32]] = []
            for c in byDelay.prefix(cutsKept / 2) + byArea.prefix(cutsKept / 2) where !kept.contains(c.2) { kept.append(c.2) }
            cuts[x] = kept
            arrival[x] = byDelay.first?.0 ?? 0
            flow[x] = byArea.first?.1 ?? 0
        }
        var lutCount = luts
        var required = [Bool](repeating: false, count: n)
        var inverterLUTs: [Int: Bool] = [:]
        func sink(_ x: Int) {
            let r = rep(x)
            if isGate(r) { required[r] = true; return }
            // A lone inverter of a leaf or a constant-free wire into a pin is an INV.
            if r != x && r > 1 && inverterLUTs[x] == nil { inverterLUTs[x] = true; lutCount[Int(net.owner[x])] += 1 }
        }
        for (i, f) in b.flops.enumerated() where liveFlop[i] {
            sink(f.d); sink(f.en)
            flops[f.owner] += 1
        }
        for (i, k) in b.blocks.enumerated() where liveBlock[i] {
            for x in k.inputs { sink(x) }
            var adderLUTs = 0
            // Carry-chain bits above the highest output that is read are removed (opt_clean).
            let used = k.kind == .adder ? (k.outputs.lastIndex { live[$0] } ?? -1) + 1 : k.pairs.count
            for (s, di) in k.pairs.prefix(used) {
                // S: the propagate, a LUT output (an inverter of a leaf is an INV; a plain leaf
                // goes straight in). DI: the operand, a LUT output only when it is logic.
                sink(s)
                if isGate(rep(di)) { required[rep(di)] = true }
            }
            lutCount[k.owner] += adderLUTs + k.fixedLUTs
            carry4[k.owner] += k.kind == .adder ? (used + 3) / 4 : k.carry4
            dsps[k.owner] += k.dsps
            bram18[k.owner] += k.bram18
            bram36[k.owner] += k.bram36
            lutRAMSites[k.owner] += k.lutRAMSites
            flops[k.owner] += k.extraFlops
        }
        for x in b.topOutputs { sink(x) }
        // The cover, from the sinks back to the leaves: ABC maps for depth first, so every
        // sink must be reached within the deepest sink's depth; within that bound each node
        // takes the cut of least area flow (area recovery). Area flow shares a leaf's cost
        // among its estimated references; as in ABC these estimates start from the fanout and
        // are blended with the references of the previous cover, over `recoveryPasses` passes.
        var depth: Int32 = 0
        for x in 0..<n where required[x] { depth = max(depth, arrival[x]) }
        let sinkRequired = required
        var estRefs = fanout.map { Float(max(1, $0)) }
        var areaFlow = flow
        var coverLUTs = [Int](repeating: 0, count: places)
        for pass in 0...Self.recoveryPasses {
            if pass > 0 {
                for x in 0..<n where live[x] && isGate(x) && net.kind[x] != .not {
                    var bestF = Float.infinity
                    for c in cuts[x] {
                        let f = abcCost(c.count) + c.reduce(0) { $0 + areaFlow[Int($1)] / estRefs[Int($1)] }
                        if f < bestF { bestF = f }
                    }
                    areaFlow[x] = bestF.isFinite ? bestF : 0
                }
            }
            var req = sinkRequired
            var refs = [Int32](repeating: 0, count: n)
            var requiredTime = [Int32](repeating: Int32.max, count: n)
            for x in 0..<n where req[x] { requiredTime[x] = depth; refs[x] += 1 }
            coverLUTs = [Int](repeating: 0, count: places)
            var x = n - 1
            while x >= 2 {
                if req[x] && isGate(x) {
                    let r = requiredTime[x]
                    var choice: [Int32] = []
                    var bestFlow = Float.infinity
                    for c in cuts[x] where cutArrival(c) <= r {
                        let f = abcCost(c.count) + c.reduce(0) { $0 + areaFlow[Int($1)] / estRefs[Int($1)] }
                        if f < bestFlow { bestFlow = f; choice = c }
                    }
                    if choice.isEmpty { choice = cuts[x].min { cutArrival($0) < cutArrival($1) } ?? [] }
                    coverLUTs[Int(net.owner[x])] += lutsOf(choice.count)
                    for l in choice {
                        refs[Int(l)] += 1
                        guard isGate(Int(l)) else { continue }
                        req[Int(l)] = true
                        requiredTime[Int(l)] = min(requiredTime[Int(l)], r - 1)
                    }
                }
                x -= 1
            }
            for i in 0..<n { estRefs[i] = max(1, (2 * estRefs[i] + Float(refs[i])) / 3) }
        }
        for i in 0..<places { lutCount[i] += coverLUTs[i] }
        luts = lutCount

        // What opt_dff and opt_merge will do on the next round.
        var seen: [SIMD3<Int32>: FlopKey] = [:]
        for f in b.flops {
            if f.en == 0 || f.d == f.q { constantFlops[f.key] = f.reset ?? 0; continue }
            if f.d <= 1 && (f.reset == nil || f.reset == f.d) { constantFlops[f.key] = f.d; continue }
            let sig = SIMD3<Int32>(Int32(f.d), Int32(f.en), Int32(f.reset ?? -1))
            if let rep = seen[sig] { mergedFlops[f.key] = rep } else { seen[sig] = f.key }
        }
    }
}
