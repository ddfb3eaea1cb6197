/// Counts what the bit netlist costs on a 7-series part, the way `abc -luts` and the xc7
/// techmap rules spend it:
///
/// - Dead logic is dropped: only what reaches a top-level output (through flip-flops, RAMs and
///   carry chains) is kept, as `opt_clean` does after `flatten`.
/// - Gates are packed greedily into 6-input LUTs: a gate with one reader is absorbed into that
///   reader while their joint support stays within 6 inputs; otherwise the widest operand cone
///   becomes a LUT of its own. A gate read in several places is its own LUT (ABC could
///   duplicate small cones; this model does not). Inverters on LUT inputs are free.
/// - Flip-flop data and enable pins, RAM and DSP ports and top outputs need a LUT output or a
///   leaf; an adder bit is one LUT that can absorb up to 6 inputs of its operands' logic.
/// - Wider functions (7 or 8 inputs) cost 2 or 4 LUT6 plus MUXF7/MUXF8 in ABC's mapping; the
///   greedy split gives the same LUT count, and MUXF7/MUXF8 are not counted as LUTs.
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

        // Cones, in creation order (operands first).
        var cone = [[Int32]](repeating: [], count: n)
        var materialized = [Bool](repeating: false, count: n)
        var lutCount = luts
        func isGate(_ x: Int) -> Bool { net.kind[x].rawValue >= BitNetlist.Kind.not.rawValue }
        func materialize(_ x: Int) {
            guard isGate(x), !materialized[x] else { return }
            // An inverter of a leaf inside a LUT is free, but alone it is an INV (a LUT1).
            materialized[x] = true
            lutCount[Int(net.owner[x])] += 1
        }
        func contribution(_ x: Int) -> [Int32] {
            switch net.kind[x] {
            case .const0, .const1: return []
            case .leaf: return [Int32(x)]
            case .not where !isGate(Int(net.a[x])): return net.kind[Int(net.a[x])] == .leaf ? [net.a[x]] : []
            default:
                if fanout[x] > 1 || materialized[x] { materialize(x); return [Int32(x)] }
                return cone[x]
            }
        }
        func union(_ parts: [[Int32]]) -> [Int32] {
            var u: [Int32] = []
            for p in parts { for v in p where !u.contains(v) { u.append(v) } }
            return u
        }
        for x in 0..<n where live[x] && isGate(x) {
            let ins = net.fanins(x)
            if net.kind[x] == .not { cone[x] = contribution(ins[0]); continue }
            var parts = ins.map { contribution($0) }
            var u = union(parts)
            while u.count > Self.lutInputs {
                // Make the widest operand cone a LUT of its own.
                var best = -1
                for (i, f) in ins.enumerated() where parts[i].count > 1 && (best < 0 || parts[i].count > parts[best].count) { best = i }
                if best < 0 { break }
                var target = ins[best]
                while net.kind[target] == .not && isGate(Int(net.a[target])) { target = Int(net.a[target]) }
                materialize(target)
                parts[best] = [Int32(ins[best])]
                u = union(parts)
            }
            cone[x] = u
        }
        func sink(_ x: Int) {
            guard isGate(x) else { return }
            if net.kind[x] == .not && !isGate(Int(net.a[x])) { materialize(x); return }   // INV
            materialize(x)
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
            for (p, q) in k.pairs.prefix(used) {
                if p <= 1 && q <= 1 { continue }
                if p <= 1 || q <= 1 {
                    // An operand bit against a constant: the carry chain takes the bit directly,
                    // or through an inverter (folded into its LUT when it has one).
                    let v = p <= 1 ? q : p
                    let c = p <= 1 ? p : q
                    let inverted = c == 1
                    if isGate(v) { sink(v) } else if inverted { adderLUTs += 1 }
                    continue
                }
                adderLUTs += 1
                var parts = [contribution(p), contribution(q)]
                while union(parts).count > Self.lutInputs {
                    let i = parts[0].count >= parts[1].count ? 0 : 1
                    var t = i == 0 ? p : q
                    while net.kind[t] == .not && isGate(Int(net.a[t])) { t = Int(net.a[t]) }
                    materialize(t)
                    parts[i] = [Int32(t)]
                }
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
