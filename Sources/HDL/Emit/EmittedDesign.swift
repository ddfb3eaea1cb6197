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
    /// Memory images, by the plain file name the Verilog's `$readmemh` opens.
    public let memoryImages: [File]

    /// `files.f`: the Verilog files in compile order.
    public var filelist: File {
        File(name: "files.f", contents: verilog.map { $0.name + "\n" }.joined())
    }

    public var allFiles: [File] { verilog + memoryImages + [filelist] }

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
