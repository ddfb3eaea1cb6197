import Foundation

/// A small hand-written SVG line and scatter plot: axes with ticks, labels, an optional
/// logarithmic axis, one colour per series, and a legend. No dependencies.
public struct SVGPlot {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String
        /// Draw a polyline through the points (in the order given).
        public var line: Bool
        /// Draw a marker at every point.
        public var markers: Bool
        public var dashed: Bool
        public init(name: String, points: [(x: Double, y: Double)], color: String, line: Bool = true, markers: Bool = true, dashed: Bool = false) {
            (self.name, self.points, self.color, self.line, self.markers, self.dashed) = (name, points, color, line, markers, dashed)
        }
    }

    public var title: String
    /// A smaller second title line (what was swept: the model, its size, the weights).
    public var subtitle = ""
    public var xLabel: String
    public var yLabel: String
    public var logX = false
    public var logY = false
    public var series: [Series] = []
    /// Optional text next to individual points: (x, y, text).
    public var annotations: [(x: Double, y: Double, text: String)] = []
    public var width = 720.0, height = 460.0
    /// Put the legend in the top right corner of the plot instead of the top left.
    public var legendRight = false

    public init(title: String, xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false) {
        (self.title, self.xLabel, self.yLabel, self.logX, self.logY) = (title, xLabel, yLabel, logX, logY)
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Tick values for a range: powers of ten on a log axis, 1-2-5 steps otherwise.
    static func ticks(_ lo: Double, _ hi: Double, log: Bool) -> [Double] {
        if log {
            // Powers of ten; with two decades or fewer also 2x and 5x.
            let steps: [Double] = log10(hi / lo) <= 2.01 ? [1, 2, 5] : [1]
            var out: [Double] = []
            var p = pow(10, floor(log10(lo)))
            while p <= hi * 1.0001 {
                for m in steps where p * m >= lo * 0.9999 && p * m <= hi * 1.0001 { out.append(p * m) }
                p *= 10
            }
            // A range narrower than the 1-2-5 steps: linear ticks inside it.
            return out.count >= 2 ? out : ticks(lo, hi, log: false)
        }
        let span = max(hi - lo, 1e-12)
        let raw = span / 6
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? mag * 10
        var out: [Double] = []
        var v = ceil(lo / step) * step
        while v <= hi + step * 1e-9 { out.append(v); v += step }
        return out
    }

    static func label(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e9 { return String(format: "%gG", v / 1e9) }
        if a >= 1e6 { return String(format: "%gM", v / 1e6) }
        if a >= 1e4 { return String(format: "%gk", v / 1e3) }
        return String(format: "%g", v)
    }

    public func render() -> String {
        let left = 90.0, right = 20.0, top = subtitle.isEmpty ? 40.0 : 54.0, bottom = 60.0
        let pw = width - left - right, ph = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1), (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        // Log axes fit the data with a margin of 8% of its span (at least a factor 1.1 each
        // side), not whole decades, which could leave the points in a corner of the plot.
        func fitLog(_ lo: Double, _ hi: Double) -> (Double, Double) {
            let a = log10(max(lo, 1e-12)), b = log10(max(hi, 1e-12))
            let pad = max((b - a) * 0.08, log10(1.1))
            return (pow(10, a - pad), pow(10, b + pad))
        }
        if logY { (y0, y1) = fitLog(y0, y1) } else { y0 = min(0, y0); y1 = y1 * 1.05 }
        if logX { (x0, x1) = fitLog(x0, x1) } else if x0 == x1 { x1 = x0 + 1 }
        if y0 == y1 { y1 = y0 + 1 }
        func fx(_ x: Double) -> Double {
            let t = logX ? (log10(x) - log10(x0)) / (log10(x1) - log10(x0)) : (x - x0) / (x1 - x0)
            return left + t * pw
        }
        func fy(_ y: Double) -> Double {
            let t = logY ? (log10(max(y, 1e-12)) - log10(y0)) / (log10(y1) - log10(y0)) : (y - y0) / (y1 - y0)
            return top + ph - t * ph
        }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(width / 2))" y="22" text-anchor="middle" font-size="15">\(Self.esc(title))</text>

            """
        if !subtitle.isEmpty {
            s += "<text x=\"\(f(width / 2))\" y=\"40\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333\">\(Self.esc(subtitle))</text>\n"
        }
        for t in Self.ticks(x0, x1, log: logX) {
            s += "<line x1=\"\(f(fx(t)))\" y1=\"\(f(top))\" x2=\"\(f(fx(t)))\" y2=\"\(f(top + ph))\" stroke=\"#e4e4e4\"/>\n"
            s += "<text x=\"\(f(fx(t)))\" y=\"\(f(top + ph + 16))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        for t in Self.ticks(y0, y1, log: logY) {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(fy(t)))\" x2=\"\(f(left + pw))\" y2=\"\(f(fy(t)))\" stroke=\"#e4e4e4\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(fy(t) + 4))\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 18))\" text-anchor=\"middle\">\(Self.esc(xLabel))\(logX ? " (log scale)" : "")</text>\n"
        s += "<text transform=\"translate(20,\(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.esc(yLabel))\(logY ? " (log scale)" : "")</text>\n"
        for se in series {
            if se.line && se.points.count > 1 {
                let pts = se.points.map { "\(f(fx($0.x))),\(f(fy($0.y)))" }.joined(separator: " ")
                s += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(se.color)\" stroke-width=\"2\"\(se.dashed ? " stroke-dasharray=\"6,4\"" : "")/>\n"
            }
            if se.markers {
                for p in se.points { s += "<circle cx=\"\(f(fx(p.x)))\" cy=\"\(f(fy(p.y)))\" r=\"3.5\" fill=\"\(se.color)\"/>\n" }
            }
        }
        for a in annotations {
            s += "<text x=\"\(f(fx(a.x) + 6))\" y=\"\(f(fy(a.y) - 6))\" font-size=\"10\" fill=\"#333\">\(Self.esc(a.text))</text>\n"
        }
        // Legend, inside the plot at the top.
        let legendWidth = 48 + 7 * Double(series.map(\.name.count).max() ?? 0)
        let lx = legendRight ? left + pw - legendWidth : left + 12
        for (i, se) in series.enumerated() {
            let y = top + 16 + Double(i) * 18
            // The legend draws a series as the plot does: a line, a marker, or both.
            if se.line {
                s += "<line x1=\"\(f(lx))\" y1=\"\(f(y - 4))\" x2=\"\(f(lx + 24))\" y2=\"\(f(y - 4))\" stroke=\"\(se.color)\" stroke-width=\"2\"\(se.dashed ? " stroke-dasharray=\"6,4\"" : "")/>\n"
            }
            if se.markers {
                s += "<circle cx=\"\(f(lx + 12))\" cy=\"\(f(y - 4))\" r=\"3.5\" fill=\"\(se.color)\"/>\n"
            }
            s += "<text x=\"\(f(lx + 30))\" y=\"\(f(y))\">\(Self.esc(se.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}
