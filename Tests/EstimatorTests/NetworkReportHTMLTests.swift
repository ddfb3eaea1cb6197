import Foundation
import XCTest
import Description
@testable import Estimator

/// report.html rendered by headless Chromium (Debian's `chromium`, installed by scripts/setup.sh):
/// the DOM Chromium builds must hold the pipeline diagram and the table, one entry per layer.
final class NetworkReportHTMLTests: XCTestCase {
    static func chromium() -> String? {
        for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] where FileManager.default.isExecutableFile(atPath: p) { return p }
        return nil
    }

    func count(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

    func testChromiumRendersDiagramAndTable() throws {
        guard let browser = Self.chromium() else {
            throw XCTSkip("chromium is not installed (run scripts/setup.sh, which installs it); report.html was not rendered")
        }
        let n = try NetworkEstimateTests.tiny()
        let model = NetworkCycleModel(n, rates: n.layerRates())
        let est = try NetworkEstimate(model: model, folding: .uniform(4, model: model), clockMHz: 100, clockSource: "given")
        let html = NetworkReportHTML.render(est)
        XCTAssertFalse(html.contains("http://") && html.contains("<script"), "report.html must be self-contained")
        XCTAssertFalse(html.contains("<link"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-html-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("report.html")
        try Data(html.utf8).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir.path)/profile", "--dump-dom", file.absoluteString]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let dom = String(decoding: data, as: UTF8.self)
        let layers = n.pipelineLayers.count
        XCTAssertEqual(layers, 9)
        XCTAssertTrue(dom.contains("<svg id=\"pipeline\""), "no diagram in the rendered DOM")
        XCTAssertTrue(dom.contains("<table id=\"layers\""), "no table in the rendered DOM")
        XCTAssertEqual(count("class=\"layer\"", in: dom), layers)
        XCTAssertEqual(count("class=\"layer-row\"", in: dom), layers)
        for l in n.pipelineLayers { XCTAssertTrue(dom.contains("data-layer=\"\(l.name)\""), l.name) }
    }
}
