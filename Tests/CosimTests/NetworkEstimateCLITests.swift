import Foundation
import HDL
import Testing

/// `qkforge estimate --block network` on a small custom network: JSON and report.html agree
/// with the network's shape, bad flags exit 2 with one line.
@Suite struct NetworkEstimateCLITests {
    static let config = #"{"block": "network", "embedding": "cifar", "dims": [16, 32], "heads": [2, 2], "depths": [1, 1], "image": [8, 8], "classes": 10, "timeSteps": 2}"#

    static func workDir(_ tag: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-netcli-\(getpid())-\(tag)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: dir.appendingPathComponent("n.json"))
        return dir
    }

    @Test func jsonAndHTMLDescribeEveryLayer() throws {
        let dir = try Self.workDir("ok")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try Command.run(CLITests.binary.path, ["estimate", "--model", "n.json", "--block", "network", "--lanes", "4",
                                                       "--clock-mhz", "100", "--json", "--html", "r.html"], in: dir)
        #expect(r.status == 0, "\(r.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any])
        let layers = try #require(json["layers"] as? [[String: Any]])
        // stem, patch_embed1 (conv2, shortcut), block, patch_embed2 (conv1, conv2, shortcut), block, head.
        #expect(layers.count == 9)
        let lanes = layers.compactMap { $0["lanes"] as? Int }
        #expect(lanes.allSatisfy { $0 <= 4 })
        #expect(json["clockSource"] as? String == "given (--clock-mhz)")
        // Throughput from the slowest layer at 100 MHz.
        let cycles = layers.compactMap { $0["cyclesPerImage"] as? Double }
        let ips = try #require(json["imagesPerSecond"] as? Double)
        #expect(abs(ips - 100e6 / cycles.max()!) < 1e-6 * ips)
        let html = try String(contentsOf: dir.appendingPathComponent("r.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "class=\"layer-row\"").count - 1 == 9)
        #expect(html.components(separatedBy: "class=\"layer\"").count - 1 == 9)
        // A network config.json is the whole network without --block, as with generate.
        let plain = try Command.run(CLITests.binary.path, ["estimate", "--model", "n.json", "--lanes", "4", "--clock-mhz", "100", "--json"], in: dir)
        #expect(plain.status == 0, "\(plain.output)")
        let same = try #require(try JSONSerialization.jsonObject(with: Data(plain.output.utf8)) as? [String: Any])
        #expect((same["layers"] as? [[String: Any]])?.count == 9)
        #expect(same["imagesPerSecond"] as? Double == ips)
        // Without --clock-mhz the clock is the Fmax estimate of the slowest section's netlist.
        let est = try Command.run(CLITests.binary.path, ["estimate", "--model", "n.json", "--lanes", "4", "--json"], in: dir)
        #expect(est.status == 0, "\(est.output)")
        let e = try #require(try JSONSerialization.jsonObject(with: Data(est.output.utf8)) as? [String: Any])
        let source = e["clockSource"] as? String ?? "", clock = e["clockMHz"] as? Double ?? 0
        #expect(source.hasPrefix("estimated Fmax (ECP5 speed 8") && clock > 20 && clock < 400, "\(clock) MHz, \(source)")
        let slowest = ["stem", "patch_embed1", "stage1.block0", "patch_embed2", "stage2.block0", "head"].filter { source.contains("slowest \($0) ") }
        #expect(slowest.count == 1, "the clock names its slowest section: \(source)")
        #expect(abs((e["imagesPerSecond"] as? Double ?? 0) - clock * 1e6 / cycles.max()!) < 1e-6 * clock * 1e6 / cycles.max()!)
        // --target-fps folds at an assumed clock and says whether the estimated one meets it.
        let fps = try Command.run(CLITests.binary.path, ["estimate", "--model", "n.json", "--target-fps", "2000"], in: dir)
        #expect(fps.status == 0 && fps.output.contains("at an ASSUMED 200 MHz; at the estimated Fmax of") && fps.output.contains("NOT met"), "\(fps.output)")
    }

    /// `generate --budget` builds the folding `estimate --budget` prints: every conv and block at
    /// the estimator's lanes (and a budget between the narrowest and widest foldings is not uniform).
    @Test func generateBuildsTheEstimatedFolding() throws {
        let dir = try Self.workDir("fold")
        defer { try? FileManager.default.removeItem(at: dir) }
        let e = try Command.run(CLITests.binary.path, ["estimate", "--model", "n.json", "--block", "network", "--budget", "9000", "--json"], in: dir)
        #expect(e.status == 0, "\(e.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(e.output.utf8)) as? [String: Any])
        let layers = try #require(json["layers"] as? [[String: Any]])
        var estimated: [String: Int] = [:]
        for l in layers { estimated[l["name"] as! String] = l["lanes"] as? Int }
        // Each layer's share of the budget: its LUTs over 9000, together within the budget.
        for l in layers {
            let luts = try #require((l["resources"] as? [String: Any])?["luts"] as? Int)
            #expect(abs((l["lutShare"] as? Double ?? -1) - Double(luts) / 9000) < 1e-12, "\(l["name"] ?? "")")
        }
        #expect(layers.reduce(0.0) { $0 + ($1["lutShare"] as? Double ?? 2) } <= 1)
        let g = try Command.run(CLITests.binary.path, ["generate", "--model", "n.json", "--budget", "9000", "--out", "net"], in: dir)
        #expect(g.status == 0, "\(g.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("net/report.json"))) as? [String: Any])
        let sections = try #require(report["sections"] as? [[String: Any]])
        var built: [String: Int] = [:]
        for s in sections {
            let name = s["name"] as! String
            if name.hasPrefix("stage") || name == "stem" { built[name] = s["lanes"] as? Int }
            for (conv, p) in s["convLanes"] as! [String: Int] { built[conv] = p }
        }
        #expect(built.count == layers.count - 1, "every layer but the head: \(built.keys.sorted())")
        for (name, p) in built { #expect(estimated[name] == p, "\(name): built \(p) lanes, estimated \(estimated[name] ?? -1)") }
        #expect(Set(built.values).count > 1, "a non-uniform folding: \(built)")
        // Lane converters: the estimate counts one exactly where generate built one, of the same lanes.
        var sources: [String: String] = [:]
        for l in layers { sources[l["name"] as! String] = (l["resources"] as? [String: Any])?["source"] as? String }
        var converters = 0
        for s in sections where (s["name"] as! String).hasPrefix("stage") {
            let name = s["name"] as! String, source = try #require(sources[name], "\(name) has no estimate")
            if let c = s["converter"] as? [String: Int] {
                converters += 1
                #expect(source.contains("lane converter (\(c["from"]!) to \(c["to"]!) lanes)"), "\(name): built \(c), estimated \(source)")
            } else {
                #expect(!source.contains("lane converter"), "\(name): none built, estimated \(source)")
            }
        }
        #expect(converters > 0, "the folding puts a lane converter somewhere: \(sections.map { $0["converter"] ?? "-" })")
        // Without folding flags, estimate describes what generate builds by default.
        let e0 = try Command.run(CLITests.binary.path, ["estimate", "--model", "n.json", "--clock-mhz", "100", "--json"], in: dir)
        #expect(e0.status == 0, "\(e0.output)")
        let layers0 = try #require((try JSONSerialization.jsonObject(with: Data(e0.output.utf8)) as? [String: Any])?["layers"] as? [[String: Any]])
        var estimated0: [String: Int] = [:]
        for l in layers0 { estimated0[l["name"] as! String] = l["lanes"] as? Int }
        let g0 = try Command.run(CLITests.binary.path, ["generate", "--model", "n.json", "--out", "net0"], in: dir)
        #expect(g0.status == 0, "\(g0.output)")
        let report0 = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("net0/report.json"))) as? [String: Any])
        var built0: [String: Int] = [:]
        for s in try #require(report0["sections"] as? [[String: Any]]) {
            let name = s["name"] as! String
            if name.hasPrefix("stage") || name == "stem" { built0[name] = s["lanes"] as? Int }
            for (conv, p) in s["convLanes"] as! [String: Int] { built0[conv] = p }
        }
        #expect(built0.count == layers0.count - 1)
        for (name, p) in built0 { #expect(estimated0[name] == p, "default folding, \(name): built \(p) lanes, estimated \(estimated0[name] ?? -1)") }
        // A block takes --lanes; --budget is a network's.
        let bad = try Command.run(CLITests.binary.path, ["generate", "--model", "hst-4-384", "--stage", "1", "--budget", "9000", "--out", "blk"], in: dir)
        #expect(bad.status == 2 && bad.output.contains("--budget"), "\(bad.output)")
    }

    @Test func badFlagsExit2WithOneLine() throws {
        let dir = try Self.workDir("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (args, says) in [(["--budget", "x"], "--budget must be"), (["--lanes", "4", "--budget", "1000"], "two ways to fold"),
                             (["--rate", "0.2"], "does not apply to a whole network"), (["--html", "r.txt"], "must name an .html file"),
                             (["--target-fps", "0"], "--target-fps must be")] {
            let r = try Command.run(CLITests.binary.path, ["estimate", "--model", "n.json", "--block", "network"] + args, in: dir)
            #expect(r.status == 2, "\(args): \(r.output)")
            #expect(r.output.contains(says), "\(args): \(r.output)")
            #expect(r.output.split(separator: "\n").count == 1, "\(args): \(r.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r.txt").path))
        // A named model alone is the whole network: a block's flag says how to pick a block.
        for args in [["--sweep", "lanes=1,2"], ["--rate", "0.2"]] {
            let r = try Command.run(CLITests.binary.path, ["estimate", "--model", "hst-4-384"] + args, in: dir)
            #expect(r.status == 2 && r.output.contains("does not apply to a whole network") && r.output.contains("--stage S"), "\(args): \(r.output)")
            #expect(r.output.split(separator: "\n").count == 1, "\(args): \(r.output)")
        }
        let block = try Command.run(CLITests.binary.path, ["estimate", "--model", "hst-4-384", "--stage", "1", "--json"], in: dir)
        #expect(block.status == 0, "\(block.output)")
        let b = try #require(try JSONSerialization.jsonObject(with: Data(block.output.utf8)) as? [String: Any])
        #expect(b["layers"] == nil && b["design"] != nil, "--stage 1 is one block: \(b.keys.sorted())")
    }
}
