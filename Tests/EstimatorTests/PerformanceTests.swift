import Description
import Foundation
import Testing
import Blocks
@testable import Estimator

/// The cycle and energy models on small cases worked out by hand from their documented rules.
@Suite struct PerformanceTests {
    static func shape(_ mask: AttentionMask, C: Int, P: Int, N: Int, T: Int = 1, heads: Int = 1, chunk: Int? = nil,
                      storage: LIFStateStorage = .auto) -> AcceleratorShape {
        AcceleratorShape(mask: mask, channels: C, heads: heads, tokens: N, timeSteps: T, lanes: P, inputChunk: chunk,
                         weightWidth: 8, accumulatorWidth: 16, membraneWidth: 12, storage: storage)
    }

    @Test func stageCostsFollowEventsTimesGroups() {
        // C = 8, P = 2: G = 4, o = 1; K = 4 channels per beat: 2 beats.
        let m = CycleModel(Self.shape(.token, C: 8, P: 2, N: 1, chunk: 4))
        let v = VectorEvents(inputPerBeat: [3, 0], maskedPerGroup: [1, 0, 2, 0])
        // A = max(3 + 1 (empty beat), 3*4 + 1) = 13; B = max(1+1+2+1, 3*4 + 1) = 13.
        #expect(m.inputStage(v) == 13)
        #expect(m.projectionStage(v) == 13)
        // An all-zero vector costs one marker: max(2, 1*4 + 1) = 5.
        #expect(m.inputStage(VectorEvents(inputPerBeat: [0, 0], maskedPerGroup: [0, 0, 0, 0])) == 5)
        // G = 1 (P = 8): o = 2; the scan of the beats can dominate: max(3 + 1, 3 + 2) = 5.
        let one = CycleModel(Self.shape(.token, C: 8, P: 8, N: 1, chunk: 4))
        #expect(one.inputStage(VectorEvents(inputPerBeat: [3, 0], maskedPerGroup: [3])) == 5)
        // With one channel per beat the scan is 8 cycles: max(8, 3 + 2) = 8.
        let narrow = CycleModel(Self.shape(.token, C: 8, P: 8, N: 1, chunk: 1))
        #expect(narrow.inputStage(VectorEvents(inputPerBeat: [1, 1, 1, 0, 0, 0, 0, 0], maskedPerGroup: [0])) == 8)
    }

    @Test func qktaTimelineByHand() {
        // C = 4, P = 2 (G = 2, o = 1), one head, one 4-channel input beat.
        // v0: 1 input event, X' = 2 events in group 0. v1: 1 input event, no X'.
        // Worked through QKTATimeline's rules (kChain 4, kLatency 2, skid 2, queue 3, qLatency 4):
        // v0: input side ends at 2, mask at 2 + G + 4 = 8, K beats pass the mask at 9 and 10, the
        //     X' encoder takes beat 0 at 10; its events are accepted at 12 and 14: projection done 16.
        // v1: input side ends at 5 (group 1 waits for v0's drain of group 1 at 4, +1), mask at 11;
        //     K beats pass at 12 and 13; no X' events: the marker finishes at max(13 + 3, 16 + G) = 18.
        // Last output beat: 18 + G + 4 = 24.
        let m = CycleModel(Self.shape(.token, C: 4, P: 2, N: 2))
        let v0 = VectorEvents(inputPerBeat: [1], maskedPerGroup: [2, 0])
        let v1 = VectorEvents(inputPerBeat: [1], maskedPerGroup: [0, 0])
        #expect(m.runCycles([[v0, v1]]) == 24)
        // G = 1 (P = 4, o = 2), one vector of one event each side:
        // input ends at 2, mask at 2 + 1 + 4 = 7, K passes at max(8, drain 4 + 2) = 8, encoder takes
        // it at 9, emits at 10, the accumulator accepts at 11 and is done at 12; last beat 12 + 1 + 4 = 17.
        let g1 = CycleModel(Self.shape(.token, C: 4, P: 4, N: 1))
        #expect(g1.runCycles([[VectorEvents(inputPerBeat: [1], maskedPerGroup: [1])]]) == 17)
    }

