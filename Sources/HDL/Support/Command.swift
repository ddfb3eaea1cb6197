import Foundation

/// Runs an external tool and captures what it prints: the one subprocess runner of every layer
/// (Verilator, Yosys, Icarus, nextpnr), registered with `Interrupts` so that an interrupt ends it.
public struct Command {
    public struct Result: Sendable {
        public let status: Int32
        public let output: String
    }

    /// Runs `executable` (looked up on PATH) with `arguments` in `directory`, merging stdout
    /// and stderr. A missing tool is an error naming how to install it.
    public static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil,
                           environment: [String: String]? = nil) throws -> Result {
        guard let path = which(executable) else {
            throw ToolError("'\(executable)' is not installed; run: apt-get update && apt-get install -y verilator yosys iverilog")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        if let directory { p.currentDirectoryURL = directory }
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        var data = Data()
        try Interrupts.runToEnd(p) { data = pipe.fileHandleForReading.readDataToEndOfFile() }
        return Result(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// `run`, for a tool that must succeed: a non-zero exit throws `ToolError` naming `what`,
    /// the directory and the last `tail` lines it printed. Returns what it printed.
    @discardableResult
    public static func check(_ executable: String, _ arguments: [String], in directory: URL? = nil,
                             what: String, tail: Int = 4) throws -> String {
        let r = try run(executable, arguments, in: directory)
        guard r.status == 0 else {
            let last = r.output.split(separator: "\n").suffix(tail).joined(separator: " | ")
            throw ToolError("\(what) failed (exit \(r.status)) in \(directory?.path ?? "."): \(last.isEmpty ? "see the log there" : last)")
        }
        return r.output
    }

    /// The full path of `name` on PATH, or nil.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

public struct ToolError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
