/// A small, strict command-line parser: `qkforge COMMAND [--flag value | --switch]...`.
/// Anything it does not understand is a usage error, reported in one line with exit code 2.
struct Arguments {
    let command: String
    private var values: [String: String] = [:]
    private var switches: Set<String> = []
    private var consumed: Set<String> = []

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `argv` (without the program name) against the flags and switches `command` accepts.
    init(_ argv: [String], flags: (String) -> (values: Set<String>, switches: Set<String>)?) throws {
        guard let cmd = argv.first else { throw UsageError(description: "no command given; run 'qkforge help'") }
        command = cmd
        guard let allowed = flags(cmd) else {
            throw UsageError(description: "unknown command '\(cmd)'; run 'qkforge help' for the list")
        }
        var i = 1
        while i < argv.count {
            let a = argv[i]
            guard a.hasPrefix("--") else {
                throw UsageError(description: "unexpected argument '\(a)' for '\(cmd)'; options start with '--' (run 'qkforge help')")
            }
            var name = String(a.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if allowed.switches.contains(name) {
                if inline != nil { throw UsageError(description: "option --\(name) takes no value") }
                switches.insert(name)
            } else if allowed.values.contains(name) {
                if values[name] != nil { throw UsageError(description: "option --\(name) is given twice; give it once") }
                if let v = inline {
                    values[name] = v
                } else {
                    guard i + 1 < argv.count, !argv[i + 1].hasPrefix("--") else {
                        throw UsageError(description: "option --\(name) needs a value")
                    }
                    values[name] = argv[i + 1]
                    i += 1
                }
            } else {
                let known = (allowed.values.union(allowed.switches)).sorted().map { "--\($0)" }.joined(separator: ", ")
                throw UsageError(description: "unknown option '--\(name)' for '\(cmd)'; it takes \(known.isEmpty ? "no options" : known)")
            }
            i += 1
        }
    }

    func string(_ name: String) -> String? { values[name] }

    func flag(_ name: String) -> Bool { switches.contains(name) }

    /// An integer option within `range`, or `default` when absent.
    func int(_ name: String, default d: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let s = values[name] else { return d }
        guard let v = Int(s), range.contains(v) else {
            throw UsageError(description: "--\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(s)'")
        }
        return v
    }

    func uint64(_ name: String, default d: UInt64) throws -> UInt64 {
        guard let s = values[name] else { return d }
        guard let v = UInt64(s) else {
            throw UsageError(description: "--\(name) must be a whole number from 0 to \(UInt64.max), got '\(s)'")
        }
        return v
    }
}