    @Test func pipelinedLIFBanksLengthenTheTimelinesByHand() {
        // The default storage `auto` builds the Q, K and projection LIF banks pipelined when
        // G >= 4 (LIFBank.swift): a beat spends s1 (accepted), s2 (start membrane), s3 (charged
        // H), s4 (spike and reset membrane) and is written into the output skid buffer one edge
        // later, latency 5 instead of the register bank's 1, so each bank adds 4 cycles and holds
        // 4 more beats.
        // QKTA C = 8, P = 2 (G = 4, o = 1), one head, one vector: 1 input event, 1 X' event in group 0.
        // Registers: input side ends at 1 + 3 = 4 (groups issued at 1, 2, 3, 4); Q's last event
        //   ends at 4, mask at 4 + G + 4 = 12 (Q drain of 4 beats, Q LIF 1, gather, row sums,
        //   attention LIF); K group 0 drained at 5, passes the mask at max(13, 5 + 2) = 13; the X'
        //   encoder takes it at 14, emits at 15; the projection accumulator accepts at 16, done at
        //   20; last beat 20 + G + 4 = 28 (drain 4, projection LIF 1, output).
        let reg = CycleModel(AcceleratorShape(mask: .token, channels: 8, heads: 1, tokens: 1, timeSteps: 1, lanes: 2,
                                              weightWidth: 8, accumulatorWidth: 16, membraneWidth: 12, storage: .registers))
        let v = [[VectorEvents(inputPerBeat: [1], maskedPerGroup: [1, 0, 0, 0])]]
        #expect(reg.runCycles(v) == 28)
        // Pipelined (G = 4; `auto` would pick it at T >= 2): the Q bank's 4 stages move the mask
        // to 16; K group 0 (drained at 5, out of the K bank at 5 + 2 + 4 = 11) waits for it and
        // passes at 17; encoder 18, emit 19, accept 20, done 24; the projection bank's 4 stages:
        // last beat 24 + 4 + 4 + 4 = 36.
        let pipe = CycleModel(Self.shape(.token, C: 8, P: 2, N: 1, storage: .pipelined))
        #expect(pipe.shape.lifExtraLatency == 4)
        #expect(pipe.runCycles(v) == 36)
        // QKCA C = 16, P = 4 (G = 4, o = 1), N = 2, T = 1, one 16-channel beat, OR-form mask:
        // the pipelined K (and Q) bank delays pass 2 by 4 and the projection bank the last beat
        // by 4, so the pipelined sample takes 8 cycles more than the register one.
        let sample = [VectorEvents(inputPerBeat: [2], maskedPerGroup: [1, 0, 0, 0]),
                      VectorEvents(inputPerBeat: [0], maskedPerGroup: [0, 0, 0, 0])]
        let qkcaReg = CycleModel(AcceleratorShape(mask: .channel, channels: 16, heads: 1, tokens: 2, timeSteps: 1, lanes: 4,
                                                  inputChunk: 16, weightWidth: 8, accumulatorWidth: 16, membraneWidth: 12,
                                                  storage: .registers))
        let qkcaPipe = CycleModel(Self.shape(.channel, C: 16, P: 4, N: 2, chunk: 16, storage: .pipelined))
        #expect(qkcaPipe.runCycles([sample]) == qkcaReg.runCycles([sample]) + 8)
        // `auto`: G >= 2 pipelines at T >= 2 (G = 3 and 2 too: their beats wait for their own
        // group's write-back, behind a drain that does not feel it); one group (L <= P) stays on
        // registers, and so does any bank at T = 1 (no membrane is read back).
        #expect(Self.shape(.token, C: 8, P: 2, N: 1, T: 2).lifExtraLatency == 4)
        #expect(Self.shape(.token, C: 8, P: 2, N: 1).lifExtraLatency == 0)
        #expect(Self.shape(.token, C: 6, P: 2, N: 2, T: 2).lifExtraLatency == 4)
        #expect(Self.shape(.token, C: 4, P: 2, N: 2, T: 2).lifExtraLatency == 4)
        #expect(Self.shape(.token, C: 4, P: 4, N: 2, T: 2).lifExtraLatency == 0)
        #expect(Self.shape(.token, C: 4, P: 2, N: 2).lifExtraLatency == 0)
    }

