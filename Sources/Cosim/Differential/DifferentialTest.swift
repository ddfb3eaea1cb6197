import Description
import Foundation
import HDL

/// Runs one design in the IR simulator and in Verilator on the same random stimuli and
/// compares every output of every cycle. Each checks the other: the simulator checks the
/// emitter's Verilog, and Verilator checks the simulator's semantics.
public struct DifferentialTest {
    public struct Mismatch: Sendable, CustomStringConvertible {
        public let cycle: Int
        public let port: String
        public let simulator: String
        public let verilator: String
        public var description: String {
            "cycle \(cycle), output \(port): IR simulator \(simulator), Verilator \(verilator)"
        }
    }

    public struct Result: Sendable {
        public let cycles: Int
        public let outputs: Int
        public let mismatches: [Mismatch]
        /// Where the replay script was left, when there was a mismatch.
        public let replayDirectory: URL?
        public let verilatorCacheHit: Bool
        public let simulatorSeconds: Double
        public let verilatorSeconds: Double
    }

    /// Random stimuli for `cycles` cycles, packed as the harness wants: reset held for the first
    /// two cycles and then raised now and then; values drawn to hit edges (0, all ones, the
    /// sign bit) as well as uniformly.
    public static func stimuli(ports: [SimPort], cycles: Int, seed: UInt64) -> [UInt32] {
        var rng = SplitMix64(seed: seed)
        let stride = ports.reduce(0) { $0 + $1.words }
        var out = [UInt32](repeating: 0, count: stride * cycles)
        for c in 0..<cycles {
            var offset = c * stride
            for p in ports {
                let n = p.words
                if p.name == "rst" && p.width == 1 {
                    out[offset] = c < 2 || rng.next() % 64 == 0 ? 1 : 0
                    offset += n
                    continue
                }
                let kind = rng.next() % 8
                for i in 0..<n {
                    var w: UInt32
                    switch kind {
                    case 0: w = 0
                    case 1: w = ~0
                    case 2: w = UInt32(truncatingIfNeeded: rng.next() % 4)   // small
                    default: w = UInt32(truncatingIfNeeded: rng.next())
                    }
                    if kind == 2 && i > 0 { w = 0 }
                    if i == n - 1 && p.width % 32 != 0 { w &= (UInt32(1) << UInt32(p.width % 32)) - 1 }
                    out[offset + i] = w
                }
                offset += n
            }
        }
        return out
    }

    /// Elaborates `top`, runs both simulators for `cycles` cycles and compares. On a mismatch a
    /// replay script is written under `workDirectory/replay`.
    public static func run(_ top: Module, cycles: Int, seed: UInt64, workDirectory: URL,
                           options: VerilatorOptions = .init()) throws -> Result {
        let design = try Elaborate.run(top)
        let emitted = VerilogEmitter.emit(design)
        let model = try VerilatedDesign.build(design, emitted: emitted,
                                              directory: workDirectory.appendingPathComponent("rtl"), options: options)
        let sim = try Simulator(design)
        guard sim.inputWords == model.inputWords, sim.outputWords == model.outputWords else {
            throw ToolError("port layout differs: simulator \(sim.inputWords)/\(sim.outputWords) words, Verilator \(model.inputWords)/\(model.outputWords)")
        }
        let inputs = stimuli(ports: sim.inputs, cycles: cycles, seed: seed)
        var expected = [UInt32](repeating: 0, count: sim.outputWords * cycles)
        var actual = expected
        let t0 = Date()
        inputs.withUnsafeBufferPointer { i in
            expected.withUnsafeMutableBufferPointer { o in sim.run(cycles: cycles, inputs: i, outputs: o) }
        }
        let t1 = Date()
        inputs.withUnsafeBufferPointer { i in
            actual.withUnsafeMutableBufferPointer { o in model.run(cycles: cycles, inputs: i, outputs: o) }
        }
        let t2 = Date()
        var mismatches: [Mismatch] = []
        if expected != actual {
            let stride = sim.outputWords
            outer: for c in 0..<cycles {
                var offset = c * stride
                for p in sim.outputs {
                    let e = Array(expected[offset..<(offset + p.words)]), a = Array(actual[offset..<(offset + p.words)])
                    if e != a {
                        mismatches.append(Mismatch(cycle: c, port: p.name, simulator: hex(e, p.width), verilator: hex(a, p.width)))
                        if mismatches.count >= 20 { break outer }
                    }
                    offset += p.words
                }
            }
        }
        var replay: URL?
        if !mismatches.isEmpty {
            let dir = workDirectory.appendingPathComponent("replay")
            try model.writeReplay(to: dir, inputs: inputs, cycles: cycles)
            let report = "IR simulator versus Verilator, seed \(seed), \(cycles) cycles.\n"
                + mismatches.map { $0.description + "\n" }.joined()
                + "Run 'bash replay.sh' here to rerun the Verilog on the same stimuli with a waveform.\n"
            try Data(report.utf8).write(to: dir.appendingPathComponent("mismatches.txt"))
            replay = dir
        }
        return Result(cycles: cycles, outputs: sim.outputs.count, mismatches: mismatches, replayDirectory: replay,
                      verilatorCacheHit: model.reusedCache,
                      simulatorSeconds: t1.timeIntervalSince(t0), verilatorSeconds: t2.timeIntervalSince(t1))
    }

    static func hex(_ words: [UInt32], _ width: Int) -> String {
        var b: [UInt64] = []
        for i in stride(from: 0, to: words.count, by: 2) {
            b.append(UInt64(words[i]) | (i + 1 < words.count ? UInt64(words[i + 1]) << 32 : 0))
        }
        return Bits(width: width, truncating: b).description
    }
}
