import Description
import Foundation
import Testing

/// `qkforge golden` on a network bundle (docs/cli.md, docs/arithmetic.md §8), worked out by hand.
///
/// The network: cifar embedding, dims [2], no blocks, a 2x2 image, T = 1, two classes, the
/// authors' keys, BatchNorm the identity plus beta (gamma 1, mean 0, var 1, eps 0). One LIF step
/// from rest is `H = I / 2`, a spike iff `I >= 2`.
/// - stem `proj`: only image channel 0's centre tap, weight 1: `I = pixel`; channel 0 is
///   [[1, 0.25], [3, -1]], so `u` spikes only at (1, 0).
/// - `proj1` (3x3, 1 -> 2): channel 0 all taps 2 (each window covers the whole 2x2 image, so
///   `I = 2`: spikes everywhere); channel 1 weights 0, beta 2: spikes everywhere.
/// - `proj_res` (1x1, 1 -> 2): weights [1, -1], beta [1, 1]: channel 0 `I = 1 + u` spikes at
///   (1, 0) only; channel 1 `I = 1 - u` never.
/// - sum: channel 0 [1, 1, 2, 1], channel 1 [1, 1, 1, 1]: S = [5, 4], N*T = 4.
/// - head W = [[0.5, -0.25], [0, 1]], b = [0.25, -1]: logits 0.25 + 0.5*5/4 - 0.25*4/4 = 0.625 and
///   -1 + 4/4 = 0. Class 0 on the grid 2^-7 (0.5 needs it for 8 bits): W [64, -32], b 32,
///   z = 4*32 + 64*5 - 32*4 = 320; class 1 on 2^-6: W [0, 64], b -64, z = -256 + 256 = 0.
@Suite struct NetworkGoldenCLITests {
    static func bundle(in dir: URL) throws -> URL {
        let b = dir.appendingPathComponent("net")
        let t = b.appendingPathComponent("tensors")
        try FileManager.default.createDirectory(at: t, withIntermediateDirectories: true)
        try Data(#"{"block": "network", "embedding": "cifar", "dims": [2], "heads": [1], "depths": [0], "image": [2, 2], "classes": 2, "timeSteps": 1, "bnEps": 0}"#.utf8)
            .write(to: b.appendingPathComponent("config.json"))
        func put(_ key: String, _ shape: [Int], _ v: [Float]) throws {
            try NPYArray(shape: shape, scalars: v).write(to: t.appendingPathComponent(key + ".npy"))
        }
        func bn(_ stem: String, _ beta: [Float]) throws {
            try put(stem + ".weight", [beta.count], Array(repeating: 1, count: beta.count))
            try put(stem + ".bias", [beta.count], beta)
            try put(stem + ".running_mean", [beta.count], Array(repeating: 0, count: beta.count))
            try put(stem + ".running_var", [beta.count], Array(repeating: 1, count: beta.count))
        }
        var stem = [Float](repeating: 0, count: 27)
        stem[4] = 1                                   // channel 0, dy 1, dx 1
        try put("patch_embed1.proj_conv.weight", [1, 3, 3, 3], stem)
        try bn("patch_embed1.proj_bn", [0])
        try put("patch_embed1.proj1_conv.weight", [2, 1, 3, 3], Array(repeating: 2, count: 9) + Array(repeating: 0, count: 9))
        try bn("patch_embed1.proj1_bn", [0, 2])
        try put("patch_embed1.proj_res_conv.weight", [2, 1, 1, 1], [1, -1])
        try bn("patch_embed1.proj_res_bn", [1, 1])
        try put("head.weight", [2, 2], [0.5, -0.25, 0, 1])
        try put("head.bias", [2], [0.25, -1])
        return b
    }

    @Test func goldenRunsANetworkBundleOnImages() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-netcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let b = try Self.bundle(in: dir)
        // Channel 1: 1/64 -> 0.5 on 2^-5 -> 0 (a tie, to even: rounded) and 100 (saturated).
        let image: [Float] = [1, 0.25, 3, -1, 1.0 / 64, 100, 0, 0, 0, 0, 0, 0]
        let x = dir.appendingPathComponent("x.npy")
        try NPYArray(shape: [1, 3, 2, 2], scalars: image).write(to: x)
        let y = dir.appendingPathComponent("y.npy")
        let r = try CLISafetyTests.qkforge(["golden", "--bundle", b.path, "--input", x.path, "--output", y.path], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("1 of 12 values rounded") && r.stdout.contains("1 saturated"), "\(r.stdout)")
        let logits = try NPYArray(contentsOf: y)
        #expect(logits.dtype == .float64 && logits.shape == [1, 2])
        #expect(try logits.asDouble() == [0.625, 0])
        let z = dir.appendingPathComponent("z.npy")
        let raw = try CLISafetyTests.qkforge(["golden", "--bundle", b.path, "--input", x.path, "--output", z.path, "--raw"], in: dir)
        #expect(raw.status == 0, "\(raw.stderr)")
        let zs = try NPYArray(contentsOf: z)
        #expect(zs.dtype == .int64 && zs.shape == [1, 2])
        #expect(try zs.asInt64() == [320, 0])
        // One image [3, 2, 2] gives one row too.
        try NPYArray(shape: [3, 2, 2], scalars: image).write(to: x)
        #expect(try CLISafetyTests.qkforge(["golden", "--bundle", b.path, "--input", x.path, "--output", y.path], in: dir).status == 0)
        #expect(try NPYArray(contentsOf: y).shape == [1, 2])
    }