    @Test func qkcaTwoPassPipelineByHand() {
        // C = 8, P = 4 (G = 2: the accumulators' drain waits a cycle for the weight register's
        // last write, so o = 2 after a vector with events, 1 after an empty one), N = 2, T = 1,
        // one 8-channel input beat; OR-form mask (1 cycle).
        let m = CycleModel(Self.shape(.channel, C: 8, P: 4, N: 2, chunk: 8))
        let sample = [VectorEvents(inputPerBeat: [2], maskedPerGroup: [1, 0]),
                      VectorEvents(inputPerBeat: [0], maskedPerGroup: [0, 0])]
        // Pass 1: max(A, G) = max(max(2, 2*2+2), 2) + max(max(1, 1*2+1), 2) = 6 + 3 = 9.
        // Pass 2: max(max(1+1, 1*2+2), 2) + max(max(2, 1*2+1), 2) = 4 + 3 = 7.
        // One sample: pass 1 ends at 9, pass 2 starts at 9 + 1 + 8 = 18, ends at 25; last beat
        // 25 + 8 + 1 = 34 (the K word's second read register).
        #expect(m.runCycles([sample]) == 34)
        // Two samples: pass 1 of the second ends at max(9 + 9, 25) = 25 (it may not overtake pass 2),
        // its pass 2 starts at max(25 + 1 + 8, 25) = 34, ends at 41; last beat 41 + 8 + 1 = 50.
        #expect(m.runCycles([sample, sample]) == 50)
        // Steady state: max(pass 1, pass 2 + mask + hand-over) = max(9, 7 + 1 + 8) = 16.
        #expect(m.cyclesPerSample(sample) == 16)
    }

    @Test func silentInputGivesTheMarkerCosts() {
        // Rates of 0: every vector is one marker on each side. QKCA C = 8, P = 4, N = 2:
        // pass 1 = pass 2 = 2 * 3 = 6; steady state max(6, 6 + 1 + 8) = 15 cycles per sample;
        // latency 6 + 1 + 8 + 6 + 8 + 1 = 30 cycles (the last 1: the K word's second read register).
        let s = Self.shape(.channel, C: 8, P: 4, N: 2, chunk: 8)
        let rates = FiringRates(input: 0, q: 0, k: 0, attention: 0, xPrime: 0, out: 0, source: "test")
        let e = PerformanceEstimate(shape: s, rates: rates, clockMHz: 200, energy: EnergyParameters())
        #expect(e.cyclesPerSample == 15)
        #expect(e.latencyCycles == 30)
        #expect(abs(e.samplesPerSecond - 200e6 / 15) < 1e-6)
        #expect(abs(e.latencyMicroseconds - 30.0 / 200) < 1e-12)
    }

    @Test func operationCountsAndEnergyByHand() {
        // QKTA C = 8, P = 2 (G = 4), N = 2, T = 1 (2 vectors); widths 8 / 16 / 12.
        let s = Self.shape(.token, C: 8, P: 2, N: 2)
        let ops = OperationCounts(shape: s, inputEvents: 3, maskedEvents: 2)
        #expect(ops.accumulates == 2 * 8 * 3 + 8 * 2)           // 64
        #expect(ops.multiplyAccumulates == 0)
        #expect(ops.neuronUpdates == 3 * 8 * 2)                 // 48
        #expect(ops.weightBitsRead == (6 + 2) * 4 * 2 * 8)      // 512
        // Issued groups (6 + 2) * 4 = 32, drains 3 * 2 * 4 = 24; membranes 3 * 2 * 8 * 12 = 576.
        #expect(ops.stateBitsRead == (32 + 24) * 2 * 16 + 576)  // 2368
        #expect(ops.stateBitsWritten == 32 * 2 * 16 + 576)      // 1600
        #expect(ops.bufferBitsRead == 0)
        let p = EnergyParameters(accumulate: 0.9, multiplyAccumulate: 4.6, memoryBit: 0.5)
        let b = EnergyBreakdown(ops, p)
        #expect(abs(b.synapticAccumulate - 57.6) < 1e-9)
        #expect(abs(b.neuronUpdates - 43.2) < 1e-9)
        #expect(abs(b.weightMemory - 256) < 1e-9)
        #expect(abs(b.stateMemory - 1984) < 1e-9)
        #expect(abs(b.total - 2340.8) < 1e-9)
        // Counts above 1 are multiplies: half the input events -> 24 MACs, 24 + 16 = 40 ACs.
        let multi = OperationCounts(shape: s, inputEvents: 3, maskedEvents: 2, multiCountFraction: 0.5)
        #expect(multi.accumulates == 40)
        #expect(multi.multiplyAccumulates == 24)
        #expect(abs(EnergyBreakdown(multi, p).synapticMultiply - 24 * 4.6) < 1e-9)
        // QKCA also writes and reads its K buffer: 2 vectors x 4 groups x min(2, 8) bits each way.
        let q = OperationCounts(shape: Self.shape(.channel, C: 8, P: 2, N: 2), inputEvents: 3, maskedEvents: 2)
        #expect(q.bufferBitsRead == 16 && q.bufferBitsWritten == 16)
        // Horowitz's numbers are the defaults.
        let d = EnergyParameters()
        #expect(d.accumulate == 0.9 && d.multiplyAccumulate == 4.6 && d.memoryBit == 0.15625)
    }

