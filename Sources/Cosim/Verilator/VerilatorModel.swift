import Foundation

/// One running instance of a Verilated design, driven cycle by cycle from Swift
/// through the thin C ABI of the generated shim (sim/qk_shim.cpp.in).
///
/// One cycle, matching the IR simulator: apply inputs, `eval()` (combinational
/// outputs reflect the inputs and the current register state), sample outputs,
/// `tick()` (clock rises, eval, clock falls, eval). The clock starts low; initial
/// blocks (and their `$readmemh`) run when the model is created.
///
/// Buffers are packed 32-bit words: each port takes `ceil(width/32)` words, least
/// significant first, ports in declaration order. Input bits above a port's width
/// are ignored; output bits above it are zero.
///
/// An instance is not thread-safe; separate instances (even of one design) are
/// independent and may run on different threads.
public final class VerilatorModel {
    public let design: VerilatorDesign
    public let options: VerilatorOptions
    /// Hash of everything that determines the compiled model.
    public let cacheKey: String
    /// `<cacheDirectory>/<cacheKey>`, holding the shim, Verilator's output and logs.
    public let buildDirectory: URL
    /// True if `build` found the model in the cache and compiled nothing.
    public let reusedCache: Bool
    /// Verilator's `%Warning` lines from the build.
    public let warnings: [String]
    /// Total 32-bit words of all inputs, packed.
    public let inputWords: Int
    /// Total 32-bit words of all outputs, packed.
    public let outputWords: Int

    let built: BuiltModel
    @usableFromInline let shim: ShimLibrary
    @usableFromInline let instance: ShimLibrary.Handle
    private var finished = false

    /// Builds the design (or reuses the cached build) and creates an instance.
    public static func build(_ design: VerilatorDesign, options: VerilatorOptions = .init()) throws -> VerilatorModel {
        try VerilatorModel(built: VerilatorBuilder.prepare(design, options))
    }

    /// The cache key `build` would use, without building anything.
    public static func cacheKey(for design: VerilatorDesign, options: VerilatorOptions = .init()) throws -> String {
        try VerilatorBuilder.validate(design, options)
        return try VerilatorBuilder.key(design, options, VerilatorBuilder.inputs(for: design)).0
    }

    init(built: BuiltModel) throws {
        self.built = built
        design = built.design
        options = built.options
        cacheKey = built.key
        buildDirectory = built.directory
        reusedCache = built.reused
        warnings = built.warnings
        inputWords = design.inputWords
        outputWords = design.outputWords
        let shim = try ShimLibrary.load(built.library.path)
        self.shim = shim
        guard shim.inputWords == inputWords, shim.outputWords == outputWords else {
            throw VerilatorError(.loadFailed, "\(built.library.path) packs \(shim.inputWords)/\(shim.outputWords) "
                + "input/output words, the design \(inputWords)/\(outputWords)")
        }
        let runDirectory = built.runDirectory?.path
        let tracePath = options.tracePath.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        var error = [CChar](repeating: 0, count: 1024)
        let count = error.count
        let created = error.withUnsafeMutableBufferPointer { buffer in
            shim.create(runDirectory, tracePath, buffer.baseAddress, count)
        }
        guard let created else {
            throw VerilatorError(.loadFailed, "cannot create model '\(built.design.top)': " + Self.string(error))
        }
        instance = created
    }

    deinit {
        shim.destroy(instance)
    }

    // MARK: Cycle API

    /// Sets every input from a packed buffer of at least `inputWords` words.
    @inlinable
    public func setInputs(_ words: UnsafeBufferPointer<UInt32>) {
        precondition(words.count >= inputWords, "setInputs needs \(inputWords) words, got \(words.count)")
        shim.setInputs(instance, words.baseAddress)
    }

    /// Evaluates the design with the current inputs and register state.
    @inlinable
    public func eval() {
        shim.eval(instance)
    }

    /// Copies every output into a packed buffer of at least `outputWords` words.
    @inlinable
    public func getOutputs(_ words: UnsafeMutableBufferPointer<UInt32>) {
        precondition(words.count >= outputWords, "getOutputs needs \(outputWords) words, got \(words.count)")
        shim.getOutputs(instance, words.baseAddress)
    }

    /// Clock rising edge then falling edge, evaluating after each; advances trace
    /// time by two units. For a design without a clock it only advances time.
    @inlinable
    public func tick() {
        shim.tick(instance)
    }

    /// For each cycle c: set inputs from `inputs[c*inputWords...]`, eval, copy outputs to
    /// `outputs[c*outputWords...]`, tick. The loop runs in C++.
    public func run(cycles: Int, inputs: UnsafeBufferPointer<UInt32>, outputs: UnsafeMutableBufferPointer<UInt32>) {
        precondition(cycles >= 0, "cycles must not be negative")
        precondition(inputs.count >= cycles * inputWords, "run needs \(cycles * inputWords) input words, got \(inputs.count)")
        precondition(outputs.count >= cycles * outputWords,
                     "run needs \(cycles * outputWords) output words, got \(outputs.count)")
        shim.run(instance, UInt64(cycles), inputs.baseAddress, outputs.baseAddress)
    }

    /// Convenience: `run` on arrays, returning the packed outputs of every cycle.
    public func run(cycles: Int, inputs: [UInt32]) -> [UInt32] {
        var outputs = [UInt32](repeating: 0, count: cycles * outputWords)
        inputs.withUnsafeBufferPointer { input in
            outputs.withUnsafeMutableBufferPointer { output in
                run(cycles: cycles, inputs: input, outputs: output)
            }
        }
        return outputs
    }

    // MARK: Tracing and state

    /// Starts dumping a waveform to `path` from the current time on. The model must
    /// have been built with `options.trace`; the format is the one built in.
    public func startTrace(to path: String) throws {
        guard shim.traceSupport != 0 else {
            throw VerilatorError(.simulation, "model '\(design.top)' was built without tracing; "
                + "build it with VerilatorOptions(trace: .vcd) or .fst")
        }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var error = [CChar](repeating: 0, count: 1024)
        let count = error.count
        let status = error.withUnsafeMutableBufferPointer { buffer in
            shim.traceOpen(instance, absolute, buffer.baseAddress, count)
        }
        if status != 0 {
            throw VerilatorError(.simulation, "cannot trace '\(design.top)' to \(absolute): " + Self.string(error))
        }
    }

    /// Writes buffered trace data to the file.
    public func flushTrace() {
        shim.traceFlush(instance)
    }

    /// Runs final blocks and closes the trace. The model must not be driven afterwards.
    public func finish() {
        guard !finished else { return }
        finished = true
        shim.final(instance)
    }

    /// Simulation time in trace units: two per tick.
    public var time: UInt64 { shim.time(instance) }

    public enum Status: Equatable, Sendable {
        case running
        /// The design executed `$finish`.
        case finished
        /// `$stop`, `$fatal` or a Verilator run-time error; the message says where.
        case failed(String)
    }

    /// Whether the design has called `$finish`, `$stop` or failed.
    public var status: Status {
        var message = [CChar](repeating: 0, count: 1024)
        let count = message.count
        let code = message.withUnsafeMutableBufferPointer { shim.status(instance, $0.baseAddress, count) }
        switch code {
        case 0: return .running
        case 1: return .finished
        default: return .failed(Self.string(message))
        }
    }

    static func string(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
