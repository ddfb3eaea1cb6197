import Foundation
import HDL
#if canImport(Glibc)
import Glibc
#endif

/// A compiled model in the cache: `<cache>/<key>/` holding
///
///     qk_shim.cpp  bench_main.cpp  harness.mk   generated shim and harness files
///     obj/         Verilator's output; obj/libqkmodel.so is what Swift loads
///     data/        copies of the design's data files (the model's run directory)
///     build.log    verilator and make output
///     manifest.txt what went into the cache key, for humans
struct BuiltModel {
    var design: VerilatorDesign
    var options: VerilatorOptions
    var key: String
    var directory: URL
    var reused: Bool
    var warnings: [String]

    var library: URL { directory.appendingPathComponent("obj/libqkmodel.so") }
    var objDirectory: URL { directory.appendingPathComponent("obj", isDirectory: true) }
    var shimSource: URL { directory.appendingPathComponent("qk_shim.cpp") }
    var runDirectory: URL? {
        design.dataFiles.isEmpty ? nil : directory.appendingPathComponent("data", isDirectory: true)
    }
    var modelClass: String { ShimGenerator.modelClass(top: design.top) }
}

/// Builds models into the cache. A build happens in a private temporary directory
/// beside its final place and is renamed into place when complete, so concurrent
/// builds of one design (parallel tests, several processes) never see half a model.
enum VerilatorBuilder {
    /// Bumped when the build recipe changes in a way the hashed texts do not show.
    static let recipeVersion = "qkforge-verilator-harness/1"

    /// Fixed Verilator flags. Warnings stay on (they are kept in `warnings`), but do
    /// not stop the build: lint is a separate concern from simulation.
    static func verilatorFlags(_ design: VerilatorDesign, _ options: VerilatorOptions) -> [String] {
        var flags = ["--cc", "--exe", "qk_shim.cpp", "-o", "libqkmodel.so", "--Mdir", "obj",
                     "--top-module", design.top, "-Wno-fatal"]
        switch options.trace {
        case .vcd?: flags.append("--trace")
        case .fst?: flags.append("--trace-fst")
        case nil: break
        }
        return flags + options.extraFlags
    }

    // MARK: Validation

