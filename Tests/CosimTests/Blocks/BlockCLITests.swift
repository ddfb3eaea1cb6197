import Description
import Foundation
import HDL
import Testing
import Cosim

/// `qkforge generate|cosim|golden|simulate --block mlp|qkformer-block` on a small custom config.
@Suite struct BlockCLITests {
    func run(_ args: [String], in dir: URL) throws -> Command.Result {
        try Command.run(CLITests.binary.path, args, in: dir)
    }

    static func workDir(_ tag: String, config: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-blockcli-\(getpid())-\(tag)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: dir.appendingPathComponent("c.json"))
        return dir
    }

    static let config = #"{"dim": 10, "heads": 2, "tokens": 3, "timeSteps": 2, "mlpRatio": 2, "attention": "channel"}"#

    /// Two runs with the same arguments write the same files, byte for byte (`--portable`: no
    /// absolute path of the folder inside).
    @Test func generateIsDeterministic() throws {
        let dir = try Self.workDir("gen", config: Self.config)
        defer { try? FileManager.default.removeItem(at: dir) }
        for out in ["a", "b"] {
            // --portable: by default a folder names its own absolute path (files.f, QKFORGE_MEM_DIR), so a/ and b/ differ there by design.
            let r = try run(["generate", "--model", "c.json", "--block", "qkformer-block", "--lanes", "4", "--portable", "--out", out], in: dir)
            #expect(r.status == 0, "\(r.output)")
        }
        let fm = FileManager.default
        let a = try fm.contentsOfDirectory(atPath: dir.appendingPathComponent("a").path).sorted()
        let b = try fm.contentsOfDirectory(atPath: dir.appendingPathComponent("b").path).sorted()
        #expect(a == b)
        #expect(a.contains("report.json") && a.contains { $0.hasPrefix("qkformer_block_custom_s1_qkca") })
        // The marker records the command, whose --out differs.
        for f in a where f != ".qkforge-output" {
            #expect(fm.contents(atPath: dir.appendingPathComponent("a/\(f)").path) == fm.contents(atPath: dir.appendingPathComponent("b/\(f)").path), "\(f)")
        }
    }

    /// `estimate --block mlp|qkformer-block` gives resources and the composite-block cycle
    /// estimate; a rate flag, which its model does not take, is refused in one line.
    @Test func estimateCoversCompositeBlocks() throws {
        let dir = try Self.workDir("est", config: Self.config)
        defer { try? FileManager.default.removeItem(at: dir) }
        for kind in ["mlp", "qkformer-block"] {
            let r = try run(["estimate", "--model", "c.json", "--block", kind, "--lanes", "4", "--clock-mhz", "100", "--json"], in: dir)
            #expect(r.status == 0, "\(r.output)")
            let j = try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]
            let perf = j?["performance"] as? [String: Any], res = (j?["resources"] as? [String: Any])?["total"] as? [String: Any]
            let cycles = perf?["cyclesPerSample"] as? Double ?? 0
            #expect(cycles > 0 && (res?["flipFlops"] as? Int ?? 0) > 0, "\(r.output)")
            // samples/s = clock / cycles per sample, at the given clock.
            #expect(abs((perf?["samplesPerSecond"] as? Double ?? 0) - 100e6 / cycles) <= 1e-3 * 100e6 / cycles, "\(r.output)")
            #expect(perf?["clockMHz"] as? Double == 100)
            #expect(perf?["clockIsAssumed"] as? Bool == true)
            // Without --clock-mhz the times are at the block's Fmax estimate, said so.
            let e = try run(["estimate", "--model", "c.json", "--block", kind, "--lanes", "4", "--json"], in: dir)
            let ep = (try JSONSerialization.jsonObject(with: Data(e.output.utf8)) as? [String: Any])?["performance"] as? [String: Any]
            let mhz = ep?["clockMHz"] as? Double ?? 0
            #expect(ep?["clockIsAssumed"] as? Bool == false && mhz > 20 && mhz < 500, "\(e.output)")
            #expect((ep?["clockSource"] as? String ?? "").contains("ESTIMATED Fmax"), "\(e.output)")
        }
        // QKTA's full estimate (docs/estimate-json.md): the clock is the Fmax estimate unless given.
        for clock in [nil, "100"] {
            let r = try run(["estimate", "--model", "c.json", "--block", "qkta", "--lanes", "4", "--json"] + (clock.map { ["--clock-mhz", $0] } ?? []), in: dir)
            #expect(r.status == 0, "\(r.output)")
            let j = try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]
            #expect(j?["schemaVersion"] as? Int == 1)
            let fmax = (j?["fmaxEstimate"] as? [String: Any])?["ecp5MHz"] as? Double ?? 0
            let mhz = j?["clockMHz"] as? Double ?? 0, perSample = (j?["cycles"] as? [String: Any])?["perSample"] as? Double ?? 0
            #expect(j?["clockSource"] as? String == (clock == nil ? "estimated" : "assumed"))
            #expect(clock == nil ? abs(mhz - fmax) < 1e-6 : mhz == 100, "clock \(mhz), Fmax estimate \(fmax)")
            #expect(perSample > 0 && abs((j?["samplesPerSecond"] as? Double ?? 0) - mhz * 1e6 / perSample) <= 1e-6 * mhz * 1e6 / perSample)
            #expect((j?["design"] as? [String: Any])?["block"] as? String == "qkta")
        }
        let bad = try run(["estimate", "--model", "c.json", "--block", "mlp", "--x-rate", "0.1"], in: dir)
        #expect(bad.status == 2 && bad.output.contains("--x-rate does not apply to --block mlp"), "\(bad.output)")
    }

    /// A composite folder has a README naming its top module and the cosim flags that rebuild it,
    /// and a report.json with the resource estimate and the cycle estimate at assumed rates and the Fmax estimate.
    @Test(arguments: ["qkformer-block", "mlp"])
    func generateWritesReadmeAndResourceEstimate(block: String) throws {
        let dir = try Self.workDir("readme-\(block)", config: Self.config)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run(["generate", "--model", "c.json", "--block", block, "--lanes", "4", "--portable", "--out", "o"], in: dir)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("estimate (no synthesis): ") && r.output.contains("(xc7)"), "\(r.output)")
        #expect(r.output.contains("cycles per sample: ") && r.output.contains("the ESTIMATED Fmax (ECP5 speed 8"), "\(r.output)")
        let json = try #require(FileManager.default.contents(atPath: dir.appendingPathComponent("o/report.json").path))
        let report = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let top = try #require(report["top"] as? String)
        let resources = try #require(report["resources"] as? [String: Any])
        let luts = try #require(resources["luts"] as? Int)
        let ffs = try #require(resources["flipFlops"] as? Int)
        let counted = try #require(report["flipFlops"] as? Int)
        #expect(luts > 0)
        // The estimate maps every counted register bit to a flip-flop and adds the ones the xc7
        // mapping brings (memory and DSP registers), so it never falls below the design's count;
        // its memory bits are the design's exactly.
        #expect(counted > 0 && ffs >= counted, "estimate \(ffs) FFs, counted \(counted)")
        #expect(resources["memoryBits"] as? Int == report["memoryBits"] as? Int)
        let performance = try #require(report["performance"] as? [String: Any])
        #expect((performance["cyclesPerSample"] as? Double ?? 0) > 0 && performance["clockIsAssumed"] as? Bool == false)
        let readme = try String(contentsOf: dir.appendingPathComponent("o/README.md"), encoding: .utf8)
        #expect(readme.hasPrefix("# \(top)\n"))
        #expect(readme.contains("Top module: `\(top)` in `\(top).v`"))
        #expect(readme.contains("`qkforge cosim --model c.json --block \(block) --lanes 4 --seed 1`"))
        #expect(readme.contains("| \(luts) | \(ffs) |"))
        #expect(readme.contains("**assumed** firing rates") && readme.contains("MHz, the **estimated** Fmax"))
        #expect(!readme.contains(dir.path), "a --portable README names no path of this machine")
    }

    @Test(arguments: ["qkformer-block", "mlp"])
    func cosimPasses(block: String) throws {
        let dir = try Self.workDir("cosim-\(block)", config: Self.config)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run(["cosim", "--model", "c.json", "--block", block, "--lanes", "3", "--stall", "0.3", "--seed", "5"], in: dir)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("\n2 passed, 0 failed\n"), "\(r.output)")
    }

    /// `golden` (the golden model) and `simulate` (the RTL in Verilator) read the same `.npy` of
    /// counts up to the block's largest input count and write the same counts; the output holds
    /// counts above 1 (the residual adds), so neither is trivially a spike copy.
    @Test(arguments: ["qkformer-block", "mlp"])
    func goldenAndSimulateAgree(block: String) throws {
        let dir = try Self.workDir("gs-\(block)", config: Self.config)
        defer { try? FileManager.default.removeItem(at: dir) }
        // [B, T, N, C] = [2, 2, 3, 10], counts 0...2 (block 0 of a stage reads up to 2 + 2*0).
        var rng = SplitMix64(seed: TestSeed.value(default: 77))
        let x = (0..<(2 * 2 * 3 * 10)).map { _ in UInt8(rng.next() % 3) }
        try NPYArray(shape: [2, 2, 3, 10], scalars: x).write(to: dir.appendingPathComponent("x.npy"))
        for cmd in ["golden", "simulate"] {
            let lanes = cmd == "simulate" ? ["--lanes", "3"] : []   // golden does not fold
            let r = try run([cmd, "--model", "c.json", "--block", block, "--input", "x.npy", "--output", "\(cmd).npy"] + lanes, in: dir)
            #expect(r.status == 0, "\(r.output)")
        }
        let g = try NPYArray(contentsOfFile: dir.appendingPathComponent("golden.npy").path)
        let s = try NPYArray(contentsOfFile: dir.appendingPathComponent("simulate.npy").path)
        #expect(g.shape == [2, 2, 3, 10] && s.shape == g.shape)
        let gv = try g.asUInt8(), sv = try s.asUInt8()
        #expect(gv == sv)
        if block == "qkformer-block" { #expect(gv.contains { $0 > 1 }, "x2 = x1 + MLP(x1) holds counts above 1") }
    }

    @Test(arguments: [
        (["cosim", "--model", "c.json", "--block", "mlp", "--bundle", "bundle"], "a bundle of --block mlp cannot be read yet"),
        (["cosim", "--model", "bad.json", "--block", "qkformer-block"], "attention: must be \"token\" (QKTA), \"channel\" (QKCA) or \"ssa\" (SSA)"),
    ])
    func badInputGetsOneLineAndExitCode2(args: [String], message: String) throws {
        let dir = try Self.workDir("bad-\(abs(args.joined().hashValue))", config: Self.config)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"dim": 8, "heads": 2, "tokens": 2, "timeSteps": 2, "attention": "sideways"}"#.utf8)
            .write(to: dir.appendingPathComponent("bad.json"))
        // A folder that exists: the refusal must name the block, not the missing folder.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("bundle"), withIntermediateDirectories: true)
        let r = try run(args, in: dir)
        #expect(r.status == 2)
        #expect(r.output.split(separator: "\n").count == 1, "\(r.output)")
        #expect(r.output.hasPrefix("qkforge: ") && r.output.contains(message), "\(r.output)")
    }
}
