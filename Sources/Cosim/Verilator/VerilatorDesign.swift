import Foundation
import HDL

/// One top-level port as the harness packs it: the IR simulator's `SimPort`, the same
/// `ceil(width / 32)` 32-bit words, least significant word first, so both models take the same
/// packed buffers.
public typealias VerilatorPort = SimPort

extension SimPort {
    /// Mask of the valid bits in the port's most significant word.
    public var topWordMask: UInt32 {
        width % 32 == 0 ? UInt32.max : (UInt32(1) << UInt32(width % 32)) - 1
    }
}

public enum TraceFormat: Sendable, Hashable {
    case vcd, fst
}

/// A Verilog design to co-simulate: its files and the ports Swift drives and reads.
public struct VerilatorDesign: Sendable {
    /// Top module name.
    public var top: String
    /// Verilog files, in order.
    public var sources: [URL]
    /// `$readmemh`/`$readmemb` images, opened by the design by plain file name. The
    /// harness copies them into the model's run directory (see sim/README.md).
    public var dataFiles: [URL]
    /// Inputs in packing order, excluding the clock.
    public var inputs: [VerilatorPort]
    /// Outputs in packing order. Outputs of the top module not listed are not read.
    public var outputs: [VerilatorPort]
    /// The clock input, toggled by `tick()`; nil for a purely combinational design.
    public var clock: String?

    public init(top: String, sources: [URL], dataFiles: [URL] = [], inputs: [VerilatorPort],
                outputs: [VerilatorPort], clock: String?) {
        self.top = top
        self.sources = sources
        self.dataFiles = dataFiles
        self.inputs = inputs
        self.outputs = outputs
        self.clock = clock
    }

    /// Total 32-bit words of all inputs, packed.
    public var inputWords: Int { inputs.reduce(0) { $0 + $1.words } }
    /// Total 32-bit words of all outputs, packed.
    public var outputWords: Int { outputs.reduce(0) { $0 + $1.words } }

    /// Word offset of each input in a packed input buffer, in declaration order.
    public var inputOffsets: [Int] { Self.offsets(inputs) }
    /// Word offset of each output in a packed output buffer, in declaration order.
    public var outputOffsets: [Int] { Self.offsets(outputs) }

    static func offsets(_ ports: [VerilatorPort]) -> [Int] {
        var offsets: [Int] = []
        var next = 0
        for port in ports {
            offsets.append(next)
            next += port.words
        }
        return offsets
    }
}

/// How a design is built and run. Every field that changes the compiled model
/// (trace format, extra flags) is part of the cache key.
public struct VerilatorOptions: Sendable {
    /// Compile in tracing support (`--trace` or `--trace-fst`). Off by default:
    /// tracing costs speed even when no file is open.
    public var trace: TraceFormat? = nil
    /// Start dumping to this file as soon as the model is created. Needs `trace`.
    public var tracePath: String? = nil
    /// Where built models are kept, one directory per cache key.
    public var cacheDirectory: URL = VerilatorOptions.defaultCacheDirectory
    /// Extra Verilator command-line flags, e.g. `["+define+SIM=1"]`. Verilator runs in the
    /// build directory, so paths in them must be absolute.
    public var extraFlags: [String] = []
    /// Parallel jobs for `make`.
    public var jobs: Int = 2

    public init(trace: TraceFormat? = nil, tracePath: String? = nil, cacheDirectory: URL? = nil,
                extraFlags: [String] = [], jobs: Int = 2) {
        self.trace = trace
        self.tracePath = tracePath
        self.cacheDirectory = cacheDirectory ?? VerilatorOptions.defaultCacheDirectory
        self.extraFlags = extraFlags
        self.jobs = jobs
    }

    /// `$QKFORGE_CACHE/verilator` if `QKFORGE_CACHE` is set, else `$XDG_CACHE_HOME/qkforge/verilator`,
    /// else `~/.cache/qkforge/verilator`: the user's cache directory, never the working directory.
    public static var defaultCacheDirectory: URL {
        QKForgeCache.directory(environment: ProcessInfo.processInfo.environment)
            .appendingPathComponent("verilator", isDirectory: true)
    }
}

/// Where QKForge keeps what it can rebuild (compiled Verilator models): `$QKFORGE_CACHE`, else
/// `$XDG_CACHE_HOME/qkforge`, else `~/.cache/qkforge` (the XDG base-directory rule). A relative
/// value is taken from the current directory, as a shell would; an empty one counts as unset.
public enum QKForgeCache {
    public static func directory(environment env: [String: String]) -> URL {
        if let path = env["QKFORGE_CACHE"], !path.isEmpty {
            return URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        }
        // XDG: a relative XDG_CACHE_HOME is invalid and is ignored.
        if let xdg = env["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg, isDirectory: true).appendingPathComponent("qkforge", isDirectory: true)
        }
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent(".cache/qkforge", isDirectory: true)
    }
}
