import Foundation

/// The files of an emitted design: one `.v` per module, `$readmemh` images, and `files.f`.
public struct EmittedDesign: Sendable {
    public struct File: Sendable, Hashable {
        public let name: String
        public let contents: String
        public init(name: String, contents: String) {
            self.name = name
            self.contents = contents
        }
    }

    public let top: String
    /// Verilog files, children before parents; the top module's file is last.
    public let verilog: [File]
    /// Memory images, by the file name the Verilog's `$readmemh` opens in `QKFORGE_MEM_DIR`.
    public let memoryImages: [File]
    /// The absolute folder the design is meant for (its `files.f` lists absolute paths and its
    /// images are found there), or nil for a folder whose `files.f` lists paths relative to itself.
    public let directory: String?

    public init(top: String, verilog: [File], memoryImages: [File], directory: String? = nil) {
        self.top = top
        self.verilog = verilog
        self.memoryImages = memoryImages
        self.directory = directory
    }

    /// `files.f`: the Verilog files in compile order, leaves first. With `directory`, absolute
    /// paths, so `verilator -f` and `iverilog -f` take it from any working directory; without,
    /// paths relative to the folder (`verilator -F` resolves those against the file's folder).
    public var filelist: File {
        let prefix = directory.map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? ""
        return File(name: "files.f", contents: verilog.map { prefix + $0.name + "\n" }.joined())
    }

    public var allFiles: [File] { verilog + memoryImages + [filelist] }

    /// Whether `directory` already holds this design's Verilog, every file byte-identical (a
    /// tool run there on it can be read back instead of run again).
    public func isWritten(in directory: URL) -> Bool {
        verilog.allSatisfy { f in (try? String(contentsOf: directory.appendingPathComponent(f.name), encoding: .utf8)) == f.contents }
    }

    /// Writes every file into `directory`, through a temporary sibling directory renamed into
    /// place, so a failure never leaves a half-written design. An existing directory is replaced.
    public func write(to directory: URL, extraFiles: [File] = []) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        do {
            for f in allFiles + extraFiles {
                try Data(f.contents.utf8).write(to: staging.appendingPathComponent(f.name))
            }
            if fm.fileExists(atPath: directory.path) {
                let old = parent.appendingPathComponent(".\(directory.lastPathComponent).old-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
                try fm.moveItem(at: directory, to: old)
                try fm.moveItem(at: staging, to: directory)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: staging, to: directory)
            }
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }
}
