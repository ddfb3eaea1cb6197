import Foundation
import HDL
#if canImport(Glibc)
import Glibc
#endif

/// The external tools and checked-in templates the harness uses.
enum VerilatorToolchain {
    /// `verilator`, or `$QKFORGE_VERILATOR`.
    static var verilator: String { environment("QKFORGE_VERILATOR") ?? "verilator" }
    /// `make`, or `$MAKE`.
    static var make: String { environment("MAKE") ?? "make" }

    static func environment(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    // MARK: Templates in sim/

    /// The sim/ directory: `$QKFORGE_SIM_DIR`, else the package's sim/ found from this
    /// source file's path at build time, else `<cwd>/sim`.
    static func simDirectory() throws -> URL {
        var candidates: [URL] = []
        if let path = environment("QKFORGE_SIM_DIR") { candidates.append(URL(fileURLWithPath: path)) }
        // Sources/Cosim/Verilator/<this file> -> package root.
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent("sim"))
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("sim"))
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("qk_shim.cpp.in").path) {
            return candidate
        }
        throw VerilatorError(.toolMissing, "cannot find the harness templates (sim/qk_shim.cpp.in); looked in "
            + candidates.map(\.path).joined(separator: ", ") + "; set QKFORGE_SIM_DIR to the package's sim/ directory")
    }

    /// The text of one file in sim/.
    static func template(_ name: String) throws -> String {
        let url = try simDirectory().appendingPathComponent(name)
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw VerilatorError(.toolMissing, "cannot read harness template \(url.path): \(error.localizedDescription)")
        }
    }

    // MARK: Running tools

    struct RunResult {
        var status: Int32
        var output: String
    }

    /// Runs `executable` (looked up in PATH) with stdout and stderr appended to `log`
    /// (or to a temporary file), and returns its exit status and the output it wrote.
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil,
                    log: URL? = nil) throws -> RunResult {
        let fileManager = FileManager.default
        let logURL = log ?? fileManager.temporaryDirectory
            .appendingPathComponent("qkforge-run-\(getpid())-\(UUID().uuidString).log")
        if !fileManager.fileExists(atPath: logURL.path) {
            _ = fileManager.createFile(atPath: logURL.path, contents: nil)
        }
        defer { if log == nil { try? fileManager.removeItem(at: logURL) } }
        guard let handle = FileHandle(forWritingAtPath: logURL.path) else {
            throw VerilatorError(.io, "cannot write log file \(logURL.path)")
        }
        defer { try? handle.close() }
        let start = handle.seekToEndOfFile()

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        // An outer make's job server and flags must not leak into ours.
        for name in ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"] { env.removeValue(forKey: name) }
        process.environment = env
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do {
            try Interrupts.runToEnd(process)
        } catch {
            throw VerilatorError(.toolMissing, "cannot run \(executable): \(error.localizedDescription)")
        }
        let data = (try? Data(contentsOf: logURL)) ?? Data()
        let written = data.count > Int(start) ? data.subdata(in: Int(start)..<data.count) : Data()
        return RunResult(status: process.terminationStatus, output: String(decoding: written, as: UTF8.self))
    }

    // MARK: Versions, for cache keys

    private static let versionsOnce: Result<String, VerilatorError> = {
        do {
            let verilatorRun = try run(verilator, ["--version"])
            guard verilatorRun.status == 0 else {
                return .failure(VerilatorError(.toolMissing, "`\(verilator) --version` failed; is Verilator installed?",
                                               toolOutput: VerilatorError.excerpt(of: verilatorRun.output)))
            }
            let cxx = environment("CXX") ?? "g++"
            let cxxRun = try run(cxx, ["--version"])
            let cxxLine = cxxRun.output.split(separator: "\n").first.map(String.init) ?? "unknown \(cxx)"
            return .success(verilatorRun.output.trimmingCharacters(in: .whitespacesAndNewlines) + "\n" + cxxLine)
        } catch let error as VerilatorError {
            return .failure(error)
        } catch {
            return .failure(VerilatorError(.toolMissing, "\(error)"))
        }
    }()

    /// `verilator --version` and the C++ compiler's first version line.
    static func versions() throws -> String { try versionsOnce.get() }
}
