import Foundation

/// One design point of a lanes sweep.
public struct SweepPoint: Sendable {
    public var lanes: Int
    public var groups: Int
    public var resources: ResourceCount
    public var cyclesPerSample: Double
    public var rates: FiringRates
    public init(lanes: Int, groups: Int, resources: ResourceCount, cyclesPerSample: Double, rates: FiringRates) {
        (self.lanes, self.groups, self.resources, self.cyclesPerSample, self.rates) = (lanes, groups, resources, cyclesPerSample, rates)
    }
}

/// A lanes sweep: every point, the area-versus-cycles Pareto front, as text, JSON, Markdown and SVG.
public struct SweepReport: Sendable {
    public var title: String
    public var points: [SweepPoint]
    /// Indices into `points`, ascending area.
    public var front: [Int]
    /// Area is LUTs (or flip-flops when the resource model gives no LUTs).
    public var areaIsLUTs: Bool
    public var clockMHz: Double

    public init(title: String, points: [SweepPoint], front: [Int], areaIsLUTs: Bool, clockMHz: Double) {
        (self.title, self.points, self.front, self.areaIsLUTs, self.clockMHz) = (title, points, front, areaIsLUTs, clockMHz)
    }

    var areaName: String { areaIsLUTs ? "LUTs" : "flip-flops" }
    func area(_ p: SweepPoint) -> Double { Double(areaIsLUTs ? p.resources.luts : p.resources.flipFlops) }

    func rows() -> [[String]] {
        points.enumerated().map { i, p in
            let r = p.resources
            return ["\(p.lanes)", "\(p.groups)", "\(r.luts)", "\(r.flipFlops)", "\(r.memoryBits)", "\(r.bram18)", "\(r.bram36)",
                    "\(r.dsps)", String(format: "%.0f", p.cyclesPerSample),
                    String(format: "%.1f", clockMHz * 1e6 / p.cyclesPerSample), front.contains(i) ? "yes" : ""]
        }
    }
    static let header = ["lanes P", "G", "LUTs", "FFs", "mem bits", "BRAM18", "BRAM36", "DSPs", "cycles/sample", "samples/s", "Pareto"]

    public func text() -> String {
        let rs = rows()
        let widths = Self.header.indices.map { i in max(Self.header[i].count, rs.map { $0[i].count }.max() ?? 0) }
        func line(_ c: [String]) -> String { "  " + c.enumerated().map { i, v in String(repeating: " ", count: widths[i] - v.count) + v }.joined(separator: "  ") + "\n" }
        var out = "sweep: \(title)\n"
        if let r = points.first?.rates { out += "rates: input \(r.input), X' \(String(format: "%.4g", r.xPrime)) (\(r.source)); throughput at \(clockMHz) MHz\n" }
        out += line(Self.header)
        for r in rs { out += line(r) }
        out += "Pareto front (\(areaName) vs cycles/sample): " + front.map { "P=\(points[$0].lanes)" }.joined(separator: ", ") + "\n"
        return out
    }

    public func markdown(command: String) -> String {
        var out = "# Lanes sweep: \(title)\n\nRegenerate with:\n\n```sh\nswift run -c release \(command)\n```\n\n"
        out += "(`bash scripts/estimate-docs.sh` regenerates the committed sweep of hst-4-384 stage 1 and Table 8.)\n\n"
        if let r = points.first?.rates {
            out += "Firing rates: input \(r.input), Q \(r.q), K \(r.k), A \(String(format: "%.4g", r.attention)), X' \(String(format: "%.4g", r.xPrime)) (\(r.source)). "
        }
        out += "Cycles per sample are the estimator's rate model (steady state, no stalls); resources are `ResourceModel` "
        out += "(Xilinx 7-series mapping; flip-flops and memory bits exact from the IR). Throughput at an assumed \(clockMHz) MHz.\n\n"
        out += "| " + Self.header.joined(separator: " | ") + " |\n|" + Self.header.map { _ in "---:" }.joined(separator: "|") + "|\n"
        for r in rows() { out += "| " + r.joined(separator: " | ") + " |\n" }
        out += "\nPareto front (\(areaName) against cycles per sample, both minimised): "
        out += front.map { "P = \(points[$0].lanes)" }.joined(separator: ", ") + ". Plot: the `.svg` beside this file.\n"
        return out
    }

    public func json(schemaVersion: Int) -> [String: Any] {
        [
            "schemaVersion": schemaVersion,
            "sweep": title,
            "clockMHz": clockMHz,
            "areaMetric": areaIsLUTs ? "luts" : "flipFlops",
            "points": points.enumerated().map { i, p in
                ["lanes": p.lanes, "groups": p.groups, "luts": p.resources.luts, "flipFlops": p.resources.flipFlops,
                 "memoryBits": p.resources.memoryBits, "bram18": p.resources.bram18, "bram36": p.resources.bram36,
                 "dsps": p.resources.dsps, "cyclesPerSample": p.cyclesPerSample, "pareto": front.contains(i)] as [String: Any]
            },
        ]
    }

    public func svg() -> String {
        var plot = SVGPlot(title: "Lanes sweep: \(areaName) vs cycles per sample", xLabel: areaName, yLabel: "cycles per sample",
                           logX: true, logY: true)
        plot.subtitle = title
        plot.series.append(.init(name: "design points (lanes P)", points: points.map { (area($0), $0.cyclesPerSample) },
                                 color: "#1f77b4", line: false))
        plot.series.append(.init(name: "Pareto front", points: front.map { (area(points[$0]), points[$0].cyclesPerSample) },
                                 color: "#d62728", line: true, markers: false))
        plot.legendRight = true
        plot.annotations = points.map { (area($0), $0.cyclesPerSample, "P=\($0.lanes)") }
        return plot.render()
    }
}
