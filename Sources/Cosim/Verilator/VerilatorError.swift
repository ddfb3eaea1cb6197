import Foundation

/// Why building, loading or running a Verilated model failed.
///
/// `description` is one line saying what went wrong, followed on a build failure by
/// the Verilator `%Error` lines and the tail of the tool output.
public struct VerilatorError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Hashable {
        /// The design description is inconsistent (ports, files, names).
        case invalidDesign
        /// verilator, make or a harness template could not be found.
        case toolMissing
        /// verilator rejected the Verilog.
        case verilateFailed
        /// The ports of the Verilated top module differ from the design's port list.
        case portMismatch
        /// The C++ compile or link failed.
        case compileFailed
        /// dlopen/dlsym or model construction failed.
        case loadFailed
        /// Tracing, $stop/$fatal or another run-time problem.
        case simulation
        /// Reading or writing a file failed.
        case io
        /// A replay or benchmark program failed.
        case toolRunFailed
    }

    public var kind: Kind
    public var message: String
    /// Relevant lines of tool output: Verilator `%Error` lines first, then the tail.
    public var toolOutput: [String]
    /// The full log, when one was kept.
    public var logFile: URL?

    public init(_ kind: Kind, _ message: String, toolOutput: [String] = [], logFile: URL? = nil) {
        self.kind = kind
        self.message = message
        self.toolOutput = toolOutput
        self.logFile = logFile
    }

    public var description: String {
        var text = message
        if !toolOutput.isEmpty {
            text += "\n" + toolOutput.map { "  " + $0 }.joined(separator: "\n")
        }
        if let logFile {
            text += "\n  (full log: \(logFile.path))"
        }
        return text
    }

    /// Picks what a reader needs from a tool log: every `%Error` line (at most 10) and
    /// the last `tail` lines that are not already among them.
    static func excerpt(of log: String, tail: Int = 15) -> [String] {
        let lines = log.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let errors = Array(lines.filter { $0.hasPrefix("%Error") }.prefix(10))
        let last = lines.suffix(tail).filter { !errors.contains($0) }
        return errors + (errors.isEmpty || last.isEmpty ? [] : ["..."]) + last
    }
}
