import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One line of progress for long work, on a terminal only: `label  37/100  12 s left`, redrawn
/// on stderr at most a few times a second and erased when the work ends. When stderr is not a
/// terminal (a pipe, a log file, CI) or `QKFORGE_PROGRESS=0`, it prints nothing at all, so
/// logs and JSON output stay clean.
///
/// Two kinds: a counter (`update(done)` of a known `total`; time left from the rate so far),
/// and a timed phase (`ProgressLine.timed`, for work that cannot be counted, such as a compiler run:
/// elapsed time, and time left from an `expectedSeconds` estimate when there is one).
public final class ProgressLine: @unchecked Sendable {
    /// Whether progress is drawn at all.
    public static let enabled: Bool = {
        let env = ProcessInfo.processInfo.environment
        if env["QKFORGE_PROGRESS"] == "0" { return false }
        if env["QKFORGE_PROGRESS"] == "1" { return true }
        return isatty(STDERR_FILENO) != 0 && env["TERM"] != "dumb"
    }()

    private let lock = NSLock()
    private var label: String
    private let total: Int
    private let unit: String
    private let start = Date()
    private var done = 0
    private var lastDraw = Date.distantPast
    private var drawn = false
    private var finished = false
    private var expectedSeconds: Double?

    /// A counter of `total` steps, `unit` naming them ("samples", "designs").
    public init(_ label: String, total: Int, unit: String = "") {
        self.label = label
        self.total = total
        self.unit = unit
    }

    /// A phase that redraws itself every quarter second until `finish()`: elapsed time, and
    /// the time left if `expectedSeconds` is known.
    public static func timed(_ label: String, expectedSeconds: Double? = nil) -> ProgressLine {
        let p = ProgressLine(label, total: 0)
        p.expectedSeconds = expectedSeconds
        guard enabled else { return p }
        let thread = Thread { [weak p] in
            while let q = p, !q.isFinished {
                q.draw(force: true)
                Thread.sleep(forTimeInterval: 0.25)
            }
        }
        thread.start()
        return p
    }

    private var isFinished: Bool { lock.lock(); defer { lock.unlock() }; return finished }

    /// Renames the phase (a new step of the same work).
    public func phase(_ label: String) {
        lock.lock(); self.label = label; lock.unlock()
        draw(force: true)
    }

    /// `done` of `total` steps are complete.
    public func update(_ done: Int) {
        lock.lock(); self.done = done; lock.unlock()
        draw(force: false)
    }

    /// Prints `line` on stdout without tearing the progress line: erases it, prints, and lets
    /// the next update draw it again.
    public func print(_ line: String) {
        lock.lock()
        if drawn && !finished { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        lastDraw = .distantPast
        Swift.print(line)
        fflush(stdout)
        lock.unlock()
    }

    /// Erases the line. Safe to call more than once.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    deinit { finish() }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t < 60 ? "\(t) s" : t < 3600 ? "\(t / 60) min \(t % 60) s" : "\(t / 3600) h \(t % 3600 / 60) min"
    }

    private func draw(force: Bool) {
        guard Self.enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard !finished, force || now.timeIntervalSince(lastDraw) >= 0.2 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        var line = label
        if total > 0 {
            line += "  \(done)/\(total)\(unit.isEmpty ? "" : " " + unit)"
            if done > 0 && done < total && elapsed >= 1 {
                line += ", about \(Self.duration(elapsed / Double(done) * Double(total - done))) left"
            }
        } else {
            line += "  \(Self.duration(elapsed))"
            if let e = expectedSeconds, e > 0 {
                line += e > elapsed ? ", about \(Self.duration(e - elapsed)) left" : ", longer than the last build (\(Self.duration(e)))"
            }
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
        drawn = true
    }
}
