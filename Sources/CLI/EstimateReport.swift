import Description
import Foundation
import HDL
import Estimator

/// `qkforge estimate --json` for QKTA and QKCA (docs/estimate-json.md), as a Codable type: every
/// field escaped by the encoder, keys sorted, floating-point numbers tidied.
struct EstimateReport: Encodable {
    struct Design: Encodable {
        let model: String, stage: Int, block: String, dim: Int, heads: Int, tokens: Int, timeSteps: Int
        let lanes: Int, groups: Int, inputChunk: Int, top: String, seed: UInt64, weights: String
    }
    struct Counts: Encodable {
        let luts: Int, flipFlops: Int, memoryBits: Int, bram18: Int, bram36: Int, dsps: Int
        init(_ r: ResourceCount) {
            (luts, flipFlops, memoryBits, bram18, bram36, dsps) = (r.luts, r.flipFlops, r.memoryBits, r.bram18, r.bram36, r.dsps)
        }
    }
    struct Module: Encodable { let path: String, module: String, own: Counts, total: Counts }
    struct Resources: Encodable { let total: Counts, modules: [Module] }
    struct Rates: Encodable { let input: Double, q: Double, k: Double, attention: Double, xPrime: Double, out: Double, source: String }
    struct Cycles: Encodable { let perSample: Double, latency: Int, eventBound: Double }
    struct Operations: Encodable {
        let inputEvents: Double, maskedEvents: Double, accumulates: Double, multiplyAccumulates: Double, neuronUpdates: Double
        let weightBitsRead: Double, stateBitsRead: Double, stateBitsWritten: Double, bufferBitsRead: Double, bufferBitsWritten: Double
    }
    struct EnergyParameters: Encodable { let accumulatePJ: Double, multiplyAccumulatePJ: Double, memoryBitPJ: Double, source: String }
    struct Picojoules: Encodable {
        let synapticAccumulate: Double, synapticMultiply: Double, neuronUpdates: Double, weightMemory: Double
        let stateMemory: Double, bufferMemory: Double, total: Double
    }
    struct Energy: Encodable { let parameters: EnergyParameters, picojoules: Picojoules, microjoulesPerSample: Double }
    struct Fmax: Encodable {
        let ecp5MHz: Double, pathNs: Double, lut4Levels: Int, carryBits: Int, longestCarry: Int, chains: Int
        let fanoutLog2Sum: Double, xc7LUT6Levels: Int
    }

    let schemaVersion: Int
    let design: Design
    let resources: Resources
    let rates: Rates
    let clockMHz: Double
    /// `assumed` (`--clock-mhz`) or `estimated` (the Fmax estimate).
    let clockSource: String
    let fmaxEstimate: Fmax
    let cycles: Cycles
    let latencyMicroseconds: Double
    let samplesPerSecond: Double
    let operations: Operations
    let energy: Energy

    init(_ c: BlockConfig, seed: UInt64, weights: String, design d: HDL.Design, res: ModuleEstimate, est: PerformanceEstimate,
         clockSource: String, ecp5: LogicDepth.Path, xc7: LogicDepth.Path) {
        let t = JSONValue.tidy
        let s = est.shape, r = est.rates, o = est.ops, b = est.breakdown, e = est.energy
        schemaVersion = EstimateCommand.schemaVersion
        design = Design(model: c.model ?? "custom", stage: c.stage, block: c.block.rawValue, dim: s.channels, heads: s.heads,
                        tokens: s.tokens, timeSteps: s.timeSteps, lanes: s.lanes, groups: s.groups, inputChunk: s.inputChunk,
                        top: d.verilogName(d.top), seed: seed, weights: weights)
        resources = Resources(total: Counts(res.total), modules: EstimateCommand.flatten(res).map {
            Module(path: $0.path, module: $0.module, own: Counts($0.own), total: Counts($0.total))
        })
        rates = Rates(input: t(r.input), q: t(r.q), k: t(r.k), attention: t(r.attention), xPrime: t(r.xPrime), out: t(r.out), source: r.source)
        clockMHz = t(est.clockMHz)
        self.clockSource = clockSource
        fmaxEstimate = Fmax(ecp5MHz: t(ecp5.fmaxMHz), pathNs: t(ecp5.ns), lut4Levels: ecp5.lutLevels, carryBits: ecp5.carryBits,
                            longestCarry: ecp5.longestCarry, chains: ecp5.chains, fanoutLog2Sum: t(ecp5.fanoutLog), xc7LUT6Levels: xc7.lutLevels)
        cycles = Cycles(perSample: t(est.cyclesPerSample), latency: est.latencyCycles, eventBound: t(est.eventBoundCycles))
        latencyMicroseconds = t(est.latencyMicroseconds)
        samplesPerSecond = t(est.samplesPerSecond)
        operations = Operations(inputEvents: t(o.inputEvents), maskedEvents: t(o.maskedEvents), accumulates: t(o.accumulates),
                                multiplyAccumulates: t(o.multiplyAccumulates), neuronUpdates: t(o.neuronUpdates),
                                weightBitsRead: t(o.weightBitsRead), stateBitsRead: t(o.stateBitsRead), stateBitsWritten: t(o.stateBitsWritten),
                                bufferBitsRead: t(o.bufferBitsRead), bufferBitsWritten: t(o.bufferBitsWritten))
        energy = Energy(parameters: EnergyParameters(accumulatePJ: e.accumulate, multiplyAccumulatePJ: e.multiplyAccumulate,
                                                     memoryBitPJ: e.memoryBit, source: e.source),
                        picojoules: Picojoules(synapticAccumulate: t(b.synapticAccumulate), synapticMultiply: t(b.synapticMultiply),
                                               neuronUpdates: t(b.neuronUpdates), weightMemory: t(b.weightMemory), stateMemory: t(b.stateMemory),
                                               bufferMemory: t(b.bufferMemory), total: t(b.total)),
                        microjoulesPerSample: t(est.energyMicrojoules))
    }

    func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }
}
