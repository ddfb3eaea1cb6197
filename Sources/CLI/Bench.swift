import Foundation
import HDL
import Cosim
import Golden

/// `qkforge bench`: the HDL core's speed figures, measured in one run so that ratios hold on a
/// noisy machine.
enum Bench {
    static func peakMemoryMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
        return kb / 1024
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    static func countNodes(_ m: Module) -> Int {
        var count = 0
        var seen = Set<ObjectIdentifier>()
        var stack: [Expr] = m.assignments.map(\.value) + m.updates.flatMap { [$0.value] + ($0.enable.map { [$0] } ?? []) }
        while let e = stack.popLast() {
            if !seen.insert(ObjectIdentifier(e)).inserted { continue }
            count += 1
            stack += e.args
        }
        return count + m.signals.count
    }

    static func run(nodes: Int, cycles: Int) throws {
        // 1. Elaborate and emit a synthetic design of `nodes` IR nodes.
        var options = RandomCircuit.Options()
        options.inputs = 16
        options.nodes = nodes
        options.registers = max(nodes / 50, 1)
        options.outputs = 64
        options.maxWidth = 48
        options.memories = false
        let baseline = peakMemoryMiB()
        var module: Module!
        let tBuild = seconds { module = RandomCircuit.make(name: "bench_top", seed: 7, options: options) }
        let irNodes = countNodes(module)
        var design: Design!
        let tElab = try seconds { design = try Elaborate.run(module) }
        var emitted: EmittedDesign!
        let tEmit = seconds { emitted = VerilogEmitter.emit(design) }
        let lines = emitted.verilog.reduce(0) { $0 + $1.contents.split(separator: "\n").count }
        print("elaborate+emit: \(irNodes) IR nodes; build \(fmt(tBuild)) s, elaborate \(fmt(tElab)) s, emit \(fmt(tEmit)) s (\(lines) lines of Verilog); peak memory \(fmt(peakMemoryMiB())) MiB (\(fmt(baseline)) MiB before)")

        // 2. Verilator through the Swift harness against a plain C++ loop, same model.
        var small = RandomCircuit.Options()
        small.nodes = 400
        small.registers = 20
        small.maxWidth = 64
        let harnessTop = RandomCircuit.batch(name: "bench_harness", seeds: [11, 12, 13, 14], options: small)
        let hDesign = try Elaborate.run(harnessTop)
        let hEmitted = VerilogEmitter.emit(hDesign)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-bench-\(getpid())")
        let token = Interrupts.removeOnInterrupt(dir.path)
        defer { try? FileManager.default.removeItem(at: dir); token.release() }
        let vDesign = try VerilatedDesign.describe(hDesign, emitted: hEmitted, directory: dir)
        let model = try VerilatorModel.build(vDesign)
        let native = try VerilatorModel.nativeBenchmarkRun(vDesign, cycles: cycles, seed: 5)
        let swift = model.benchmarkSwiftRun(cycles: cycles, seed: 5)
        let sim = try Simulator(hDesign)
        let simCycles = max(cycles / 100, 1000)
        let inputs = DifferentialTest.stimuli(ports: sim.inputs, cycles: simCycles, seed: 5)
        var out = [UInt32](repeating: 0, count: sim.outputWords * simCycles)
        let tSim = seconds {
            inputs.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in sim.run(cycles: simCycles, inputs: i, outputs: o) } }
        }
        print("verilator harness (4 random circuits, \(sim.operatorCount) IR operators): native C++ loop \(fmt(native.cyclesPerSecond)) cycles/s, Swift-driven per-cycle \(fmt(swift.cyclesPerSecond)) cycles/s; overhead \(fmt(native.cyclesPerSecond / swift.cyclesPerSecond))x; checksums \(native.checksum == swift.checksum ? "equal" : "DIFFER")")
        print("IR simulator on the same design: \(fmt(Double(simCycles) / tSim)) cycles/s")

        // 3. The golden model's LIF, one Int64 membrane per neuron (not bit-packed).
        print("golden LIF bank: \(fmt(benchmarkLIF(neurons: 65_536, steps: 100))) neuron updates/s (65,536 neurons x 100 steps)")
    }

    static func fmt(_ x: Double) -> String {
        if x >= 1e5 { return String(format: "%.3g", x) }
        return String(format: "%.3f", x)
    }
}
