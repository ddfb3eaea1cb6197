/// The options one command was given, after swift-argument-parser has parsed the command line
/// (`Commands.swift`): the value options as the text the user typed, and the switches. The
/// commands validate the text themselves so that every error names the flag and the value the
/// user gave, in one line.
struct Arguments {
    let command: String
    private let values: [String: String]
    private let switches: Set<String>

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    init(command: String, values: [String: String?], switches: [String: Bool]) {
        self.command = command
        self.values = values.compactMapValues { $0 }
        self.switches = Set(switches.filter(\.value).keys)
    }

    /// The help of `--lif`, which `estimate` and `timing` both take.
    static let lifHelp = "The LIF banks' membrane storage: auto (pipelined where T > 1 and a bank has 2 or more groups or belongs to an MLP; registers otherwise), registers, pipelined (four-stage update) or ram [auto]."

    func string(_ name: String) -> String? { values[name] }

    func flag(_ name: String) -> Bool { switches.contains(name) }

    /// Whether the user gave `--name` (a value option or a switch).
    func given(_ name: String) -> Bool { values[name] != nil || switches.contains(name) }

    /// Every flag the user gave, without the dashes, sorted.
    var givenFlags: [String] { (Array(values.keys) + Array(switches)).sorted() }

    /// Throws for a value option given as an empty string (`--model ""`): it would otherwise
    /// stand for the current directory or an unknown name.
    func checkNoEmptyValues() throws {
        if let name = values.keys.sorted().first(where: { values[$0]!.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw UsageError(description: "--\(name) is empty; give a value (see qkforge \(command) --help)")
        }
    }

    /// Throws when a flag in `flags` was given although it does not apply, because of `reason`.
    /// `reason` names the flag (or the missing flag) that decides it, so the one line names both.
    func forbid(_ flags: [String], _ reason: String) throws {
        if let f = flags.first(where: given) {
            throw UsageError(description: "--\(f) does not apply \(reason)")
        }
    }

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