    @Test func ratesDefaultToTable7AndDeriveTheMask() {
        let qkta = Self.shape(.token, C: 96, P: 12, N: 1024, T: 4, heads: 8)
        let r = FiringRates.resolve(shape: qkta, stage: 1)
        #expect(r.input == 0.2 && r.q == 0.0432 && r.k == 0.1784 && r.attention == 0.3477 && r.xPrime == 0.0832 && r.out == 0.1478)
        let s2 = FiringRates.resolve(shape: qkta, stage: 2)
        #expect(s2.q == 0.0231 && s2.k == 0.0847 && s2.xPrime == 0.0350 && s2.out == 0.0577)
        // Given Q: A_t = 1 - 0.9^12 = 0.7175704635190... (d = 96 / 8 = 12), X' = 0.1784 * A_t.
        let g = FiringRates.resolve(shape: qkta, stage: 1, q: 0.1)
        #expect(abs(g.attention - 0.717570463519) < 1e-9)
        #expect(abs(g.xPrime - 0.1784 * 0.717570463519) < 1e-9)
        // QKCA: A_c = 1 - (1 - 0.0432)^4 over N = 4 tokens = 0.16201... ; X' = 0.1784 * A_c.
        let qkca = Self.shape(.channel, C: 96, P: 12, N: 4, T: 4, heads: 8)
        let c = FiringRates.resolve(shape: qkca, stage: 1)
        let a = 1 - 0.9568 * 0.9568 * 0.9568 * 0.9568
        #expect(abs(c.attention - a) < 1e-12)
        #expect(abs(c.xPrime - 0.1784 * a) < 1e-12)
    }

    @Test func syntheticSamplesHitTheirRates() {
        // 4096 vectors x 96 channels: the drawn rates lie within 2% (relative) of the asked ones.
        let s = Self.shape(.token, C: 96, P: 12, N: 1024, T: 4, heads: 8)
        let rates = FiringRates(input: 0.2, q: 0, k: 0, attention: 0.35, xPrime: 0.08, out: 0, source: "test")
        let v = RateCycleModel(s).syntheticSample(rates)
        #expect(v.count == 4096)
        let cells = Double(4096 * 96)
        let inRate = Double(v.reduce(0) { $0 + $1.inputEvents }) / cells
        let xRate = Double(v.reduce(0) { $0 + $1.maskedEvents }) / cells
        print("synthetic rates: input \(inRate), X' \(xRate)")
        #expect(abs(inRate - 0.2) < 0.004)
        #expect(abs(xRate - 0.08) < 0.0016)
        // X' comes in whole heads: a head's 12 channels are all silent when its mask bit is 0.
        let silentHeads = v.reduce(0) { $0 + $1.maskedPerGroup.filter { $0 == 0 }.count }
        // With P = 12 = d, group h is head h: P(silent) = 0.65 + 0.35 * (1 - 0.08/0.35)^12 = 0.6637...
        let frac = Double(silentHeads) / Double(4096 * 8)
        #expect(abs(frac - (0.65 + 0.35 * pow(1 - 0.08 / 0.35, 12))) < 0.01)
    }

    @Test func paretoFrontByHand() {
        let pts: [(area: Double, cycles: Double)] = [(10, 100), (20, 50), (15, 120), (30, 50), (40, 10)]
        // (15, 120) loses to (10, 100); (30, 50) loses to (20, 50).
        #expect(Pareto.front(pts) == [0, 1, 4])
        #expect(Pareto.front([(5, 5), (5, 5)]) == [0])
    }

    @Test func shapeFromTheGeneratorConfig() throws {
        // Widths come from the generator's own sizing: 8-bit weights in [-128, 127], bias 0.
        let C = 16
        let w = (0..<C).map { o in (0..<C).map { i in (o * 7 + i * 3) % 256 - 128 } }
        let layer = SpikingLayerWeights(weights: w, bias: [Int](repeating: 0, count: C), neuron: .qkformer(weightFractionBits: 7, extraFractionBits: 2))
        let cfg = QKTAConfig(channels: C, heads: 2, timeSteps: 2, lanes: 4, q: layer, k: layer, proj: layer)
        let s = try AcceleratorShape(qkta: cfg, tokens: 10)
        #expect(s.groups == 4 && s.inputBeats == 1 && s.vectorsPerSample == 20 && s.headDim == 8)
        #expect(s.weightWidth == 8)
        let acc = try SpikeAccumulatorConfig(weights: w, bias: [Int](repeating: 0, count: C), lanes: 4).widths()
        #expect(s.accumulatorWidth == acc.accumulator)
    }
}
