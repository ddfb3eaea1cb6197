import Foundation
import HDL

/// A model that advances one clock cycle at a time through packed ports: the Verilator
/// harness and the IR simulator both are one.
public protocol ClockedModel: AnyObject {
    var inputWords: Int { get }
    var outputWords: Int { get }
    func setInputs(_ words: UnsafeBufferPointer<UInt32>)
    func eval()
    func getOutputs(_ words: UnsafeMutableBufferPointer<UInt32>)
    func tick()
}

extension VerilatorModel: ClockedModel {}
extension Simulator: ClockedModel {}

/// Drives a clocked model by port name, for transaction-level testbenches (streams with
/// valid/ready, random stalls). Per cycle: `set` the inputs, `eval()`, `get` the outputs (which
/// see the inputs just set), then `tick()`.
public final class PortDriver {
    public let model: ClockedModel
    public let inputs: [SimPort]
    public let outputs: [SimPort]
    private var inWords: [UInt32]
    private var outWords: [UInt32]
    private var inOffset: [String: (offset: Int, port: SimPort)] = [:]
    private var outOffset: [String: (offset: Int, port: SimPort)] = [:]
    private var dirty = true
    /// Cycles ticked so far.
    public private(set) var cycle = 0

    public init(model: ClockedModel, inputs: [SimPort], outputs: [SimPort]) {
        self.model = model
        self.inputs = inputs
        self.outputs = outputs
        inWords = [UInt32](repeating: 0, count: model.inputWords)
        outWords = [UInt32](repeating: 0, count: model.outputWords)
        var o = 0
        for p in inputs { inOffset[p.name] = (o, p); o += p.words }
        o = 0
        for p in outputs { outOffset[p.name] = (o, p); o += p.words }
    }

    /// A driver on the Verilator model of `design` (built or taken from the cache).
    public static func verilator(_ design: Design, directory: URL, options: VerilatorOptions = .init()) throws -> PortDriver {
        let emitted = VerilogEmitter.emit(design)
        let model = try VerilatedDesign.build(design, emitted: emitted, directory: directory, options: options)
        let sim = try Simulator(design)   // only for the port list, which is the same
        return PortDriver(model: model, inputs: sim.inputs, outputs: sim.outputs)
    }

    /// A driver on the IR simulator of `design`.
    public static func simulator(_ design: Design) throws -> PortDriver {
        let sim = try Simulator(design)
        return PortDriver(model: sim, inputs: sim.inputs, outputs: sim.outputs)
    }

    public func has(_ name: String) -> Bool { inOffset[name] != nil || outOffset[name] != nil }

    /// Sets input `name` to `value`, sign-extended to the port's width and then truncated to it
    /// (two's complement for negative values).
    public func set(_ name: String, _ value: Int) {
        guard let (o, p) = inOffset[name] else { preconditionFailure("no input port '\(name)'") }
        let v = UInt64(bitPattern: Int64(value))
        let fill: UInt32 = value < 0 ? ~0 : 0
        for i in 0..<p.words {
            inWords[o + i] = i == 0 ? UInt32(truncatingIfNeeded: v) : i == 1 ? UInt32(truncatingIfNeeded: v >> 32) : fill
        }
        if p.width % 32 != 0 { inWords[o + p.words - 1] &= (UInt32(1) << UInt32(p.width % 32)) - 1 }
        dirty = true
    }

    public func set(_ name: String, _ value: Bool) { set(name, value ? 1 : 0) }

    /// Sets input `name` to the bit pattern `value` (any width up to the port's).
    public func set(_ name: String, bits value: Bits) {
        guard let (o, p) = inOffset[name] else { preconditionFailure("no input port '\(name)'") }
        precondition(value.width <= p.width, "\(value.width)-bit value for the \(p.width)-bit port '\(name)'")
        for i in 0..<p.words {
            let w = i / 2 < value.words.count ? value.words[i / 2] >> UInt64(32 * (i % 2)) : 0
            inWords[o + i] = UInt32(truncatingIfNeeded: w)
        }
        dirty = true
    }

    /// Applies the inputs and settles the logic; outputs then reflect this cycle's inputs.
    public func eval() {
        inWords.withUnsafeBufferPointer { model.setInputs($0) }
        model.eval()
        outWords.withUnsafeMutableBufferPointer { model.getOutputs($0) }
        dirty = false
    }

    /// Output `name` as an unsigned number (ports up to 64 bits).
    public func get(_ name: String) -> UInt64 {
        if dirty { eval() }
        guard let (o, p) = outOffset[name] else { preconditionFailure("no output port '\(name)'") }
        precondition(p.width <= 64, "port '\(name)' is \(p.width) bits; use getSigned/bits")
        var v: UInt64 = UInt64(outWords[o])
        if p.words > 1 { v |= UInt64(outWords[o + 1]) << 32 }
        return v
    }

    /// Output `name` read as a two's-complement number (ports up to 64 bits).
    public func getSigned(_ name: String) -> Int {
        let v = get(name)
        let w = outOffset[name]!.port.width
        if w == 64 { return Int(Int64(bitPattern: v)) }
        let sign = UInt64(1) << UInt64(w - 1)
        return v & sign != 0 ? Int(Int64(bitPattern: v | ~((sign << 1) &- 1))) : Int(v)
    }

    public func bit(_ name: String) -> Bool { get(name) != 0 }

    /// The rising clock edge.
    public func tick() {
        if dirty { eval() }
        model.tick()
        cycle += 1
        dirty = true
    }
}
