import Foundation

/// What an interrupted `qkforge` must undo: the temporary files and directories it is writing
/// and the child processes it is waiting for (Verilator, make, the compiler, Yosys).
///
/// Every layer that makes a temporary path or starts a tool registers it here for as long as it
/// lives; the command line calls `installHandlers()` once, and on SIGINT or SIGTERM the handler
/// ends every registered child's process group (Foundation's `Process` starts each child as
/// the leader of its own group, so a Ctrl-C on the terminal never reaches `make` or `g++`),
/// removes every registered path, and exits 130 (SIGINT) or 143 (SIGTERM). See docs/cli.md.
public enum Interrupts {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: [Int: String] = [:]
    nonisolated(unsafe) private static var children: [Int: pid_t] = [:]
    nonisolated(unsafe) private static var next = 0
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    nonisolated(unsafe) private static var interrupted = false

    /// A registration; `release()` it when the path is gone or renamed, or the child has exited.
    public struct Token: Sendable {
        fileprivate let id: Int
        fileprivate let isPath: Bool
        public func release() {
            Interrupts.lock.lock()
            defer { Interrupts.lock.unlock() }
            if isPath { Interrupts.paths[id] = nil } else { Interrupts.children[id] = nil }
        }
    }

    /// Removes `path` (a file or a whole directory) if the process is interrupted.
    @discardableResult
    public static func removeOnInterrupt(_ path: String) -> Token {
        lock.lock()
        defer { lock.unlock() }
        next += 1
        paths[next] = path
        return Token(id: next, isPath: true)
    }

    /// Ends the child `pid` and its process group if the process is interrupted.
    @discardableResult
    public static func endOnInterrupt(child pid: pid_t) -> Token {
        lock.lock()
        defer { lock.unlock() }
        next += 1
        children[next] = pid
        return Token(id: next, isPath: false)
    }

    /// Runs `process` (already configured) to its end, registered as a child meanwhile.
    public static func runToEnd(_ process: Process, whileRunning: () -> Void = {}) throws {
        try process.run()
        let token = endOnInterrupt(child: process.processIdentifier)
        defer { token.release() }
        whileRunning()
        process.waitUntilExit()
    }

    /// Installs the SIGINT and SIGTERM handlers (once). Call it from the command line's start.
    public static func installHandlers() {
        lock.lock()
        defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { cleanUpAndExit(signal: sig) }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether a signal arrived; the handler is then cleaning up and will exit the process.
    public static var isInterrupted: Bool {
        lock.lock()
        defer { lock.unlock() }
        return interrupted
    }

    /// Call before exiting on an error: if a signal arrived (a child's failure is then the
    /// signal's doing), waits for the handler to finish and exit with the signal's code.
    public static func waitIfInterrupted() {
        guard isInterrupted else { return }
        while true { pause() }
    }

    /// Ends the children, removes the paths, and exits `128 + signal`.
    static func cleanUpAndExit(signal sig: Int32) -> Never {
        lock.lock()
        if interrupted { lock.unlock(); while true { pause() } }
        interrupted = true
        let pids = Array(children.values)
        let doomed = Array(paths.values)
        lock.unlock()
        for pid in pids {
            kill(-pid, SIGTERM)
            kill(pid, SIGTERM)
        }
        if !pids.isEmpty {
            // Give them a moment to go, then make sure.
            usleep(200_000)
            for pid in pids { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
        }
        for p in doomed { try? FileManager.default.removeItem(atPath: p) }
        let name = sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)"
        FileHandle.standardError.write(Data("qkforge: \(name); removed \(doomed.count) temporary path(s) and ended \(pids.count) child process(es)\n".utf8))
        exit(128 + sig)
    }
}
