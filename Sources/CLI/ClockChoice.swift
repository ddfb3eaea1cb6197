import Foundation
import HDL
import Estimator

/// The clock that latencies and throughputs are given at: `--clock-mhz` when the user gives it
/// (an assumption, printed as one), otherwise the Fmax estimate of the design's own netlist
/// (`LogicDepth`, ECP5 speed 8, the delays calibrated against nextpnr in
/// docs/estimate-accuracy.md). Never a place-and-route result: `qkforge timing` measures that.
struct ClockChoice {
    let mhz: Double
    /// True for `--clock-mhz`; false for the Fmax estimate.
    let isAssumed: Bool
    /// One line saying where the clock comes from.
    let source: String

    /// The calibrated ECP5 delays, or the eight or nine numbers of `QKFORGE_ECP5_DELAYS`
    /// ("clockToQ,setup,lut,routeFanout,carryEntry,carryBit,dsp,blockRAM[,dspSpread]", ns), with which the
    /// calibration of docs/estimate-accuracy.md fits them.
    static func delays() throws -> LogicDepth.Delays {
        var delays = LogicDepth.Delays.ecp5
        if let e = ProcessInfo.processInfo.environment["QKFORGE_ECP5_DELAYS"] {
            let v = e.split(separator: ",").compactMap { Double($0) }
            guard v.count == 8 || v.count == 9, v.count == e.split(separator: ",", omittingEmptySubsequences: false).count else {
                throw Failure(message: "QKFORGE_ECP5_DELAYS must be 8 or 9 numbers (clockToQ,setup,lut,routeFanout,carryEntry,carryBit,dsp,blockRAM[,dspSpread]; what calibrate --fmax prints), got '\(e)'", code: 2)
            }
            delays = LogicDepth.Delays(clockToQ: v[0], setup: v[1], lut: v[2], routeFanout: v[3], carryEntry: v[4], carryBit: v[5], dsp: v[6])
            delays.blockRAM = v[7]
            delays.dspSpread = v.count == 9 ? v[8] : LogicDepth.Delays.ecp5.dspSpread
        }
        return delays
    }

    /// `given` (MHz) as an assumption, or the Fmax estimate of `design`.
    static func choose(_ design: Design, given: Double?) throws -> ClockChoice {
        if let given {
            return ClockChoice(mhz: given, isAssumed: true, source: "an ASSUMED clock (--clock-mhz), not a timing result")
        }
        let p = LogicDepth.analyze(design, lutInputs: 4, delays: try delays())
        let text = String(format: "the ESTIMATED Fmax (ECP5 speed 8, from the netlist's logic depth: %.2f ns into %@, %d LUT4 levels, %d carry bits; docs/estimate-accuracy.md), not a place-and-route result",
                          p.ns, p.endModule.isEmpty ? "the top" : p.endModule, p.lutLevels, p.carryBits)
        return ClockChoice(mhz: p.fmaxMHz, isAssumed: false, source: text)
    }
}
