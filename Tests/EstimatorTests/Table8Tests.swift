import Description
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import HDL
import Blocks
import Cosim
@testable import Estimator

/// The hardware Table 8 on small generated designs: what grows with N and by how much.
@Suite struct Table8Tests {
    static func block(_ kind: BlockKind, tokens: Int) throws -> BlockConfig {
        try BlockConfig.parse(json: Data(#"{"block": "\#(kind.rawValue)", "dim": 16, "heads": 2, "tokens": \#(tokens), "timeSteps": 2}"#.utf8))
    }

    static func generated(_ kind: BlockKind, tokens: Int) throws -> ResourceCount {
        let b = try block(kind, tokens: tokens)
        let m = try BlockModel.random(b, lanes: 4, seed: 3)
        return ResourceModel.estimate(try Elaborate.run(try m.hardware.makeModule())).total
    }

    @Test func qkcaStorageGrowsByTheKBufferOnly() throws {
        // N = 4 -> 9 with C = 16, T = 2, P = 4: the K buffer gains 5 tokens x 2 steps x 4 words x 4 bits = 160 bits;
        // nothing else in the design holds per-token state.
        let a = try Self.generated(.qkca, tokens: 4), b = try Self.generated(.qkca, tokens: 9)
        print("QKCA N=4: \(a.memoryBits) memory bits, \(a.flipFlops) FFs; N=9: \(b.memoryBits), \(b.flipFlops)")
        #expect(b.memoryBits - a.memoryBits == 160)
        // Counters of the token index and the K buffer pointers widen by a bit or two; no per-token registers.
        #expect(abs(b.flipFlops - a.flipFlops) <= 8)
    }

    @Test func reportRendersEveryRowAndThreeLines() throws {
        let m = try BlockModel.random(try Self.block(.qkta, tokens: 1), lanes: 4, seed: 3)
        let qkta = ResourceModel.estimate(try Elaborate.run(try m.hardware.makeModule())).total
        var rows: [Table8Row] = []
        for r in [2, 3] {
            rows.append(Table8Row(sqrtN: r, qkta: qkta, qkca: try Self.generated(.qkca, tokens: r * r), ssa: try Self.generated(.ssa, tokens: r * r)))
        }
        // C = 16, h = 2 (d = 8), T = 2, P = 4 (G = 4 words of 4 bits), two S banks of T*C = 32 rows of d counters.
        // N = 4 -> 9: the Q buffer gains 5 tokens x 2 steps x 4 words x 4 bits = 160 bits; the counters widen from
        // ceil(log2 5) = 3 to ceil(log2 10) = 4 bits: 2 banks x 32 rows x 8 counters x 1 bit = 512 bits.
        #expect(rows[1].ssa.memoryBits - rows[0].ssa.memoryBits == 160 + 512)
        // Flip-flops: the 16 attention sums widen from ceil(log2 33) = 6 to ceil(log2 73) = 7 bits (+16); the attention
        // neurons' current and membrane by at most a bit each, held in the pipelined LIF bank's stages (G = 4 >= 3:
        // at most 3 x 16 = +48); token counters and Q buffer pointers by a few bits; nothing per token.
        #expect((16...80).contains(rows[1].ssa.flipFlops - rows[0].ssa.flipFlops), "\(rows[1].ssa.flipFlops - rows[0].ssa.flipFlops)")
        let report = Table8Report(channels: 16, heads: 2, timeSteps: 2, lanes: 4, seed: 3, rows: rows)
        let md = report.markdown(command: "qkforge estimate --table8 --out docs")
        #expect(md.contains("| 2 | 4 |") && md.contains("| 3 | 9 |"))
        let svg = report.svg()
        let doc = try XMLDocument(xmlString: svg)
        let lines = try doc.nodes(forXPath: "//*[local-name()='polyline']")
        #expect(lines.count == 3)
        for name in ["QKTA (generated)", "QKCA (generated)", "SSA (generated)", "sqrt(N)"] { #expect(svg.contains(name)) }
    }

    @Test func sweepReportMarksTheFront() throws {
        func point(_ p: Int, luts: Int, cycles: Double) -> SweepPoint {
            SweepPoint(lanes: p, groups: 8 / p, resources: ResourceCount(luts: luts, flipFlops: 10 * p), cyclesPerSample: cycles,
                       rates: FiringRates(input: 0.2, q: 0, k: 0, attention: 0, xPrime: 0.1, out: 0, source: "test"))
        }
        let pts = [point(1, luts: 120, cycles: 800), point(2, luts: 100, cycles: 400), point(4, luts: 200, cycles: 200)]
        let front = Pareto.front(pts.map { (Double($0.resources.luts), $0.cyclesPerSample) })
        #expect(front == [1, 2])     // P = 1 loses to P = 2 on both counts
        let r = SweepReport(title: "t", points: pts, front: front, areaIsLUTs: true, clockMHz: 100)
        let json = r.json(schemaVersion: 1)
        let flags = (json["points"] as? [[String: Any]])?.map { $0["pareto"] as? Bool }
        #expect(flags == [false, true, true])
        #expect(r.text().contains("Pareto front (LUTs vs cycles/sample): P=2, P=4"))
        _ = try XMLDocument(xmlString: r.svg())
    }
}
