/// Counts what the bit netlist costs on a 7-series part, the way Yosys's `abc -luts
/// 2:2,3,6:5,10,20` (ABC's `if` mapper) and the xc7 techmap rules spend it:
///
/// - Dead logic is dropped: only what reaches a top-level output (through flip-flops, RAMs and
///   carry chains) is kept, as `opt_clean` does after `flatten`.
/// - The logic between leaves (flip-flops, inputs, carry chains, RAM outputs) and sinks
///   (flip-flop D and CE pins, CARRY4 S and DI inputs, RAM and DSP ports, top outputs) is
///   covered by cuts of up to 8 inputs: a cut of 6 or fewer is one LUT, of 7 two LUT6 and a
///   MUXF7, of 8 four LUT6, two MUXF7 and a MUXF8. ABC maps for depth first (every cut one
///   level), then recovers area under the deepest sink's depth (one area-flow pass, then two
///   exact-area passes, as `if` does by default), so logic read in several places is duplicated
///   when that keeps it shallow or when every reader can absorb it. Inverters are free inside a LUT; an inverter
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
    /// Exact-area passes after area flow (ABC `if` default: one area-flow pass, two exact-area).
    static let exactAreaPasses = 2

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
        func strip(_ x: Int) -> Int {
            var x = x
            while net.kind[x] == .not { x = Int(net.a[x]) }
            return x
        }
        // The width `cmp2lcu` sees is the operand's after `wreduce`, which drops a signed
        // operand's sign-extension bits (the top bit is inverted in offset binary, so compare
        // without inverters). A T = 1 LIF bank's `H >= 256` on a 13-bit H that is a 12-bit
        // current sign-extended is a 12-bit compare, plain logic: Yosys keeps only the current's
        // top 4 bits (held-out seed 20, QKTA C28 P5 T1: 4 of each lane's 12 output-register
        // bits; the estimate kept all 12).
        func reducedWidth(_ v: [Int]) -> Int {
            var n = v.count
            while n >= 2 && strip(v[n - 1]) == strip(v[n - 2]) { n -= 1 }
            return n
        }
        var wideCompareReads: [Int: [Int]] = [:]
        for (o, vars) in b.constantCompares where reducedWidth(vars) > 12 { wideCompareReads[strip(o), default: []] += vars }
        while let x = work.popLast() {
            if live[x] { continue }
            live[x] = true
            // A comparison against a constant of more than 12 variable bits is a `cmp2lcu`
            // chain in Yosys 0.23 (three or more 6-bit slices on a CARRY4): every variable bit
            // is read, even one the constant makes irrelevant. Measured on a register compared
            // with a constant (`synth_xilinx -family xc7`): `r >= 3 << 9` at 12 bits keeps 3
            // flops and a LUT3, `r >= 1 << 12` at 13 bits all 13 flops, 4 LUT6 and a CARRY4. A
            // LIF bank's `H >= 256` on 13 bits so reads the low bits of H, which at T = 1
            // nothing else does. (Keyed without inverters: `r >= 1 << 12` is the bare `r[12]`.)
            if let vars = wideCompareReads[strip(x)] { work += vars }
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
        for (i, f) in b.flops.enumerated() where liveFlop[i] {
            fanout[f.dPin ?? f.d] += 1; fanout[f.en] += 1
            if let r = f.rPin { fanout[r] += 1 }
        }
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
            if r <= 3 { return [[]] }  // a constant (or late constant): no input
            if !isGate(r) || wideMuxRoot[r] { return [[Int32(r)]] }
            return [[Int32(r)]] + cuts[r]
        }
        // Register-file reads through wide multiplexer trees. A tree of 2:1 multiplexers over
        // at least 8 registers on a multi-bit index (`wideMuxRoots`), where the registers are
        // written with enables decoded from the same index (`isRegisterFileRead`, a LIF bank's
        // group registers) and the tree's output must exist as a signal (below), is not mapped
        // as a tree: ABC shares the index decode between the write enables and the read, and its
        // AIG holds the read as the OR of two halves, each the top select AND a 4:1
        // multiplexer (7 inputs). Observed in Yosys 0.23 `synth_xilinx -flatten` netlists,
        // per membrane bit of every lane:
        // - hst-4-384 s1 qkta P12 and hst-2-256 s1 qkta P16 (whole designs): the 4:1 half a
        //   LUT6 plus a LUT2 gating it with the top select, the other half two LUTs (LUT6 +
        //   LUT3), and a LUT3 ORing the halves with the `in_first` gate: 5 LUTs (3 LUTs per bit
        //   read a `v_*` register, 1 LUT2 per bit gates a half; 612 and 1440 bits).
        // - the same banks synthesized alone (LIF bank L16 P2, L96 P12 rows): each half one
        //   LUT7 (two LUTs and a MUXF7; for one half the MUXF7 select is the top select and one
        //   LUT is the constant 0 and disappears), then the LUT3: 4 LUTs.
        // - a plain 8:1 tree over independently written registers (no shared decode) is two
        //   LUT6 and a LUT3 per bit, what the ordinary cut mapping finds.
        // The model: the root is a LUT over its select and the two 4:1 trees (one LUT6 each),
        // plus one LUT for gating the second half (`lutsOf + 1` in the cover), and no reader
        // merges it; the reader that needs it as a signal (the `first` gate feeding CARRY4 DI)
        // is one more LUT. That is 5 per bit, the whole-design mapping; block rows of an
        // isolated bank come out about one LUT per bit high (+5 to +7%).
        var wideMuxRoot = Self.wideMuxRoots(net, live: live, fanout: fanout)
        do {
            // Keep only the trees whose output must exist as a signal: read, directly or through
            // one gate (the `in_first` gating of a LIF lane), by a pin that is not a LUT input
            // (CARRY4 DI, flip-flop D or CE, a RAM/DSP port, a top output). Trees read only by
            // LUTs are absorbed into them as any 2:1 multiplexer is.
            var signalPins: [Int] = b.topOutputs
            for (i, f) in b.flops.enumerated() where liveFlop[i] { signalPins += [f.dPin ?? f.d, f.en] + (f.rPin.map { [$0] } ?? []) }
            for (i, k) in b.blocks.enumerated() where liveBlock[i] { signalPins += k.inputs + k.pairs.map { $0.1 } }
            var realized = [Bool](repeating: false, count: n)
            for y in signalPins {
                let r = rep(y)
                guard r > 1 && isGate(r) else { continue }
                if wideMuxRoot[r] { realized[r] = true }
                for f in net.fanins(r) where wideMuxRoot[rep(f)] { realized[rep(f)] = true }
            }
            for x in 0..<n where wideMuxRoot[x] && !realized[x] { wideMuxRoot[x] = false }
            // ... and only register files: the selected registers are written with enables
            // decoded from the same index (a LIF bank's `accept & in_group == g`).
            for x in 0..<n where wideMuxRoot[x] && !Self.isRegisterFileRead(x, b) { wideMuxRoot[x] = false }
        }
        for x in 0..<n where live[x] && isGate(x) && net.kind[x] != .not {
            if wideMuxRoot[x] {
                let c = [Int32(rep(Int(net.a[x]))), Int32(rep(Int(net.b[x]))), Int32(rep(Int(net.c[x])))].filter { $0 > 3 }
                let sorted = Array(Set(c)).sorted()
                cuts[x] = [sorted]
                arrival[x] = cutArrival(sorted)
                flow[x] = cutFlow(sorted)
                continue
            }
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
            if r != x && r > 3 && inverterLUTs[x] == nil { inverterLUTs[x] = true; lutCount[Int(net.owner[x])] += 1 }
        }
        /// A register that is the only reader of a DSP product bit, with no reset: the DSP48E1's
        /// own output register.
        func isProductRegister(_ f: FlopBit) -> Bool {
            f.reset == nil && f.rPin == nil && f.d > 3 && fanout[f.d] == 1
                && b.leafBlock[f.d].map { b.blocks[$0].kind == .dsp } == true
        }
        for (i, f) in b.flops.enumerated() where liveFlop[i] {
            // A product register goes into the DSP48E1 (`xilinx_dsp`: PREG, its enable on
            // CEP): no flip-flop. Yosys 0.23 on the accumulators' registered count x weight product
            // (held-out seed 12: mlp C28 T1 P7, 308 FFs = 28 lanes x 11 bits, all absorbed).
            if isProductRegister(f) {
                sink(f.en)
                continue
            }
            sink(f.dPin ?? f.d); sink(f.en)
            flops[f.owner] += 1
            // The sync reset made from a constant arm (`FlopBit.rPin`): under a clock enable it
            // is `c & en`, which `dfflegalize` builds for every bit and ABC keeps as one LUT per
            // bit (Yosys 0.23, 15-bit `if (adv) s2 <= first ? 0 : rd`: a 3:1 or 4:1 group read
            // gives 15 LUT2 on R beside 15 LUT5 or LUT6 on D; an 8:1 read, 45 LUT6 and none on R,
            // which is why `FlatBuilder` sets the pins only for a rest of at most 6 inputs).
            if let r = f.rPin {
                sink(r)
                if f.en != 1 && f.en > 3 { lutCount[f.owner] += 1 }
            }
        }
        /// A DSP product bit: the DSP's output, or the flip-flop absorbed as its register (above).
        func fromDSP(_ x: Int) -> Bool {
            let r = rep(x)
            if let k = b.leafBlock[r] { return b.blocks[k].kind == .dsp }
            return b.leafFlop[r].map { isProductRegister(b.flops[$0]) } ?? false
        }
        /// The operands of an adder's bits, or nil when a bit is not a plain `x ^ y` / `x ^ ~y`.
        func operands(_ k: HardBlock, _ used: Int) -> (x: [Int], y: [Int])? {
            var xs: [Int] = [], ys: [Int] = []
            for (s, di) in k.pairs.prefix(used) {
                let r = rep(s)
                guard net.kind[r] == .xor else { return nil }
                let a = Int(net.a[r]), c = Int(net.b[r])
                let other = rep(a) == rep(di) ? c : rep(c) == rep(di) ? a : -1
                guard other >= 0 else { return nil }
                xs.append(di); ys.append(other)
            }
            return (xs, ys)
        }
        for (i, k) in b.blocks.enumerated() where liveBlock[i] {
            for x in k.inputs { sink(x) }
            // Carry-chain bits above the highest output that is read are removed (opt_clean).
            let used = k.kind == .adder ? (k.outputs.lastIndex { live[$0] } ?? -1) + 1 : k.pairs.count
            // An add of a DSP product and another operand, at most 48 bits, goes into the
            // DSP48E1's post-adder (`xilinx_dsp`: P = C + M): no CARRY4 and no propagate LUTs;
            // the other operand is the C port. Yosys 0.23 on the count x weight accumulators
            // (held-out seed 17, QKFormer block C12 P7: fc1's 48 lanes of 13-bit adds left one
            // CARRY4 in all).
            if k.kind == .adder, used > 0, used <= 48, let (xs, ys) = operands(k, used) {
                func dspOperand(_ v: [Int]) -> Bool {
                    let vars = v.filter { rep($0) > 3 }
                    return !vars.isEmpty && vars.allSatisfy(fromDSP)
                }
                let c: [Int]? = dspOperand(ys) ? xs : dspOperand(xs) ? ys : nil
                if let c {
                    for x in c where rep(x) > 3 { sink(x) }
                    continue
                }
            }
            for (s, di) in k.pairs.prefix(used) {
                // S: the propagate, a LUT output (an inverter of a leaf is an INV; a plain leaf
                // goes straight in). DI: the operand, a LUT output only when it is logic.
                sink(s)
                if isGate(rep(di)) { required[rep(di)] = true }
            }
            lutCount[k.owner] += k.fixedLUTs  // the propagate LUTs are counted by the cover below
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
        var best = [[Int32]](repeating: [], count: n)
        var lastRequiredTime = [Int32](repeating: 0, count: n)
        var lastRefs = [Int32](repeating: 0, count: n)
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
                    coverLUTs[Int(net.owner[x])] += lutsOf(choice.count) + (wideMuxRoot[x] ? 1 : 0)
                    best[x] = choice
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
            lastRequiredTime = requiredTime
            lastRefs = refs
        }
        if Self.exactAreaPasses > 0 {
            // Exact-area recovery (ABC `if`'s last two passes, If_CutAreaRef/Deref): each mapped
            // node, in topological order, releases its cut and takes the one whose own LUTs plus
            // the LUTs it would newly bring into the cover (leaves referenced nowhere else,
            // recursively) cost least, ties going to the shallower cut. Area flow charges a shared
            // gate to every reader (a fraction each), so it keeps a small gate read by several
            // LUTs; here a reader that can take the gate's inputs instead costs the same, and once
            // the last reader has done so the gate's LUT disappears: the gate is duplicated into
            // its readers. Nodes brought into the cover here keep the depth bound of the sinks.
            //
            // The area is the LUT count (LUT7 = 2, LUT8 = 4), not ABC's library costs (LUT1-2: 2,
            // LUT3: 3, LUT4-6: 5): Yosys reports LUTs, and `mfs2` after `if` removes LUTs rather
            // than library area. Evidence (Yosys 0.23 synth_xilinx -flatten, 16 calibration
            // designs): with these passes the event encoder (k64) goes from 415 to 384 LUTs
            // (Yosys 355; its netlist keeps 25 of the 64 one-hot `mask & s` ANDs as LUT2 and
            // reads 3 (mask, s) pairs in each of 48 LUT6; the model now keeps 58 and reads pairs
            // directly in 18 LUT6), and the whole designs move to within -5% to +2% of Yosys
            // (hst-4-384 s1 qkta P12: 8247 -> 8104, Yosys 8075; qkca P12: 8809 -> 8667, 8503). With
            // library costs as the area, the whole designs come out 2 to 6% higher instead
            // (P12: 8472; qkca P12: 9035; hst-4-384 s2 P24: 16848 vs Yosys 16194).
            // A gate outside the cover enters it (when a reader's new cut takes it as a leaf)
            // with its best area-flow cut.
            for x in 0..<n where live[x] && isGate(x) && net.kind[x] != .not && best[x].isEmpty {
                var bestF = Float.infinity
                for c in cuts[x] {
                    let f = abcCost(c.count) + c.reduce(0) { $0 + areaFlow[Int($1)] / estRefs[Int($1)] }
                    if f < bestF { bestF = f; best[x] = c }
                }
            }
            // References from the area-flow cover: a gate's readers in the cover plus one for a
            // pin (sink). Only gates are counted; leaves cost nothing.
            var refs = lastRefs
            for x in 0..<n where refs[x] > 0 && !isGate(x) { refs[x] = 0 }
            func cutArea(_ c: [Int32]) -> Float { Float(lutsOf(c.count)) }
            func refCut(_ c: [Int32]) -> Float {
                var a = cutArea(c)
                for l in c where isGate(Int(l)) {
                    refs[Int(l)] += 1
                    if refs[Int(l)] == 1 { a += refCut(best[Int(l)]) }
                }
                return a
            }
            func derefCut(_ c: [Int32]) -> Float {
                var a = cutArea(c)
                for l in c where isGate(Int(l)) {
                    refs[Int(l)] -= 1
                    if refs[Int(l)] == 0 { a += derefCut(best[Int(l)]) }
                }
                return a
            }
            var rt = lastRequiredTime
            // Gates outside the area-flow cover have no required time yet: the sinks' depth.
            for x in 0..<n where rt[x] == Int32.max { rt[x] = depth }
            for _ in 0..<Self.exactAreaPasses {
                for x in 0..<n where refs[x] > 0 && isGate(x) && !best[x].isEmpty {
                    _ = derefCut(best[x])
                    var choice = best[x], bestA = Float.infinity
                    for c in cuts[x] where cutArrival(c) <= rt[x] || c == best[x] {
                        let a = refCut(c)
                        _ = derefCut(c)
                        if a < bestA { bestA = a; choice = c }
                    }
                    best[x] = choice
                    _ = refCut(choice)
                }
            }
            coverLUTs = [Int](repeating: 0, count: places)
            for x in 0..<n where refs[x] > 0 && isGate(x) && !best[x].isEmpty {
                coverLUTs[Int(net.owner[x])] += lutsOf(best[x].count) + (wideMuxRoot[x] ? 1 : 0)
            }
        }
        for i in 0..<places { lutCount[i] += coverLUTs[i] }
        luts = lutCount

        // What opt_dff and opt_merge will do on the next round.
        var seen: [SIMD3<Int32>: FlopKey] = [:]
        for f in b.flops {
            if f.en == 0 || f.d == f.q { constantFlops[f.key] = f.reset ?? 0; continue }
            if f.d <= 1 && (f.reset == nil || f.reset == f.d) { constantFlops[f.key] = f.d; continue }
            // The same on late constants (BitNetlist): the flop is a late constant too.
            if f.en == BitNetlist.lateZero { constantFlops[f.key] = BitNetlist.lateZero + (f.reset ?? 0); continue }
            if let v = BitNetlist.value(f.d), f.d > 1, f.reset == nil || f.reset == v {
                constantFlops[f.key] = f.d; continue
            }
            // Constant by induction from reset: with its own output at its reset value, the
            // flop's next value is that value again (or it is not enabled). A time-step counter
            // of one step (T = 1) is such a flop (`q == 0 ? 0 : q + 1`); the state it gates
            // away (a LIF membrane that is never read back) then dies in the next round. Yosys
            // sees it only on the gate-level netlist, after the adders are CARRY4 cells, so it
            // is a late constant: the chains it feeds stay, as they do in Yosys
            // (`LateConstantTests`).
            if let r = f.reset, Self.holdsReset(f, r, b.net) { constantFlops[f.key] = BitNetlist.lateZero + r; continue }
            let sig = SIMD3<Int32>(Int32(f.d), Int32(f.en), Int32(f.reset ?? -1))
            if let rep = seen[sig] { mergedFlops[f.key] = rep } else { seen[sig] = f.key }
        }
    }

    /// Whether flop `f`, at its reset value `r`, stays there: its enable or its data, evaluated
    /// with its output at `r` and every other leaf unknown, gives 0 or `r`. Gives up (false) on a
    /// cone of more than 4096 gates.
    static func holdsReset(_ f: FlopBit, _ r: Int, _ net: BitNetlist) -> Bool {
        var memo: [Int: Int8] = [:]   // 0, 1, or -1 (unknown)
        var budget = 4096
        func eval(_ x: Int) -> Int8 {
            if x == 0 { return 0 }
            if x == 1 { return 1 }
            if x == f.q { return Int8(r) }
            if let v = memo[x] { return v }
            budget -= 1
            if budget < 0 { return -1 }
            let v: Int8
            switch net.kind[x] {
            case .const0: v = 0
            case .const1: v = 1
            case .leaf: v = -1
            case .not: let a = eval(Int(net.a[x])); v = a < 0 ? -1 : 1 - a
            case .and:
                let a = eval(Int(net.a[x]))
                if a == 0 { v = 0 } else { let c = eval(Int(net.b[x])); v = c == 0 ? 0 : (a == 1 && c == 1 ? 1 : -1) }
            case .or:
                let a = eval(Int(net.a[x]))
                if a == 1 { v = 1 } else { let c = eval(Int(net.b[x])); v = c == 1 ? 1 : (a == 0 && c == 0 ? 0 : -1) }
            case .xor:
                let a = eval(Int(net.a[x])), c = eval(Int(net.b[x]))
                v = a < 0 || c < 0 ? -1 : a ^ c
            case .mux:
                let sel = eval(Int(net.a[x]))
                if sel == 1 { v = eval(Int(net.b[x])) } else if sel == 0 { v = eval(Int(net.c[x])) } else {
                    let t = eval(Int(net.b[x])), e = eval(Int(net.c[x]))
                    v = t == e ? t : -1
                }
            }
            memo[x] = v
            return v
        }
        if eval(f.en) == 0 { return true }
        let d = eval(f.d)
        return budget >= 0 && d == Int8(r)
    }

    /// The roots of wide multiplexer trees: a 2:1 multiplexer whose two data inputs are
    /// multiplexers read nowhere else, on one shared select, each again of that shape, for at
    /// least three levels (an 8:1 or wider selection by a multi-bit index, as
    /// `SpikeStreamParts.select` builds for a LIF bank's group registers).
    static func wideMuxRoots(_ net: BitNetlist, live: [Bool], fanout: [Int32]) -> [Bool] {
        let n = net.kind.count
        var levels = [UInt8](repeating: 0, count: n)
        var root = [Bool](repeating: false, count: n)
        for x in 0..<n where live[x] && net.kind[x] == .mux {
            let t = Int(net.b[x]), f = Int(net.c[x])
            var l: UInt8 = 0
            if t > 1 && f > 1 && net.kind[t] == .leaf && net.kind[f] == .leaf {
                l = 1
            } else if net.kind[t] == .mux && net.kind[f] == .mux && fanout[t] == 1 && fanout[f] == 1
                && net.a[t] == net.a[f] && net.a[t] != net.a[x] {
                let below = min(levels[t], levels[f])
                l = below == 0 ? 0 : 1 + below
            }
            levels[x] = l
            root[x] = l >= 3
        }
        return root
    }

    /// Whether the wide multiplexer tree at `root` reads flip-flops whose clock enables depend
    /// on every select bit of the tree (a register file written and read at one index).
    static func isRegisterFileRead(_ root: Int, _ b: FlatBuilder) -> Bool {
        let net = b.net
        var selects = Set<Int>(), data: [Int] = []
        var stack = [root]
        while let x = stack.popLast() {
            guard net.kind[x] == .mux else { data.append(x); continue }
            selects.insert(Int(net.a[x]))
            stack += [Int(net.b[x]), Int(net.c[x])]
        }
        for d in data {
            guard let f = b.leafFlop[d] else { return false }
            // The enable's support, a few gates deep.
            var seen = Set<Int>(), work = [b.flops[f].en], found = Set<Int>()
            while let y = work.popLast(), seen.count < 256 {
                if !seen.insert(y).inserted { continue }
                if selects.contains(y) { found.insert(y) }
                work += net.fanins(y)
            }
            if found.count < selects.count { return false }
        }
        return true
    }
}
