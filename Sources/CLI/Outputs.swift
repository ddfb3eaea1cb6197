import Foundation
import HDL
#if canImport(Glibc)
import Glibc
#endif

/// Every file and directory `qkforge` writes goes through here, so that an output never
/// destroys what the tool did not write (docs/cli.md, "Outputs"):
///
/// - A directory output (`generate --out`, `estimate --table8 --out`) is written into a
///   temporary directory beside it and renamed into place, with a marker file
///   (`.qkforge-output`). It may name a new directory, an empty one, or one holding the marker;
///   anything else needs `--force`. Even with `--force` it may not be `/`, the current directory
///   or one holding it, the home directory or one holding it, a directory holding `.git`, a path
///   that holds an input, or a symbolic link.
/// - A file output (`--output`, `--svg`, `--out FILE.md`, `--trace`) goes through a temporary
///   file in the same directory and a rename. It must be a new file or a regular one; never a
///   device, a directory or another special file, never an input (same inode), never inside an
///   input directory. A symbolic link is written through: the file it points to is replaced, and
///   the link stays.
enum Outputs {
    static let marker = ".qkforge-output"

    struct Refusal: Error, CustomStringConvertible { let description: String }

    // MARK: Paths

    /// `path` made absolute and resolved: symbolic links and `..` of the longest existing
    /// prefix resolved by the file system, the rest appended as given.
    static func resolve(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts = URL(fileURLWithPath: absolute).standardizedFileURL.path.split(separator: "/").map(String.init)
        var rest: [String] = []
        while true {
            let prefix = "/" + parts.joined(separator: "/")
            if let r = realpath(prefix, nil) {
                defer { free(r) }
                let base = String(cString: r)
                if rest.isEmpty { return base }
                return (base == "/" ? "" : base) + "/" + rest.reversed().joined(separator: "/")
            }
            guard let last = parts.popLast() else { return "/" + rest.reversed().joined(separator: "/") }
            rest.append(last)
        }
    }

    /// Whether `inner` is `outer` or lies inside it (both resolved).
    static func contains(_ outer: String, _ inner: String) -> Bool {
        outer == inner || outer == "/" || inner.hasPrefix(outer + "/")
    }

    static func lstatOf(_ path: String) -> stat? {
        var s = stat()
        return lstat(path, &s) == 0 ? s : nil
    }