    static func validate(_ design: VerilatorDesign, _ options: VerilatorOptions) throws {
        func fail(_ message: String) -> VerilatorError {
            VerilatorError(.invalidDesign, "design '\(design.top)': \(message)")
        }
        guard isIdentifier(design.top) else { throw fail("top module name is not a Verilog identifier") }
        guard !design.sources.isEmpty else { throw fail("no Verilog sources given") }
        var seen = Set<String>()
        for port in design.inputs + design.outputs {
            guard isIdentifier(port.name) else { throw fail("port name '\(port.name)' is not a Verilog identifier") }
            guard port.width >= 1 else { throw fail("port '\(port.name)' has width \(port.width); widths start at 1") }
            guard seen.insert(port.name).inserted else { throw fail("port '\(port.name)' is listed twice") }
        }
        if let clock = design.clock {
            guard isIdentifier(clock) else { throw fail("clock name '\(clock)' is not a Verilog identifier") }
            guard !seen.contains(clock) else {
                throw fail("clock '\(clock)' is also listed as a port; list it only as the clock")
            }
        }
        for file in design.sources + design.dataFiles where !FileManager.default.fileExists(atPath: file.path) {
            throw fail("file not found: \(file.path)")
        }
        var dataNames = Set<String>()
        for file in design.dataFiles {
            guard dataNames.insert(file.lastPathComponent).inserted else {
                throw fail("two data files are named '\(file.lastPathComponent)'; they are opened by plain name")
            }
        }
        guard options.jobs >= 1 else { throw fail("jobs must be at least 1") }
        if options.tracePath != nil && options.trace == nil {
            throw fail("tracePath is set but trace is nil; choose .vcd or .fst")
        }
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !(first >= "0" && first <= "9"), first != "$" else { return false }
        return name.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "$"
        }
    }

    // MARK: Cache key

    struct Inputs {
        var shim: String
        var harness: String
        var benchMain: String
        var versions: String
    }

    static func inputs(for design: VerilatorDesign) throws -> Inputs {
        Inputs(shim: ShimGenerator.shim(for: design, template: try VerilatorToolchain.template("qk_shim.cpp.in")),
               harness: try VerilatorToolchain.template("harness.mk"),
               benchMain: try VerilatorToolchain.template("bench_main.cpp"),
               versions: try VerilatorToolchain.versions())
    }

    static func readFile(_ url: URL) throws -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw VerilatorError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    /// The cache key and a human-readable list of what went into it.
    static func key(_ design: VerilatorDesign, _ options: VerilatorOptions, _ inputs: Inputs) throws -> (String, String) {
        var hash = SHA256()
        var manifest: [String] = [recipeVersion]
        func add(_ label: String, _ text: String) {
            hash.field(label)
            hash.field(text)
        }
        add("recipe", recipeVersion)
        add("versions", inputs.versions)
        manifest.append(inputs.versions)
        let flags = verilatorFlags(design, options)
        add("flags", flags.joined(separator: "\u{0}"))
        manifest.append("flags: " + flags.joined(separator: " "))
        add("top", design.top)
        add("clock", design.clock ?? "")
        add("inputs", design.inputs.map { "\($0.name):\($0.width)" }.joined(separator: ","))
        add("outputs", design.outputs.map { "\($0.name):\($0.width)" }.joined(separator: ","))
        manifest.append("top: \(design.top), clock: \(design.clock ?? "none")")
        manifest.append("inputs: " + ShimGenerator.portSummary(design.inputs))
        manifest.append("outputs: " + ShimGenerator.portSummary(design.outputs))
        add("shim", inputs.shim)
        add("harness.mk", inputs.harness)
        add("bench_main.cpp", inputs.benchMain)
        for source in design.sources {
            hash.field("source " + source.lastPathComponent)
            hash.field(try readFile(source))
            manifest.append("source: " + source.path)
        }
        for file in design.dataFiles {
            hash.field("data " + file.lastPathComponent)
            hash.field(try readFile(file))
            manifest.append("data: " + file.path)
        }
        let key = String(hash.hexDigest().prefix(32))
        return (key, manifest.joined(separator: "\n") + "\n")
    }

    /// Key of the compiled Verilator run-time objects (verilated.o and friends), which
    /// depend only on the tools, the harness flags and the trace format, so they are
    /// compiled once per cache directory and copied into each new build.
    static func runtimeKey(_ options: VerilatorOptions, _ inputs: Inputs) -> String {
        var hash = SHA256()
        hash.field(recipeVersion)
        hash.field(inputs.versions)
        hash.field(inputs.harness)
        hash.field(String(describing: options.trace))
        hash.field(options.extraFlags.joined(separator: "\u{0}"))
        return "runtime-" + String(hash.hexDigest().prefix(24))
    }

    // MARK: Build

    private static let buildLocks = LockedValue<[String: NSLock]>([:])

    private static func buildLock(_ directory: URL) -> NSLock {
        buildLocks.withLock { locks in
            if let lock = locks[directory.path] { return lock }
            let lock = NSLock()
            locks[directory.path] = lock
            return lock
        }
    }

    static func prepare(_ design: VerilatorDesign, _ options: VerilatorOptions) throws -> BuiltModel {
        try validate(design, options)
        let inputs = try inputs(for: design)
        let (key, manifest) = try key(design, options, inputs)
        let fileManager = FileManager.default
        let cache = options.cacheDirectory.standardizedFileURL
        let final = cache.appendingPathComponent(key, isDirectory: true)
        var built = BuiltModel(design: design, options: options, key: key, directory: final, reused: true, warnings: [])

        // Within one process, builds of one key wait for each other instead of racing.
        let lock = buildLock(final)
        lock.lock()
        defer { lock.unlock() }

        if fileManager.fileExists(atPath: built.library.path) {
            built.warnings = warnings(inLog: built.directory.appendingPathComponent("build.log"))
            return built
        }

        do {
            try fileManager.createDirectory(at: cache, withIntermediateDirectories: true)
        } catch {
            throw VerilatorError(.io, "cannot create cache directory \(cache.path): \(error.localizedDescription)")
        }
        removeAbandonedBuilds(in: cache)
        let temporary = cache.appendingPathComponent(".tmp-\(key.prefix(12))-\(getpid())-\(UUID().uuidString.prefix(8))",
                                                     isDirectory: true)
        let interruptToken = Interrupts.removeOnInterrupt(temporary.path)
        defer { try? fileManager.removeItem(at: temporary); interruptToken.release() }
        let log = temporary.appendingPathComponent("build.log")
        // On a terminal: the phase, the time so far, and the time left judged from the last
        // build in this cache, scaled by the size of the Verilog.
        let bytes = design.sources.reduce(0) { $0 + ((try? fileManager.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0) }
        let progress = ProgressLine.timed("verilator: verilating \(design.top)", expectedSeconds: lastBuild(in: cache, bytes: bytes))
        let started = Date()
        do {
            defer { progress.finish() }
            try compile(design, options, inputs, manifest: manifest, in: temporary, cache: cache, log: log, progress: progress)
        }
        recordBuild(in: cache, seconds: Date().timeIntervalSince(started), bytes: bytes)

        // Publish. If another builder got there first, its model is identical: use it.
        var moved = rename(temporary.path, final.path) == 0
        if !moved && !fileManager.fileExists(atPath: built.library.path) {
            // A damaged entry (its library deleted by hand): replace it.
            try? fileManager.removeItem(at: final)
            moved = rename(temporary.path, final.path) == 0
        }
        if !moved {
            guard fileManager.fileExists(atPath: built.library.path) else {
                let reason = String(cString: strerror(errno))
                throw VerilatorError(.io, "cannot move the built model to \(final.path): \(reason)")
            }
        } else {
            built.reused = false
        }
        built.warnings = warnings(inLog: built.directory.appendingPathComponent("build.log"))
        return built
    }

    /// The last build's time in this cache, scaled to `bytes` of Verilog; nil if none.
    static func lastBuild(in cache: URL, bytes: Int) -> Double? {
        guard let text = try? String(contentsOf: cache.appendingPathComponent("last-build.txt"), encoding: .utf8) else { return nil }
        let f = text.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        guard f.count == 2, f[0] > 0, f[1] > 0 else { return nil }
        return f[0] * max(0.2, Double(bytes) / f[1])
    }

    static func recordBuild(in cache: URL, seconds: Double, bytes: Int) {
        try? "\(seconds) \(bytes)\n".write(to: cache.appendingPathComponent("last-build.txt"), atomically: true, encoding: .utf8)
    }

    private static func compile(_ design: VerilatorDesign, _ options: VerilatorOptions, _ inputs: Inputs,
                                manifest: String, in directory: URL, cache: URL, log: URL, progress: ProgressLine) throws {
        let fileManager = FileManager.default
        let modelClass = ShimGenerator.modelClass(top: design.top)
        let obj = directory.appendingPathComponent("obj", isDirectory: true)
        do {
            try fileManager.createDirectory(at: obj, withIntermediateDirectories: true)
            try inputs.shim.write(to: directory.appendingPathComponent("qk_shim.cpp"), atomically: false, encoding: .utf8)
            try inputs.harness.write(to: directory.appendingPathComponent("harness.mk"), atomically: false, encoding: .utf8)
            try inputs.benchMain.write(to: directory.appendingPathComponent("bench_main.cpp"),
                                       atomically: false, encoding: .utf8)
            try manifest.write(to: directory.appendingPathComponent("manifest.txt"), atomically: false, encoding: .utf8)
            if !design.dataFiles.isEmpty {
                let data = directory.appendingPathComponent("data", isDirectory: true)
                try fileManager.createDirectory(at: data, withIntermediateDirectories: true)
                for file in design.dataFiles {
                    try fileManager.copyItem(at: file, to: data.appendingPathComponent(file.lastPathComponent))
                }
            }
        } catch {
            throw VerilatorError(.io, "cannot prepare build directory \(directory.path): \(error.localizedDescription)")
        }

        // 1. Verilate.
        let sources = design.sources.map { $0.standardizedFileURL.path }
        let verilate = try VerilatorToolchain.run(VerilatorToolchain.verilator,
                                                  verilatorFlags(design, options) + sources, in: directory, log: log)
        guard verilate.status == 0 else {
            throw VerilatorError(.verilateFailed, "Verilator rejected design '\(design.top)' (exit \(verilate.status))",
                                 toolOutput: VerilatorError.excerpt(of: verilate.output),
                                 logFile: keepFailedLog(log, cache: cache, design: design))
        }

        // 2. Check the Verilated ports against the design's port list before compiling.
        let header = obj.appendingPathComponent("\(modelClass).h")
        let headerText: String
        do {
            headerText = try String(contentsOf: header, encoding: .utf8)
        } catch {
            throw VerilatorError(.verilateFailed, "Verilator wrote no \(header.lastPathComponent) for top '\(design.top)'",
                                 toolOutput: VerilatorError.excerpt(of: verilate.output))
        }
        try checkPorts(design, against: VerilatedPort.parse(header: headerText))

        // 3. Reuse the compiled run-time objects, if this cache has them. Otherwise this
        //    build compiles them, and other builds in this process needing the same ones
        //    wait for it rather than compiling them again in parallel.
        let runtime = cache.appendingPathComponent(runtimeKey(options, inputs), isDirectory: true)
        let runtimeLock = buildLock(runtime)
        runtimeLock.lock()
        var holdingRuntimeLock = true
        defer { if holdingRuntimeLock { runtimeLock.unlock() } }
        let haveRuntime = seedRuntime(from: runtime, into: obj)
        if haveRuntime {
            runtimeLock.unlock()
            holdingRuntimeLock = false
        }

        // 4. Compile and link libqkmodel.so.
        progress.phase("verilator: compiling the C++ model of \(design.top)")
        let make = try VerilatorToolchain.run(
            VerilatorToolchain.make,
            ["-C", obj.path, "-f", "../harness.mk", "QK_PREFIX=\(modelClass)", "-j", String(options.jobs), "libqkmodel.so"],
            log: log)
        guard make.status == 0, fileManager.fileExists(atPath: obj.appendingPathComponent("libqkmodel.so").path) else {
            throw VerilatorError(.compileFailed, "C++ build of design '\(design.top)' failed (make exit \(make.status))",
                                 toolOutput: VerilatorError.excerpt(of: make.output),
                                 logFile: keepFailedLog(log, cache: cache, design: design))
        }
        if !haveRuntime { publishRuntime(from: obj, to: runtime) }
    }

    /// Removes temporary build directories left by processes that died mid-build.
    private static func removeAbandonedBuilds(in cache: URL) {
        let fileManager = FileManager.default
        guard let names = try? fileManager.contentsOfDirectory(atPath: cache.path) else { return }
        let dayAgo = Date().addingTimeInterval(-24 * 3600)
        for name in names where name.hasPrefix(".tmp-") {
            let url = cache.appendingPathComponent(name)
            if let modified = (try? fileManager.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date,
               modified < dayAgo {
                try? fileManager.removeItem(at: url)
            }
        }
    }

    /// Copies a failed build's log out of its temporary directory.
    private static func keepFailedLog(_ log: URL, cache: URL, design: VerilatorDesign) -> URL? {
        if Interrupts.isInterrupted { return nil }  // the build failed because it was interrupted
        let kept = cache.appendingPathComponent("failed-\(design.top).log")
        try? FileManager.default.removeItem(at: kept)
        return (try? FileManager.default.copyItem(at: log, to: kept)) != nil ? kept : nil
    }

    /// Copies cached verilated*.o files into a fresh obj/ and makes them newer than the
    /// just-written makefiles, so make sees them as up to date.
    private static func seedRuntime(from runtime: URL, into obj: URL) -> Bool {
        let fileManager = FileManager.default
        guard let names = try? fileManager.contentsOfDirectory(atPath: runtime.path) else { return false }
        let objects = names.filter { $0.hasSuffix(".o") }
        guard !objects.isEmpty else { return false }
        for name in objects {
            let target = obj.appendingPathComponent(name)
            guard (try? fileManager.copyItem(at: runtime.appendingPathComponent(name), to: target)) != nil,
                  utimes(target.path, nil) == 0 else {
                for other in objects { try? fileManager.removeItem(at: obj.appendingPathComponent(other)) }
                return false
            }
        }
        return true
    }

    private static func publishRuntime(from obj: URL, to runtime: URL) {
        let fileManager = FileManager.default
        guard let names = try? fileManager.contentsOfDirectory(atPath: obj.path) else { return }
        let objects = names.filter { $0.hasPrefix("verilated") && $0.hasSuffix(".o") }
        guard !objects.isEmpty else { return }
        let temporary = runtime.deletingLastPathComponent()
            .appendingPathComponent(".tmp-\(runtime.lastPathComponent)-\(getpid())-\(UUID().uuidString.prefix(8))")
        let interruptToken = Interrupts.removeOnInterrupt(temporary.path)
        defer { try? fileManager.removeItem(at: temporary); interruptToken.release() }
        do {
            try fileManager.createDirectory(at: temporary, withIntermediateDirectories: true)
            for name in objects {
                try fileManager.copyItem(at: obj.appendingPathComponent(name), to: temporary.appendingPathComponent(name))
            }
        } catch {
            return
        }
        _ = rename(temporary.path, runtime.path)  // losing the race is fine
    }

    static func warnings(inLog log: URL) -> [String] {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("%Warning") }
    }

    // MARK: Ports

    static func checkPorts(_ design: VerilatorDesign, against verilated: [VerilatedPort]) throws {
        var byName: [String: VerilatedPort] = [:]
        for port in verilated { byName[port.member] = port }
        var problems: [String] = []
        var used = Set<String>()
        func check(_ name: String, width: Int, direction: VerilatedPort.Direction) {
            let member = ShimGenerator.verilatorMemberName(name)
            used.insert(member)
            guard let port = byName[member] else {
                problems.append("\(direction.rawValue) '\(name)' is not a port of '\(design.top)'")
                return
            }
            if port.direction != direction {
                problems.append("'\(name)' is an \(port.direction.rawValue) of '\(design.top)', listed as an \(direction.rawValue)")
            } else if port.width != width {
                problems.append("\(direction.rawValue) '\(name)' is \(port.width) bits wide in the Verilog, \(width) in the port list")
            }
        }
        if let clock = design.clock { check(clock, width: 1, direction: .input) }
        for port in design.inputs { check(port.name, width: port.width, direction: .input) }
        for port in design.outputs { check(port.name, width: port.width, direction: .output) }
        for port in verilated where !used.contains(port.member) {
            switch port.direction {
            case .input: problems.append("input '\(port.member)' of '\(design.top)' is missing from the port list")
            case .bidirectional: problems.append("inout '\(port.member)' of '\(design.top)' is not supported")
            case .output: break  // outputs nobody reads are fine
            }
        }
        if !problems.isEmpty {
            throw VerilatorError(.portMismatch, "ports of '\(design.top)' do not match the design's port list: "
                + problems.joined(separator: "; "))
        }
    }
}

/// A port as declared in the Verilated model header, e.g. `VL_INW(&wide,199,0,7);`.
struct VerilatedPort: Equatable {
    enum Direction: String { case input, output, bidirectional = "inout" }
    var member: String
    var direction: Direction
    var width: Int

    static func parse(header: String) -> [VerilatedPort] {
        var ports: [VerilatedPort] = []
        for rawLine in header.split(separator: "\n") {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("VL_IN") || line.hasPrefix("VL_OUT"),
                  let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")") else { continue }
            let macro = line[line.startIndex..<open]
            let direction: Direction
            if macro.hasPrefix("VL_INOUT") {
                direction = .bidirectional
            } else if macro.hasPrefix("VL_IN") {
                direction = .input
            } else {
                direction = .output
            }
            let arguments = line[line.index(after: open)..<close].split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard arguments.count >= 3, arguments[0].hasPrefix("&"),
                  let msb = Int(arguments[1]), let lsb = Int(arguments[2]) else { continue }
            ports.append(VerilatedPort(member: String(arguments[0].dropFirst()), direction: direction,
                                       width: abs(msb - lsb) + 1))
        }
        return ports
    }
}
