import Foundation

/// `report.html` of a network estimate: one self-contained page (inline CSS and SVG, no script,
/// no font or any other request) with the layer pipeline as a diagram and the per-layer table.
///
/// The diagram draws one box per pipeline layer in stream order (patch-embedding shortcuts
/// below their main chain): the box's filled height is the layer's utilisation at the
/// pipeline's rate (its cycles per image over the slowest layer's), its colour runs from blue
/// (idle) to red (the slowest). Hooks for tests and tools: `svg#pipeline`, one
/// `rect.layer[data-layer]` per layer; `table#layers`, one `tr.layer-row` per layer.
public enum NetworkReportHTML {
    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Blue (0) to red (1).
    static func colour(_ u: Double) -> String {
        let t = max(0, min(1, u))
        let r = Int(40 + 200 * t), g = Int(90 + 60 * (1 - abs(2 * t - 1))), b = Int(220 - 190 * t)
        return String(format: "#%02x%02x%02x", r, g, b)
    }

    public static func render(_ est: NetworkEstimate) -> String {
        let layers = est.layers, t = est.timing, net = est.model.network, c = net.config
        let name = esc(c.model ?? "custom")
        // Diagram geometry: main-line layers in one row, shortcuts in a second row under their section.
        let boxW = 92, boxH = 70, gap = 14, top = 30
        var x = 10
        var svg = ""
        var mainX: [String: Int] = [:]
        var placed: [(Int, Int, Int)] = []  // (layer, x, row)
        for (i, l) in layers.enumerated() where !l.shortcut {
            placed.append((i, x, 0))
            if mainX[l.section] == nil { mainX[l.section] = x }
            x += boxW + gap
        }
        var shortcutX: [String: Int] = [:]
        for (i, l) in layers.enumerated() where l.shortcut {
            let sx = shortcutX[l.section] ?? mainX[l.section] ?? 10
            placed.append((i, sx, 1))
            shortcutX[l.section] = sx + boxW + gap
        }
        let width = max(x, 200) + 10
        let height = top + 2 * (boxH + 40) + 20
        // Arrows along the main line.
        let mains = placed.filter { $0.2 == 0 }.sorted { $0.1 < $1.1 }
        for (a, b) in zip(mains, mains.dropFirst()) {
            let y = top + boxH / 2
            svg += "<line x1=\"\(a.1 + boxW)\" y1=\"\(y)\" x2=\"\(b.1)\" y2=\"\(y)\" stroke=\"#555\" stroke-width=\"2\" marker-end=\"url(#arrow)\"/>\n"
        }
        for (i, px, row) in placed {
            let l = layers[i], u = t.utilisation[i]
            let y = top + row * (boxH + 40)
            let fillH = max(2, Int(Double(boxH) * u))
            let tip = "\(l.name): \(est.folding.lanes[i]) lanes, \(fmt(t.cycles[i])) cycles/image, utilisation \(String(format: "%.2f", u)), \(est.resources[i].luts) LUT (model)"
            svg += "<g><title>\(esc(tip))</title>"
            svg += "<rect x=\"\(px)\" y=\"\(y)\" width=\"\(boxW)\" height=\"\(boxH)\" fill=\"#f4f4f4\" stroke=\"#333\"/>"
            svg += "<rect class=\"layer\" data-layer=\"\(esc(l.name))\" data-utilisation=\"\(String(format: "%.4f", u))\" x=\"\(px)\" y=\"\(y + boxH - fillH)\" width=\"\(boxW)\" height=\"\(fillH)\" fill=\"\(colour(u))\" opacity=\"0.85\"/>"
            let label = l.name.split(separator: ".").last.map(String.init) ?? l.name
            svg += "<text x=\"\(px + 4)\" y=\"\(y + 14)\" font-size=\"11\">\(esc(label))</text>"
            svg += "<text x=\"\(px + 4)\" y=\"\(y + 28)\" font-size=\"10\">P=\(est.folding.lanes[i])</text>"
            svg += "<text x=\"\(px + 4)\" y=\"\(y + 42)\" font-size=\"10\">\(String(format: "%.0f%%", 100 * u))</text>"
            if row == 0 && (i == 0 || layers[i - 1].section != l.section) {
                svg += "<text x=\"\(px)\" y=\"\(y - 8)\" font-size=\"10\" fill=\"#666\">\(esc(l.section))</text>"
            }
            svg += "</g>\n"
        }
        var rows = ""
        for (i, l) in layers.enumerated() {
            let r = est.resources[i], e = est.energy.byLayer(l.name)
            rows += "<tr class=\"layer-row\"\(i == t.slowest ? " id=\"slowest\"" : "")><td>\(esc(l.name))</td><td>\(l.kind.rawValue)</td><td>\(est.folding.lanes[i])</td>"
            rows += "<td>\(fmt(t.cycles[i]))</td><td>\(String(format: "%.2f", t.utilisation[i]))</td><td>\(r.luts)</td><td>\(r.flipFlops)</td><td>\(r.dsps)</td>"
            rows += "<td>\(r.memoryBits)</td><td>\(r.bram36)</td><td>\(String(format: "%.3f", est.rates[i].input))</td>"
            rows += "<td>\(String(format: "%.1f", e.paper * 1e3))</td><td>\(String(format: "%.1f", e.hardware * 1e3))</td></tr>\n"
        }
        let tot = est.total
        let problems = est.deviceProblems
        let paper = est.paperComparison.map { "<p>" + $0.map(esc).joined(separator: "<br>") + "</p>" } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>QKForge estimate: \(name)</title>
            <style>
            body { font-family: sans-serif; margin: 1.5em; color: #222; }
            table { border-collapse: collapse; font-size: 13px; }
            th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: right; }
            td:first-child, th:first-child, td:nth-child(2) { text-align: left; }
            tr#slowest { background: #fde2e2; }
            .note { color: #555; font-size: 12px; }
            </style></head><body>
            <h1>Network estimate: \(name)</h1>
            <p>\(esc(c.embedding.rawValue)) embedding, dims \(c.dims), depths \(c.depths), T = \(c.timeSteps), \(net.image.height)x\(net.image.width) input; \(layers.count) pipeline layers; folding: \(esc(est.folding.note))\(est.folding.feasible ? "" : " (NOT MET)").</p>
            <ul>
            <li>throughput: <b>\(fmt(est.imagesPerSecond)) images/s</b> at \(fmt(est.clockMHz)) MHz (\(esc(est.clockSource))); slowest layer <b>\(esc(layers[t.slowest].name))</b>, \(fmt(t.cyclesPerImage)) cycles per image (model)</li>
            <li>latency: \(fmt(t.latencyCycles)) cycles = \(fmt(est.latencyMicroseconds)) us per image (model)</li>
            <li>resources: \(tot.luts) LUT, \(tot.flipFlops) FF (model), \(tot.dsps) DSP, \(String(format: "%.2f", Double(tot.memoryBits) / 1e6)) Mbit on-chip memory (weights \(String(format: "%.2f", Double(tot.weightBits) / 1e6)) Mbit; counted)</li>
            <li>energy per image: \(String(format: "%.3f", est.energy.paperMillijoules)) mJ (QKFormer's method), \(String(format: "%.3f", est.energy.hardwareMillijoules)) mJ (operations, LIF updates and on-chip memory traffic)</li>
            <li>device \(esc(est.device.name)): \(problems.isEmpty ? "fits" : "does NOT fit: " + problems.map(esc).joined(separator: "; "))</li>
            </ul>
            \(paper)
            <h2>Pipeline</h2>
            <p class="note">One box per layer in stream order (patch-embedding shortcuts below their section); the filled height and the colour are the layer's utilisation at the pipeline's rate (blue idle, red the slowest).</p>
            <svg id="pipeline" xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)">
            <defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>
            \(svg)</svg>
            <h2>Layers</h2>
            <table id="layers">
            <thead><tr><th>layer</th><th>kind</th><th>lanes</th><th>cycles/image</th><th>utilisation</th><th>LUT (model)</th><th>FF (model)</th><th>DSP</th><th>memory bits</th><th>BRAM36</th><th>input rate</th><th>energy paper (uJ)</th><th>energy hw+mem (uJ)</th></tr></thead>
            <tbody>
            \(rows)</tbody>
            <tfoot><tr><td>total</td><td></td><td></td><td>\(fmt(t.cyclesPerImage)) (max)</td><td></td><td>\(tot.luts)</td><td>\(tot.flipFlops)</td><td>\(tot.dsps)</td><td>\(tot.memoryBits)</td><td>\(tot.bram36)</td><td></td><td>\(String(format: "%.1f", est.energy.paperMillijoules * 1e3))</td><td>\(String(format: "%.1f", est.energy.hardwareMillijoules * 1e3))</td></tr></tfoot>
            </table>
            <h2>Assumptions</h2>
            <ul>
            \(est.assumptions.map { "<li>\(esc($0))</li>" }.joined(separator: "\n"))
            </ul>
            </body></html>

            """
    }
}
