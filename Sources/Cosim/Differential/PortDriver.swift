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
    /// When set, every tick appends the packed input words of that cycle to `recordedInputs`:
    /// the stimulus a replay (`VerilatorModel.writeReplay`) needs to repeat the run.
    public var recordInputs = false
    public private(set) var recordedInputs: [UInt32] = []

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

    /// Sets input `name` from `lanes` values of `laneWidth` bits each, lane `j` at bits
    /// `[j*laneWidth +: laneWidth]` (any port width: the way count vectors are packed). Each value
    /// must fit its lane; lanes past the port's width must be absent.
    public func set(_ name: String, lanes values: [UInt64], laneWidth: Int) {
        guard let (_, p) = inOffset[name] else { preconditionFailure("no input port '\(name)'") }
        set(name, bits: Self.pack(values, laneWidth: laneWidth, width: p.width))
    }

    /// `values` packed `laneWidth` bits apart, lane 0 in the low bits, into a `width`-bit word.
    public static func pack(_ values: [UInt64], laneWidth: Int, width: Int) -> Bits {
        precondition((1...64).contains(laneWidth), "lanes are 1...64 bits, got \(laneWidth)")
        precondition(values.count * laneWidth <= width, "\(values.count) lanes of \(laneWidth) bits do not fit \(width) bits")
        var words = [UInt64](repeating: 0, count: (width + 63) / 64)
        for (j, v) in values.enumerated() {
            precondition(laneWidth == 64 || v >> UInt64(laneWidth) == 0, "lane \(j): \(v) does not fit \(laneWidth) bits")
            let bit = j * laneWidth
            words[bit / 64] |= v << UInt64(bit % 64)
            if bit % 64 + laneWidth > 64 { words[bit / 64 + 1] |= v >> UInt64(64 - bit % 64) }
        }
        return Bits(width: width, truncating: words)
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

    public func bit(_ name: String) -> Bool {
        if dirty { eval() }
        guard let (o, p) = outOffset[name] else { preconditionFailure("no output port '\(name)'") }
        return outWords[o..<(o + p.words)].contains { $0 != 0 }
    }

    /// Output `name` as a bit pattern of the port's width (any width).
    public func bits(_ name: String) -> Bits {
        if dirty { eval() }
        guard let (o, p) = outOffset[name] else { preconditionFailure("no output port '\(name)'") }
        var words = [UInt64](repeating: 0, count: (p.width + 63) / 64)
        for i in 0..<p.words { words[i / 2] |= UInt64(outWords[o + i]) << UInt64(32 * (i % 2)) }
        return Bits(width: p.width, truncating: words)
    }

    /// Output `name` split into `count` lanes of `laneWidth` bits (lane `j` at bits
    /// `[j*laneWidth +: laneWidth]`), for count vectors on ports of any width.
    public func lanes(_ name: String, count: Int, laneWidth: Int) -> [UInt64] {
        Self.unpack(bits(name), count: count, laneWidth: laneWidth)
    }

    /// Lanes `0..<count` of `laneWidth` bits (1...64) of `value`; bits past its width read 0.
    public static func unpack(_ value: Bits, count: Int, laneWidth: Int) -> [UInt64] {
        precondition((1...64).contains(laneWidth), "lanes are 1...64 bits, got \(laneWidth)")
        let mask: UInt64 = laneWidth == 64 ? ~0 : (1 << UInt64(laneWidth)) - 1
        return (0..<count).map { j in
            let bit = j * laneWidth
            let w = bit / 64, s = UInt64(bit % 64)
            var v = w < value.words.count ? value.words[w] >> s : 0
            if s > 0, w + 1 < value.words.count { v |= value.words[w + 1] << (64 - s) }
            return v & mask
        }
    }

    /// The rising clock edge.
    public func tick() {
        if dirty { eval() }
        if recordInputs { recordedInputs.append(contentsOf: inWords) }
        model.tick()
        cycle += 1
        dirty = true
    }
}
