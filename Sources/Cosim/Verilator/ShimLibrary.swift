import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The C ABI of one loaded libqkmodel.so (see sim/qk_shim.cpp.in), resolved with dlsym.
///
/// Libraries are opened RTLD_LOCAL, so two designs' copies of the Verilator run time
/// do not bind to each other, and are never closed: dlopen of the same path returns
/// the same handle, and every model instance keeps its own state and VerilatedContext.
@usableFromInline
struct ShimLibrary: @unchecked Sendable {
    @usableFromInline typealias Handle = UnsafeMutableRawPointer
    typealias IntFn = @convention(c) () -> Int32
    typealias CreateFn = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?,
                                         UnsafeMutablePointer<CChar>?, Int) -> Handle?
    typealias TraceOpenFn = @convention(c) (Handle, UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int) -> Int32
    @usableFromInline typealias HandleFn = @convention(c) (Handle) -> Void
    @usableFromInline typealias SetFn = @convention(c) (Handle, UnsafePointer<UInt32>?) -> Void
    @usableFromInline typealias GetFn = @convention(c) (Handle, UnsafeMutablePointer<UInt32>?) -> Void
    typealias RunFn = @convention(c) (Handle, UInt64, UnsafePointer<UInt32>?, UnsafeMutablePointer<UInt32>?) -> Void
    typealias TimeFn = @convention(c) (Handle) -> UInt64
    typealias StatusFn = @convention(c) (Handle, UnsafeMutablePointer<CChar>?, Int) -> Int32

    static let abiVersion: Int32 = 1

    let inputWords: Int
    let outputWords: Int
    let traceSupport: Int32
    let create: CreateFn
    let destroy: HandleFn
    let traceOpen: TraceOpenFn
    let traceFlush: HandleFn
    @usableFromInline let setInputs: SetFn
    @usableFromInline let eval: HandleFn
    @usableFromInline let getOutputs: GetFn
    @usableFromInline let tick: HandleFn
    let run: RunFn
    let time: TimeFn
    let status: StatusFn
    let final: HandleFn

    private static let loaded = LockedValue<[String: ShimLibrary]>([:])

    static func load(_ path: String) throws -> ShimLibrary {
        try loaded.withLock { cache in
            if let library = cache[path] { return library }
            let library = try open(path)
            cache[path] = library
            return library
        }
    }

    private static func open(_ path: String) throws -> ShimLibrary {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw VerilatorError(.loadFailed, "cannot load \(path): \(reason)")
        }
        func symbol<T>(_ name: String, as type: T.Type) throws -> T {
            guard let pointer = dlsym(handle, name) else {
                throw VerilatorError(.loadFailed, "\(path) has no symbol \(name); rebuild it (delete the cache entry)")
            }
            return unsafeBitCast(pointer, to: type)
        }
        let version = try symbol("qk_abi_version", as: IntFn.self)()
        guard version == abiVersion else {
            throw VerilatorError(.loadFailed, "\(path) speaks shim ABI \(version), this harness \(abiVersion)")
        }
        return ShimLibrary(
            inputWords: Int(try symbol("qk_input_words", as: IntFn.self)()),
            outputWords: Int(try symbol("qk_output_words", as: IntFn.self)()),
            traceSupport: try symbol("qk_trace_support", as: IntFn.self)(),
            create: try symbol("qk_create", as: CreateFn.self),
            destroy: try symbol("qk_destroy", as: HandleFn.self),
            traceOpen: try symbol("qk_trace_open", as: TraceOpenFn.self),
            traceFlush: try symbol("qk_trace_flush", as: HandleFn.self),
            setInputs: try symbol("qk_set_inputs", as: SetFn.self),
            eval: try symbol("qk_eval", as: HandleFn.self),
            getOutputs: try symbol("qk_get_outputs", as: GetFn.self),
            tick: try symbol("qk_tick", as: HandleFn.self),
            run: try symbol("qk_run", as: RunFn.self),
            time: try symbol("qk_time", as: TimeFn.self),
            status: try symbol("qk_status", as: StatusFn.self),
            final: try symbol("qk_final", as: HandleFn.self))
    }
}

/// A value behind a lock, for the harness's few process-wide tables.
final class LockedValue<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
