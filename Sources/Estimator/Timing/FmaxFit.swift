import HDL

/// Fits the ECP5 delays of `LogicDepth` to Fmax measured by nextpnr on a calibration set
/// (`qkforge calibrate --fmax`). The clock-to-Q and setup delays are kept; the per-level LUT
/// delay, its fanout term, the carry-chain entry and per-bit ripple, the block RAM's clock-to-data
/// and the DSP product's delay are fitted by coordinate descent on the relative Fmax error, the worst design
/// first and the mean after (`objective`). Every candidate re-runs the depth analysis, so the
/// path each design is judged on may change with the delays, as it does in `estimate`.
///
/// The result is printed for a person to copy into `LogicDepth.Delays.ecp5`; a fit is only
/// trusted after a held-out draw (`calibrate --validate --fmax`) that it was not fitted on.
public enum FmaxFit {
    public struct Sample {
        public let name: String
        public let measuredMHz: Double
        let builder: FlatBuilder

        public init(name: String, design: Design, measuredMHz: Double) {
            self.name = name
            self.measuredMHz = measuredMHz
            builder = ResourceModel.finalBuilder(design)
        }

        public func estimate(_ d: LogicDepth.Delays) -> LogicDepth.Path {
            LogicDepth.analyze(builder, lutInputs: 4, delays: d)
        }

        /// The estimate's error against the measurement, in percent of the measurement.
        public func errorPercent(_ d: LogicDepth.Delays) -> Double {
            100 * (estimate(d).fmaxMHz - measuredMHz) / measuredMHz
        }
    }

    public struct Fit: Sendable {
        public var delays: LogicDepth.Delays
        /// Largest absolute error over the samples, percent.
        public var worst: Double
        /// Mean absolute error, percent.
        public var mean: Double
        public var evaluations: Int
    }

    /// The fitted delays: name, value range, first step and last step, in ns.
    struct Parameter {
        let name: String
        let key: WritableKeyPath<LogicDepth.Delays, Double>
        let range: ClosedRange<Double>
        let step: Double
        let minStep: Double
    }

    static let parameters: [Parameter] = [
        Parameter(name: "lut", key: \.lut, range: 0.1...3.0, step: 0.2, minStep: 0.01),
        Parameter(name: "routeFanout", key: \.routeFanout, range: 0...1.0, step: 0.1, minStep: 0.005),
        Parameter(name: "carryEntry", key: \.carryEntry, range: 0...5.0, step: 0.4, minStep: 0.02),
        Parameter(name: "carryBit", key: \.carryBit, range: 0...0.3, step: 0.02, minStep: 0.002),
        Parameter(name: "blockRAM", key: \.blockRAM, range: 0.5...6.0, step: 0.4, minStep: 0.02),
        Parameter(name: "dsp", key: \.dsp, range: 2.0...9.0, step: 0.4, minStep: 0.02),
    ]

    /// Worst and mean absolute error (percent) of `delays` over `samples`.
    public static func errors(_ samples: [Sample], _ delays: LogicDepth.Delays) -> (worst: Double, mean: Double) {
        let e = samples.map { abs($0.errorPercent(delays)) }
        return (e.max() ?? 0, e.reduce(0, +) / Double(max(1, e.count)))
    }

    /// What the descent minimises: the worst error, with the mean as a smaller second term so
    /// that among equally bad worst cases the one closer on the rest wins.
    static func objective(_ e: (worst: Double, mean: Double)) -> Double { e.worst + 0.25 * e.mean }

    public static func fit(_ samples: [Sample], from start: LogicDepth.Delays = .ecp5, maxEvaluations: Int = 400) -> Fit {
        precondition(!samples.isEmpty, "a fit needs at least one measured design")
        var best = start
        var bestErrors = errors(samples, best)
        var evaluations = 1
        var steps = parameters.map(\.step)
        while evaluations < maxEvaluations {
            var improved = false
            for (i, p) in parameters.enumerated() {
                for sign in [1.0, -1.0] {
                    var d = best
                    let v = d[keyPath: p.key] + sign * steps[i]
                    guard p.range.contains(v) else { continue }
                    d[keyPath: p.key] = v
                    let e = errors(samples, d)
                    evaluations += 1
                    if objective(e) < objective(bestErrors) - 1e-9 {
                        (best, bestErrors, improved) = (d, e, true)
                        break
                    }
                }
            }
            if !improved {
                var any = false
                for i in steps.indices where steps[i] / 2 >= parameters[i].minStep {
                    steps[i] /= 2
                    any = true
                }
                if !any { break }
            }
        }
        return Fit(delays: best, worst: bestErrors.worst, mean: bestErrors.mean, evaluations: evaluations)
    }

    /// The delays as `QKFORGE_ECP5_DELAYS` reads them: clockToQ,setup,lut,routeFanout,carryEntry,carryBit,dsp,blockRAM,dspSpread.
    public static func environmentValue(_ d: LogicDepth.Delays) -> String {
        [d.clockToQ, d.setup, d.lut, d.routeFanout, d.carryEntry, d.carryBit, d.dsp, d.blockRAM, d.dspSpread].map { String(format: "%.4g", $0) }.joined(separator: ",")
    }

    /// The delays as Swift source, to paste into `LogicDepth.Delays.ecp5`.
    public static func swiftSource(_ d: LogicDepth.Delays) -> String {
        func f(_ x: Double) -> String { String(format: "%.3g", x) }
        return "Delays(clockToQ: \(f(d.clockToQ)), setup: \(f(d.setup)), lut: \(f(d.lut)), routeFanout: \(f(d.routeFanout)), "
            + "carryEntry: \(f(d.carryEntry)), carryBit: \(f(d.carryBit)), dsp: \(f(d.dsp))) with blockRAM \(f(d.blockRAM)), dspSpread \(f(d.dspSpread))"
    }
}
