import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One benchmark run: speed, and a checksum of every output word read, so that the
/// native and the Swift-driven loops can be checked to have simulated the same thing.
public struct VerilatorBenchmark: Sendable, Equatable {
    public var cycles: Int
    public var seconds: Double
    public var checksum: UInt64
    public var cyclesPerSecond: Double { seconds > 0 ? Double(cycles) / seconds : .infinity }
}

extension VerilatorModel {
    /// Speed of a plain C++ loop over the same compiled model (sim/bench_main.cpp):
    /// per cycle, random inputs from xorshift64, set, eval, read outputs, tick.
    public static func nativeBenchmark(_ design: VerilatorDesign, cycles: Int, seed: UInt64,
                                       options: VerilatorOptions = .init()) throws -> Double {
        try nativeBenchmarkRun(design, cycles: cycles, seed: seed, options: options).cyclesPerSecond
    }

    /// `nativeBenchmark` with the checksum and timing.
    public static func nativeBenchmarkRun(_ design: VerilatorDesign, cycles: Int, seed: UInt64,
                                          options: VerilatorOptions = .init()) throws -> VerilatorBenchmark {
        let built = try VerilatorBuilder.prepare(design, options)
        let bench = try benchExecutable(built)
        var arguments = [String(cycles), String(seed)]
        if let runDirectory = built.runDirectory { arguments.append(runDirectory.path) }
        let result = try VerilatorToolchain.run(bench.path, arguments)
        // "cycles <n> seconds <s> checksum <hex>"
        let fields = result.output.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard result.status == 0, let index = fields.firstIndex(of: "cycles"), fields.count >= index + 6,
              let count = Int(fields[index + 1]), let seconds = Double(fields[index + 3]),
              let checksum = UInt64(fields[index + 5], radix: 16) else {
            throw VerilatorError(.toolRunFailed, "native benchmark of '\(design.top)' failed (exit \(result.status))",
                                 toolOutput: VerilatorError.excerpt(of: result.output))
        }
        return VerilatorBenchmark(cycles: count, seconds: seconds, checksum: checksum)
    }

    /// Builds `<build>/qk_bench` once, under a file lock, from the cached objects.
    private static func benchExecutable(_ built: BuiltModel) throws -> URL {
        let target = built.directory.appendingPathComponent("qk_bench")
        if FileManager.default.isExecutableFile(atPath: target.path) { return target }
        let lockPath = built.directory.appendingPathComponent(".bench.lock").path
        let lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw VerilatorError(.io, "cannot create \(lockPath)") }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        defer { flock(lock, LOCK_UN) }
        if FileManager.default.isExecutableFile(atPath: target.path) { return target }

        let scratch = built.directory.appendingPathComponent(".bench-\(getpid())")
        let log = built.directory.appendingPathComponent("bench-build.log")
        try? FileManager.default.removeItem(at: log)
        let make = try VerilatorToolchain.run(
            VerilatorToolchain.make,
            ["-C", built.objDirectory.path, "-f", "../harness.mk", "QK_PREFIX=\(built.modelClass)",
             "QK_BENCH_OUT=\(scratch.path)", "-j", String(built.options.jobs), "bench"],
            log: log)
        defer {
            try? FileManager.default.removeItem(at: scratch)
            try? FileManager.default.removeItem(atPath: scratch.path + ".o")
        }
        guard make.status == 0, rename(scratch.path, target.path) == 0 else {
            throw VerilatorError(.compileFailed, "cannot build the native benchmark of '\(built.design.top)'",
                                 toolOutput: VerilatorError.excerpt(of: make.output), logFile: log)
        }
        return target
    }

    /// Speed of the same loop as `nativeBenchmark`, driven from Swift through
    /// setInputs/eval/getOutputs/tick. Continues from the model's current state.
    public func benchmarkSwift(cycles: Int, seed: UInt64) -> Double {
        benchmarkSwiftRun(cycles: cycles, seed: seed).cyclesPerSecond
    }

    /// `benchmarkSwift` with the checksum and timing. On a fresh instance the
    /// checksum equals `nativeBenchmarkRun`'s for the same cycles and seed.
    public func benchmarkSwiftRun(cycles: Int, seed: UInt64) -> VerilatorBenchmark {
        let inputs = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: inputWords + 1)
        let outputs = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: outputWords + 1)
        defer {
            inputs.deallocate()
            outputs.deallocate()
        }
        inputs.initialize(repeating: 0)
        outputs.initialize(repeating: 0)
        let inputCount = inputWords, outputCount = outputWords
        let readInputs = UnsafeBufferPointer(inputs)
        var state: UInt64 = seed != 0 ? seed : 0x9E37_79B9_7F4A_7C15
        var checksum: UInt64 = 0xcbf2_9ce4_8422_2325

        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<cycles {
            for word in 0..<inputCount {
                state ^= state &<< 13
                state ^= state &>> 7
                state ^= state &<< 17
                inputs[word] = UInt32(truncatingIfNeeded: state &>> 32)
            }
            setInputs(readInputs)
            eval()
            getOutputs(outputs)
            for word in 0..<outputCount { checksum = (checksum ^ UInt64(outputs[word])) &* 0x100_0000_01b3 }
            tick()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return VerilatorBenchmark(cycles: cycles, seconds: seconds, checksum: checksum)
    }
}