    static func statOf(_ path: String) -> stat? {
        var s = stat()
        return stat(path, &s) == 0 ? s : nil
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a named pipe"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "a special file"
        }
    }

    static var home: String? {
        guard let h = ProcessInfo.processInfo.environment["HOME"], !h.isEmpty else { return nil }
        return resolve(h)
    }

    // MARK: Directories

    /// Checks a directory output before any work is done; returns its resolved path.
    @discardableResult
    static func checkDirectory(_ given: String, flag: String, force: Bool, inputs: [String]) throws -> String {
        guard !given.isEmpty else { throw Refusal(description: "\(flag) is empty; give a directory name such as out/design") }
        let target = resolve(given)
        let cwd = resolve(FileManager.default.currentDirectoryPath)
        func refuse(_ why: String) -> Refusal {
            Refusal(description: "\(flag) '\(given)' \(why); give a new directory such as out/design (even --force does not replace it)")
        }
        if target == "/" { throw refuse("is the root directory") }
        if contains(target, cwd) { throw refuse(target == cwd ? "is the current directory" : "holds the current directory") }
        if let h = home, contains(target, h) { throw refuse(target == h ? "is the home directory" : "holds the home directory") }
        for input in inputs where !input.isEmpty {
            let r = resolve(input)
            if contains(target, r) { throw refuse(r == target ? "is the input '\(input)'" : "holds the input '\(input)'") }
        }
        if let l = lstatOf(given) {
            if (l.st_mode & S_IFMT) == S_IFLNK {
                throw Refusal(description: "\(flag) '\(given)' is a symbolic link; give the directory itself or a new one (qkforge does not replace links)")
            }
            guard (l.st_mode & S_IFMT) == S_IFDIR else {
                throw Refusal(description: "\(flag) '\(given)' is \((l.st_mode & S_IFMT) == S_IFREG ? "a file" : kind(l.st_mode)), not a directory; give a new directory name")
            }
            if FileManager.default.fileExists(atPath: target + "/.git") { throw refuse("holds .git (a repository)") }
            let entries: [String]
            do { entries = try FileManager.default.contentsOfDirectory(atPath: target) } catch {
                throw Refusal(description: "\(flag) '\(given)' cannot be read (\(reason(error))); check its permissions or give a new directory")
            }
            if !entries.isEmpty && !entries.contains(marker) && !force {
                throw Refusal(description: "\(flag) '\(given)' is a directory qkforge did not write (\(entries.count) \(entries.count == 1 ? "entry" : "entries"), no \(marker)); give a new directory, or add --force to replace it")
            }
        }
        return target
    }

    /// Writes `files` (name, bytes) and the marker into the directory `given`: checked as in
    /// `checkDirectory`, staged beside it, renamed into place; on any error nothing is left.
    static func writeDirectory(_ given: String, flag: String, force: Bool, inputs: [String], files: [(String, Data)]) throws {
        let target = try checkDirectory(given, flag: flag, force: force, inputs: inputs)
        let fm = FileManager.default
        let url = URL(fileURLWithPath: target)
        let parent = url.deletingLastPathComponent()
        // Create the missing parents, and remember them to remove them again on failure.
        var created: [URL] = []
        var p = parent
        while !fm.fileExists(atPath: p.path) { created.append(p); p = p.deletingLastPathComponent() }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: p.path, isDirectory: &isDir), !isDir.boolValue {
            throw Refusal(description: "\(flag) '\(given)': \(p.path) is a file, not a directory; give another path")
        }
        let staging = parent.appendingPathComponent(".\(url.lastPathComponent).qkforge-tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let tokens = (created.map(\.path) + [staging.path]).map { Interrupts.removeOnInterrupt($0) }
        defer { tokens.forEach { $0.release() } }
        func undo() {
            try? fm.removeItem(at: staging)
            for d in created { rmdir(d.path) }
        }
        do {
            for d in created.reversed() {
                guard mkdir(d.path, 0o777) == 0 || errno == EEXIST else { throw posix("cannot create the directory \(d.path)") }
            }
            guard mkdir(staging.path, 0o777) == 0 else { throw posix("cannot create a directory in \(parent.path)") }
            let markerText = "Written by qkforge \(QKForgeVersion.string): qkforge \(CommandLine.arguments.dropFirst().joined(separator: " "))\n"
                + "qkforge replaces this directory when told to write here again; see docs/cli.md.\n"
            for (name, data) in files + [(marker, Data(markerText.utf8))] {
                try writeAll(data, to: staging.appendingPathComponent(name).path, exclusive: true)
            }
            if lstatOf(target) != nil {
                let old = parent.appendingPathComponent(".\(url.lastPathComponent).qkforge-old-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
                guard rename(target, old.path) == 0 else { throw posix("cannot replace \(given)") }
                guard rename(staging.path, target) == 0 else {
                    let e = posix("cannot replace \(given)")
                    _ = rename(old.path, target)
                    throw e
                }
                try? fm.removeItem(at: old)
            } else {
                guard rename(staging.path, target) == 0 else { throw posix("cannot write \(given)") }
            }
        } catch {
            undo()
            throw error
        }
    }

    // MARK: Files

    /// Checks a file output before any work is done; returns the path to replace (a symbolic
    /// link's target: links are written through).
    @discardableResult
    static func checkFile(_ given: String, flag: String, inputs: [String]) throws -> String {
        guard !given.isEmpty else { throw Refusal(description: "\(flag) is empty; give a file name") }
        if given.hasSuffix("/") { throw Refusal(description: "\(flag) '\(given)' names a directory; give a file name") }
        var target = resolve(given)
        if let l = lstatOf(given), (l.st_mode & S_IFMT) == S_IFLNK {
            guard statOf(given) != nil else {
                throw Refusal(description: "\(flag) '\(given)' is a symbolic link to a missing file; remove the link or give another file name")
            }
            target = resolve(given)
        }
        let parent = URL(fileURLWithPath: target).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
            let shown = (given as NSString).deletingLastPathComponent
            throw Refusal(description: "\(flag) '\(given)': the directory \(shown) does not exist; create it first (mkdir -p \(shown))")
        }
        if let s = statOf(target) {
            guard (s.st_mode & S_IFMT) == S_IFREG else {
                throw Refusal(description: "\(flag) '\(given)' is \(kind(s.st_mode)), not a regular file; give a file name")
            }
            for input in inputs where !input.isEmpty {
                if let i = statOf(input), i.st_dev == s.st_dev, i.st_ino == s.st_ino {
                    throw Refusal(description: "\(flag) '\(given)' is the input '\(input)'; give another file name so the input is kept")
                }
            }
        }
        for input in inputs where !input.isEmpty {
            if let i = statOf(input), (i.st_mode & S_IFMT) == S_IFDIR, contains(resolve(input), target) {
                throw Refusal(description: "\(flag) '\(given)' is inside the input directory '\(input)'; write it elsewhere")
            }
        }
        return target
    }

    /// Writes `data` to the file `given` (checked as in `checkFile`) through a temporary file
    /// in the same directory and a rename.
    static func writeFile(_ given: String, flag: String, inputs: [String], data: Data) throws {
        let target = try checkFile(given, flag: flag, inputs: inputs)
        let url = URL(fileURLWithPath: target)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).qkforge-tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let token = Interrupts.removeOnInterrupt(temporary)
        defer { token.release() }
        do {
            try writeAll(data, to: temporary, exclusive: true, mode: statOf(target).map { $0.st_mode & 0o7777 })
            guard rename(temporary, target) == 0 else { throw posix("cannot write \(given)") }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// A temporary file beside the file output `given` for a tool to write (a waveform), and
    /// the function that renames it into place.
    static func stagedFile(_ given: String, flag: String, inputs: [String]) throws -> (temporary: String, commit: () throws -> Void, discard: () -> Void) {
        let target = try checkFile(given, flag: flag, inputs: inputs)
        let url = URL(fileURLWithPath: target)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).qkforge-tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))\(url.pathExtension.isEmpty ? "" : "." + url.pathExtension)").path
        let token = Interrupts.removeOnInterrupt(temporary)
        return (temporary, {
            defer { token.release() }
            guard rename(temporary, target) == 0 else { let e = posix("cannot write \(given)"); unlink(temporary); throw e }
        }, {
            unlink(temporary)
            token.release()
        })
    }

    // MARK: Low level

    static func posix(_ what: String) -> Refusal {
        Refusal(description: "\(what): \(String(cString: strerror(errno))); check the path and its permissions")
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(u.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedDescription
    }

    /// Writes `data` to a new file at `path` (O_EXCL when `exclusive`).
    static func writeAll(_ data: Data, to path: String, exclusive: Bool, mode: mode_t? = nil) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (exclusive ? O_EXCL : 0), 0o666)
        guard fd >= 0 else { throw posix("cannot create \(path)") }
        var ok = true
        data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 { if errno == EINTR { continue }; ok = false; return }
                offset += n
            }
        }
        if ok, let mode { fchmod(fd, mode) }
        let failure = ok ? nil : posix("cannot write \(path)")
        if close(fd) != 0 && ok { throw posix("cannot write \(path)") }
        if let failure { throw failure }
    }
}