    /// `simulate` runs the generated RTL in Verilator: the same hand-computed logits and z as the
    /// golden model, from the bundle's trained weights.
    @Test func simulateRunsTheNetworkRTLOnImages() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-netsim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let b = try Self.bundle(in: dir)
        let image: [Float] = [1, 0.25, 3, -1, 1.0 / 64, 100, 0, 0, 0, 0, 0, 0]
        let x = dir.appendingPathComponent("x.npy")
        // Two copies of the image and a zero image: samples stream back to back.
        try NPYArray(shape: [3, 3, 2, 2], scalars: image + image + Array(repeating: 0, count: 12)).write(to: x)
        let y = dir.appendingPathComponent("y.npy"), z = dir.appendingPathComponent("z.npy")
        let r = try CLISafetyTests.qkforge(["simulate", "--bundle", b.path, "--input", x.path, "--output", y.path], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("simulated 3 sample(s) in Verilator"), "\(r.stdout)")
        #expect(r.stdout.contains("watchdog: ") && r.stdout.contains("cycles without a beat"), "\(r.stdout)")
        let logits = try NPYArray(contentsOf: y)
        #expect(logits.dtype == .float64 && logits.shape == [3, 2])
        // The zero image is checked against the golden model below.
        let v = try logits.asDouble()
        #expect(Array(v[0..<4]) == [0.625, 0, 0.625, 0])
        let g = dir.appendingPathComponent("g.npy")
        #expect(try CLISafetyTests.qkforge(["golden", "--bundle", b.path, "--input", x.path, "--output", g.path, "--raw"], in: dir).status == 0)
        let raw = try CLISafetyTests.qkforge(["simulate", "--bundle", b.path, "--input", x.path, "--output", z.path, "--raw"], in: dir)
        #expect(raw.status == 0, "\(raw.stderr)")
        #expect(try NPYArray(contentsOf: z).asInt64() == NPYArray(contentsOf: g).asInt64())
        #expect(Array(try NPYArray(contentsOf: z).asInt64()[0..<2]) == [320, 0])
        // --raw and --seed belong to a network; a bundle has its own weights.
        let bad = try CLISafetyTests.qkforge(["simulate", "--bundle", b.path, "--seed", "3", "--input", x.path, "--output", dir.appendingPathComponent("w.npy").path], in: dir)
        #expect(bad.status == 2 && bad.stderr.contains("--seed"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("w.npy").path))
    }

    @Test func badNetworkInputIsOneLineAndWritesNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-netcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let b = try Self.bundle(in: dir)
        let x = dir.appendingPathComponent("x.npy"), y = dir.appendingPathComponent("y.npy")
        let cases: [([String], [Float], [Int], String)] = [
            ([], Array(repeating: 0, count: 18), [3, 3, 2], "does not fit the network's 3 x 2 x 2 images"),
            ([], Array(repeating: 0, count: 8), [2, 2, 2], "does not fit"),
            (["--seed", "3"], Array(repeating: 0, count: 12), [3, 2, 2], "--seed does not apply"),
        ]
        for (extra, v, shape, fragment) in cases {
            try NPYArray(shape: shape, scalars: v).write(to: x)
            let r = try CLISafetyTests.qkforge(["golden", "--bundle", b.path, "--input", x.path, "--output", y.path] + extra, in: dir)
            let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
            #expect(r.status == 2 && lines.count == 1 && r.stderr.contains(fragment), "\(shape) \(extra): exit \(r.status), \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: y.path))
        }
        // uint8 is not an image.
        try NPYArray(shape: [3, 2, 2], scalars: [UInt8](repeating: 0, count: 12)).write(to: x)
        let r = try CLISafetyTests.qkforge(["golden", "--bundle", b.path, "--input", x.path, "--output", y.path], in: dir)
        #expect(r.status == 2 && r.stderr.contains("float32 or float64"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: y.path))
        // A block takes --lanes; the pipeline folding flags belong to a whole network.
        try NPYArray(shape: [4, 8, 32], scalars: [UInt8](repeating: 0, count: 4 * 8 * 32)).write(to: x)
        let block = try CLISafetyTests.qkforge(["simulate", "--model", "hst-4-384", "--block", "qkta", "--budget", "9000",
                                                "--input", x.path, "--output", y.path], in: dir)
        #expect(block.status == 2 && block.stderr.contains("--budget") && block.stderr.split(separator: "\n").count == 1, "\(block.stderr)")
        #expect(!FileManager.default.fileExists(atPath: y.path))
    }
}
