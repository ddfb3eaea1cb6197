import Description
import Foundation
import HDL
import Blocks
import Estimator

/// `report.json` of a generated design (docs/formats.md): what was built, counted in the
/// elaborated design, and the resource and performance estimate, as Codable types so that every
/// field is escaped and typed.
struct GenerateReport: Codable {
    struct Memory: Codable {
        var path: String
        var depth: Int
        var width: Int
    }

    /// The resource estimate: `ResourceModel` (the design mapped to xc7 cells as Yosys
    /// `synth_xilinx` would, no synthesis run); docs/estimate-accuracy.md measures it.
    struct Resources: Codable {
        var luts: Int
        var flipFlops: Int
        var memoryBits: Int
        var bram36: Int
        var bram18: Int
        var dsps: Int
        var lutRAMSites: Int
        var carry4: Int
        var source: String
    }

    struct Rates: Codable {
        var input: Double
        var q: Double
        var k: Double
        var attention: Double
        var xPrime: Double
        var out: Double
        var source: String
    }

    /// Cycles from the checked cycle model (docs/estimate-cycles.md) at assumed firing rates;
    /// times at the Fmax estimate (`ClockChoice`), not a timing result.
    struct Performance: Codable {
        var cyclesPerSample: Double
        var latencyCycles: Int
        var eventBoundCycles: Double
        var rates: Rates
        var clockMHz: Double
        var clockIsAssumed: Bool
        var clockSource: String
        var latencyMicroseconds: Double
        var samplesPerSecond: Double
    }

    struct Files: Codable {
        /// `absolute` (this machine's folder) or `relative` (to the folder, `generate --portable`).
        var paths: String
        /// The macro naming the folder of the memory images.
        var memoryDirectoryMacro: String
        /// Its default in the Verilog.
        var memoryDirectory: String
    }

    var schemaVersion = 2
    var generator: String
    var top: String
    var model: String
    var stage: Int
    var block: String
    var dim: Int
    var heads: Int
    var tokens: Int
    var timeSteps: Int
    var lanes: Int
    var weights: String
    /// Counted in the elaborated design (exact).
    var flipFlops: Int
    var memoryBits: Int
    var memories: [Memory]
    var files: Files
    var resources: Resources
    var performance: Performance
    var quantization: JSONValue?

    /// Pretty, sorted, slashes unescaped, and numbers free of binary noise (629145.6, not
    /// 629145.6000000001), so the file is stable and readable.
    func encoded() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(self), as: UTF8.self) + "\n"
    }
}

extension GenerateReport.Resources {
    init(_ r: ResourceCount) {
        self.init(luts: r.luts, flipFlops: r.flipFlops, memoryBits: r.memoryBits, bram36: r.bram36, bram18: r.bram18, dsps: r.dsps,
                  lutRAMSites: r.lutRAMSites, carry4: r.carry4,
                  source: "estimate: ResourceModel, the design mapped to Xilinx 7-series cells as Yosys synth_xilinx would, without synthesis (docs/estimate-accuracy.md)")
    }
}

extension GenerateReport.Performance {
    init(_ est: PerformanceEstimate, clock: ClockChoice) {
        let r = est.rates
        self.init(cyclesPerSample: JSONValue.tidy(est.cyclesPerSample), latencyCycles: est.latencyCycles,
                  eventBoundCycles: JSONValue.tidy(est.eventBoundCycles),
                  rates: GenerateReport.Rates(input: JSONValue.tidy(r.input), q: JSONValue.tidy(r.q), k: JSONValue.tidy(r.k),
                                              attention: JSONValue.tidy(r.attention), xPrime: JSONValue.tidy(r.xPrime),
                                              out: JSONValue.tidy(r.out), source: "assumed: " + r.source),
                  clockMHz: JSONValue.tidy(est.clockMHz), clockIsAssumed: clock.isAssumed, clockSource: clock.source,
                  latencyMicroseconds: JSONValue.tidy(est.latencyMicroseconds), samplesPerSecond: JSONValue.tidy(est.samplesPerSecond))
    }
}

/// Any JSON value, to carry a JSONSerialization tree (the quantization report) inside a
/// Codable type.
indirect enum JSONValue: Codable, Equatable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(_ any: Any) {
        switch any {
        case let v as Bool where type(of: any) == Bool.self: self = .bool(v)
        case let v as Int: self = .int(v)
        case let v as Double: self = v.rounded() == v && abs(v) < 1e15 ? .int(Int(v)) : .double(JSONValue.tidy(v))
        case let v as String: self = .string(v)
        case let v as [Any]: self = .array(v.map(JSONValue.init))
        case let v as [String: Any]: self = .object(v.mapValues(JSONValue.init))
        case let v as NSNumber: self = .double(JSONValue.tidy(v.doubleValue))
        default: self = .null
        }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let v = try? c.decode(Bool.self) { self = .bool(v) } else if let v = try? c.decode(Int.self) {
            self = .int(v)
        } else if let v = try? c.decode(Double.self) { self = .double(v) } else if let v = try? c.decode(String.self) { self = .string(v) } else if let v = try? c.decode([JSONValue].self) {
            self = .array(v)
        } else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let v): try c.encode(v)
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .array(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        }
    }

    /// `v` rounded to 12 significant digits: what a computation meant, without the binary
    /// noise of its last bits (0.1 * 3 is 0.30000000000000004; this gives 0.3).
    static func tidy(_ v: Double) -> Double {
        guard v.isFinite, v != 0 else { return v }
        return Double(String(format: "%.12g", v)) ?? v
    }

    /// A JSONSerialization tree with every floating-point number tidied.
    static func tidyTree(_ any: Any) -> Any {
        switch any {
        case let v as [String: Any]: return v.mapValues(tidyTree)
        case let v as [Any]: return v.map(tidyTree)
        case let v as Double where !(any is Int): return tidy(v)
        default: return any
        }
    }
}
