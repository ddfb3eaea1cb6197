import Foundation
import Testing
@testable import Cosim

// Tests of the Verilator co-simulation harness on small hand-written Verilog designs.
// Every expected value is computed here with plain Swift arithmetic from the stimulus.
//
// Built models go to a cache under the system temp directory that persists between
// runs (the cache key covers every input, so stale entries are never reused), which
// keeps reruns fast. Tests that need a fresh build use unique Verilog text.

// MARK: - Fixtures

private enum Fixture {
    static let root: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-cosim-tests", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static let cache = root.appendingPathComponent("cache", isDirectory: true)

    /// Design files are shared by concurrent test processes: each is written atomically
    /// with the same text, so a reader always sees a whole file.
    static let designs: URL = {
        let url = root.appendingPathComponent("designs", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static var options: VerilatorOptions { VerilatorOptions(cacheDirectory: cache) }

    /// A fresh scratch directory for one test; tests remove it when they pass.
    static func scratch(_ name: String) -> URL {
        let url = root.appendingPathComponent("scratch-\(getpid())-\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ name: String, _ text: String, in directory: URL = designs) -> URL {
        let url = directory.appendingPathComponent(name)
        try! text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static let counterSource = """
        // 8-bit counter with enable and synchronous reset.
        module counter (
            input  wire       clk,
            input  wire       rst,
            input  wire       en,
            output wire [7:0] count,
            output wire       wrap
        );
            reg [7:0] value;
            always @(posedge clk) begin
                if (rst) value <= 8'd0;
                else if (en) value <= value + 8'd1;
            end
            assign count = value;
            assign wrap = en && (value == 8'hff);
        endmodule

        """

    static func counterDesign(source: URL) -> VerilatorDesign {
        VerilatorDesign(top: "counter", sources: [source], dataFiles: [],
                        inputs: [VerilatorPort(name: "rst", width: 1), VerilatorPort(name: "en", width: 1)],
                        outputs: [VerilatorPort(name: "count", width: 8), VerilatorPort(name: "wrap", width: 1)],
                        clock: "clk")
    }

    static let counter = counterDesign(source: write("counter.v", counterSource))

    /// 200-bit register fed by a 100-bit and a 70-bit input, plus 64-bit-range ports.
    static let wide = VerilatorDesign(
        top: "wide",
        sources: [write("wide.v", """
            module wide (
                input  wire         clk,
                input  wire [99:0]  a,
                input  wire [69:0]  b,
                input  wire [199:0] c,
                input  wire [39:0]  d,
                output wire [199:0] acc_q,
                output wire [69:0]  mix,
                output wire [99:0]  a_echo,
                output wire [39:0]  d_inv,
                output wire [40:0]  c_mid
            );
                reg [199:0] acc;
                always @(posedge clk) acc <= {30'd0, a, b} + (c ^ acc);
                assign acc_q = acc;
                assign mix = a[69:0] ^ b;
                assign a_echo = a;
                assign d_inv = ~d;
                assign c_mid = c[140:100];
            endmodule

            """)],
        dataFiles: [],
        inputs: [VerilatorPort(name: "a", width: 100), VerilatorPort(name: "b", width: 70),
                 VerilatorPort(name: "c", width: 200), VerilatorPort(name: "d", width: 40)],
        outputs: [VerilatorPort(name: "acc_q", width: 200), VerilatorPort(name: "mix", width: 70),
                  VerilatorPort(name: "a_echo", width: 100), VerilatorPort(name: "d_inv", width: 40),
                  VerilatorPort(name: "c_mid", width: 41)],
        clock: "clk")

    static func romWord(_ address: Int) -> UInt32 { UInt32((address * 0x123 + 7) & 0xfff) }

    /// A ROM loaded by $readmemh from an image opened by plain file name.
    static let rom: VerilatorDesign = {
        let image = (0..<16).map { String(romWord($0), radix: 16) }.joined(separator: "\n") + "\n"
        return VerilatorDesign(
            top: "rom",
            sources: [write("rom.v", """
                module rom (
                    input  wire        clk,
                    input  wire [3:0]  addr,
                    input  wire [69:0] tag,
                    input  wire        stop_req,
                    output reg  [11:0] data_q,
                    output wire [11:0] data,
                    output reg  [69:0] tag_q
                );
                    reg [11:0] mem [0:15];
                    initial $readmemh("rom_image.hex", mem);
                    always @(posedge clk) begin
                        data_q <= mem[addr];
                        tag_q <= tag;
                        if (stop_req) $stop;
                    end
                    assign data = mem[addr];
                endmodule

                """)],
            dataFiles: [write("rom_image.hex", image)],
            inputs: [VerilatorPort(name: "addr", width: 4), VerilatorPort(name: "tag", width: 70),
                     VerilatorPort(name: "stop_req", width: 1)],
            outputs: [VerilatorPort(name: "data_q", width: 12), VerilatorPort(name: "data", width: 12),
                      VerilatorPort(name: "tag_q", width: 70)],
            clock: "clk")
    }()

    /// Purely combinational: no clock.
    static let comb = VerilatorDesign(
        top: "comb",
        sources: [write("comb.v", """
            module comb (
                input  wire [15:0]       a,
                input  wire [15:0]       b,
                input  wire [4:0]        sh,
                input  wire [31:0]       i,
                input  wire [63:0]       q,
                output wire [16:0]       sum,
                output wire [15:0]       shifted,
                output wire              eq,
                output wire signed [7:0] neg,
                output wire [31:0]       i_inv,
                output wire [63:0]       q_swap
            );
                assign sum = {1'b0, a} + {1'b0, b};
                assign shifted = a << sh;
                assign eq = a == b;
                assign neg = -$signed(a[7:0]);
                assign i_inv = ~i;
                assign q_swap = {q[31:0], q[63:32]};
            endmodule

            """)],
        dataFiles: [],
        inputs: [VerilatorPort(name: "a", width: 16), VerilatorPort(name: "b", width: 16), VerilatorPort(name: "sh", width: 5),
                 VerilatorPort(name: "i", width: 32), VerilatorPort(name: "q", width: 64)],
        outputs: [VerilatorPort(name: "sum", width: 17), VerilatorPort(name: "shifted", width: 16),
                  VerilatorPort(name: "eq", width: 1), VerilatorPort(name: "neg", width: 8),
                  VerilatorPort(name: "i_inv", width: 32), VerilatorPort(name: "q_swap", width: 64)],
        clock: nil)
}

/// Seeded stimulus generator (xorshift64*), independent of the harness's own.
private struct Stimulus {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func word() -> UInt32 { UInt32(truncatingIfNeeded: next() >> 29) }
    mutating func words(_ count: Int) -> [UInt32] { (0..<count).map { _ in word() } }
    mutating func chance(_ percent: UInt64) -> Bool { next() % 100 < percent }
}

// Multi-word arithmetic for the wide design's reference, on little-endian UInt32 words.
private func mask(_ words: [UInt32], width: Int) -> [UInt32] {
    var out = words
    for i in out.indices {
        let low = i * 32
        if low >= width { out[i] = 0 } else if width - low < 32 { out[i] &= (UInt32(1) << UInt32(width - low)) - 1 }
    }
    return out
}

private func add(_ x: [UInt32], _ y: [UInt32]) -> [UInt32] {
    var carry: UInt64 = 0
    return zip(x, y).map { a, b in
        let total = UInt64(a) + UInt64(b) + carry
        carry = total >> 32
        return UInt32(truncatingIfNeeded: total)
    }
}

/// Bits [low, low+width) of a little-endian word array, as words.
private func bits(_ words: [UInt32], low: Int, width: Int) -> [UInt32] {
    let count = (width + 31) / 32
    var out = [UInt32](repeating: 0, count: count)
    for bit in 0..<width {
        let source = low + bit
        guard source / 32 < words.count else { continue }
        if (words[source / 32] >> UInt32(source % 32)) & 1 == 1 { out[bit / 32] |= 1 << UInt32(bit % 32) }
    }
    return out
}

/// Places `value` (width bits) at bit `low` of a `totalWords` array.
private func place(_ value: [UInt32], width: Int, at low: Int, into target: inout [UInt32]) {
    for bit in 0..<width where (value[bit / 32] >> UInt32(bit % 32)) & 1 == 1 {
        let destination = low + bit
        target[destination / 32] |= 1 << UInt32(destination % 32)
    }
}

private func buildModel(_ design: VerilatorDesign, options: VerilatorOptions = Fixture.options) throws -> VerilatorModel {
    try VerilatorModel.build(design, options: options)
}

// MARK: - Tests

@Suite("Verilator harness")
struct VerilatorHarnessTests {
    @Test("counter: per-cycle API matches a Swift reference, and run() matches the per-cycle API")
    func counterMatchesReference() throws {
        let model = try buildModel(Fixture.counter)
        #expect(model.inputWords == 2)
        #expect(model.outputWords == 2)

        var rng = Stimulus(seed: 0xC0FFEE)
        let cycles = 700
        var stimulus: [UInt32] = []
        for cycle in 0..<cycles {
            // Long runs without reset (so the counter wraps), then frequent resets.
            let rst: UInt32 = cycle == 0 || cycle == 400 || (cycle > 600 && rng.chance(5)) ? 1 : 0
            let en: UInt32 = rng.chance(90) ? 1 : 0
            // Garbage above bit 0 must be masked off by the harness.
            stimulus += [rst | (rng.word() & ~1), en | (rng.word() & ~1)]
        }

        var value: UInt32 = 0
        var expected: [UInt32] = []
        var sawWrap = false
        for cycle in 0..<cycles {
            let rst = stimulus[2 * cycle] & 1, en = stimulus[2 * cycle + 1] & 1
            let wrap: UInt32 = en == 1 && value == 0xff ? 1 : 0
            sawWrap = sawWrap || wrap == 1
            expected += [value, wrap]
            if rst == 1 { value = 0 } else if en == 1 { value = (value + 1) & 0xff }
        }
        #expect(sawWrap, "stimulus should exercise the wrap output")

        var got: [UInt32] = []
        var outputs = [UInt32](repeating: 0xdead_beef, count: 2)
        for cycle in 0..<cycles {
            stimulus[(2 * cycle)...].withUnsafeBufferPointer { model.setInputs($0) }
            model.eval()
            outputs.withUnsafeMutableBufferPointer { model.getOutputs($0) }
            got += outputs
            model.tick()
        }
        #expect(got == expected)
        #expect(model.time == UInt64(2 * cycles))
        #expect(model.status == .running)

        // A second instance of the same design, driven in one batch, is independent.
        let batch = try buildModel(Fixture.counter)
        #expect(batch.reusedCache)
        #expect(batch.run(cycles: cycles, inputs: stimulus) == expected)
    }

    @Test("200-bit datapath: multi-word packing, masking, and 33..64-bit ports")
    func wideDatapath() throws {
        let model = try buildModel(Fixture.wide)
        #expect(model.inputWords == 4 + 3 + 7 + 2)
        #expect(model.outputWords == 7 + 3 + 4 + 2 + 2)

        var rng = Stimulus(seed: 200)
        var acc = [UInt32](repeating: 0, count: 7)
        var outputs = [UInt32](repeating: 0, count: model.outputWords)
        for cycle in 0..<64 {
            let raw = rng.words(model.inputWords)  // random upper bits included on purpose
            let a = mask(Array(raw[0..<4]), width: 100)
            let b = mask(Array(raw[4..<7]), width: 70)
            let c = mask(Array(raw[7..<14]), width: 200)
            let d = mask(Array(raw[14..<16]), width: 40)

            raw.withUnsafeBufferPointer { model.setInputs($0) }
            model.eval()
            outputs.withUnsafeMutableBufferPointer { model.getOutputs($0) }

            let mix = zip(mask(Array(a[0..<3]), width: 70), b).map { $0 ^ $1 }
            let dInv = mask(d.map { ~$0 }, width: 40)
            let expected = acc + mix + a + dInv + bits(c, low: 100, width: 41)
            #expect(outputs == expected, "cycle \(cycle)")

            var concatenated = [UInt32](repeating: 0, count: 7)
            place(b, width: 70, at: 0, into: &concatenated)
            place(a, width: 100, at: 70, into: &concatenated)
            acc = mask(add(concatenated, zip(c, acc).map { $0 ^ $1 }), width: 200)
            model.tick()
        }
    }

    @Test("ROM: $readmemh image is found by plain name; the process directory is untouched; $stop is caught")
    func romReadsImage() throws {
        let directoryBefore = FileManager.default.currentDirectoryPath
        let model = try buildModel(Fixture.rom)
        #expect(FileManager.default.currentDirectoryPath == directoryBefore)

        var rng = Stimulus(seed: 16)
        var previous: (data: UInt32, tag: [UInt32]) = (0, [0, 0, 0])
        var outputs = [UInt32](repeating: 0, count: model.outputWords)
        for cycle in 0..<40 {
            let address = Int(rng.next() % 16)
            let tag = mask(rng.words(3), width: 70)
            let inputs = [UInt32(address)] + tag + [0]
            inputs.withUnsafeBufferPointer { model.setInputs($0) }
            model.eval()
            outputs.withUnsafeMutableBufferPointer { model.getOutputs($0) }
            #expect(outputs == [previous.data, Fixture.romWord(address)] + previous.tag, "cycle \(cycle)")
            previous = (Fixture.romWord(address), tag)
            model.tick()
        }
        #expect(model.status == .running)

        // $stop must not take the test process down; it is reported as a status.
        [UInt32(0), 0, 0, 0, 1].withUnsafeBufferPointer { model.setInputs($0) }
        model.eval()
        model.tick()
        guard case .failed(let message) = model.status else {
            Issue.record("expected a failed status after $stop, got \(model.status)")
            return
        }
        #expect(message.contains("$stop"))
    }

    @Test("combinational design without a clock")
    func combinational() throws {
        let model = try buildModel(Fixture.comb)
        var rng = Stimulus(seed: 5)
        var outputs = [UInt32](repeating: 0, count: model.outputWords)
        for index in 0..<200 {
            let a = UInt32(truncatingIfNeeded: rng.next()) & 0xffff
            let b = index % 7 == 0 ? a : UInt32(truncatingIfNeeded: rng.next()) & 0xffff
            let shift = UInt32(truncatingIfNeeded: rng.next()) & 0x1f
            let i = rng.word(), qLow = rng.word(), qHigh = rng.word()
            [a, b, shift, i, qLow, qHigh].withUnsafeBufferPointer { model.setInputs($0) }
            model.eval()
            outputs.withUnsafeMutableBufferPointer { model.getOutputs($0) }
            let shifted = shift >= 16 ? 0 : (a << shift) & 0xffff
            let negated = UInt32(UInt8(truncatingIfNeeded: 0 &- Int(a & 0xff)))
            #expect(outputs == [a + b, shifted, a == b ? 1 : 0, negated, ~i, qHigh, qLow], "a=\(a) b=\(b) sh=\(shift)")
            model.tick()
        }
        #expect(model.time == 400)
    }

    @Test("a second build reuses the cache directory and is fast")
    func cacheHit() throws {
        let unique = UUID().uuidString
        let source = Fixture.write("counter_\(unique.prefix(8)).v", "// \(unique)\n" + Fixture.counterSource,
                                   in: Fixture.scratch("cache-hit"))
        let design = Fixture.counterDesign(source: source)
        let first = try buildModel(design)
        #expect(!first.reusedCache)

        let start = Date()
        let second = try buildModel(design)
        let seconds = Date().timeIntervalSince(start)
        #expect(second.reusedCache)
        #expect(second.buildDirectory == first.buildDirectory)
        #expect(second.cacheKey == first.cacheKey)
        #expect(seconds < 2, "a cache hit took \(seconds) s")
        // A real shared object, every object of it compiled position-independent.
        let library = try Data(contentsOf: first.buildDirectory.appendingPathComponent("obj/libqkmodel.so"))
        #expect(Array(library.prefix(4)) == [0x7f, 0x45, 0x4c, 0x46])
        #expect(library.count > 17 && library[16] == 3, "ELF type should be ET_DYN")
        let log = try String(contentsOf: first.buildDirectory.appendingPathComponent("build.log"), encoding: .utf8)
        let compiles = log.split(separator: "\n").filter { $0.contains(" -c -o ") }
        #expect(!compiles.isEmpty)
        #expect(compiles.allSatisfy { $0.contains("-fPIC") })
        // Both instances work and are independent.
        #expect(first.run(cycles: 3, inputs: [1, 0, 0, 1, 0, 1]) == [0, 0, 0, 0, 1, 0])
        #expect(second.run(cycles: 2, inputs: [1, 0, 0, 1]) == [0, 0, 0, 0])
        // This entry is unique to this run; do not let the shared cache grow with it.
        // (The loaded library stays mapped; unlinking it is fine on Linux.)
        try? FileManager.default.removeItem(at: first.buildDirectory)
        try? FileManager.default.removeItem(at: source.deletingLastPathComponent())
    }

    @Test("the cache key follows the Verilog text and the build options")
    func cacheKeyChanges() throws {
        let scratch = Fixture.scratch("key")
        let original = Fixture.counterDesign(source: Fixture.write("counter.v", Fixture.counterSource, in: scratch))
        let changedText = Fixture.counterSource.replacingOccurrences(of: "value + 8'd1", with: "value + 8'd2")
        #expect(changedText != Fixture.counterSource)
        let changed = Fixture.counterDesign(source: Fixture.write("counter2.v", changedText, in: scratch))
        let sameText = Fixture.counterDesign(source: Fixture.write("counter.v", Fixture.counterSource, in: Fixture.scratch("key2")))

        let key = try VerilatorModel.cacheKey(for: original, options: Fixture.options)
        #expect(try VerilatorModel.cacheKey(for: changed, options: Fixture.options) != key)
        #expect(try VerilatorModel.cacheKey(for: sameText, options: Fixture.options) == key)
        #expect(try VerilatorModel.cacheKey(for: Fixture.counter, options: Fixture.options) == key)
        var traced = Fixture.options
        traced.trace = .vcd
        #expect(try VerilatorModel.cacheKey(for: original, options: traced) != key)
        var flagged = Fixture.options
        flagged.extraFlags = ["+define+UNUSED_MACRO=1"]
        #expect(try VerilatorModel.cacheKey(for: original, options: flagged) != key)
        var widened = original
        widened.outputs[0] = VerilatorPort(name: widened.outputs[0].name, width: 9)
        #expect(try VerilatorModel.cacheKey(for: widened, options: Fixture.options) != key)
        try? FileManager.default.removeItem(at: scratch)
        try? FileManager.default.removeItem(at: sameText.sources[0].deletingLastPathComponent())
    }

    @Test("VCD tracing is opt-in and writes a waveform")
    func vcdTrace() throws {
        let plain = try buildModel(Fixture.counter)
        let scratch = Fixture.scratch("trace")
        #expect(throws: VerilatorError.self) { try plain.startTrace(to: scratch.appendingPathComponent("x.vcd").path) }

        let path = scratch.appendingPathComponent("counter.vcd").path
        var options = Fixture.options
        options.trace = .vcd
        options.tracePath = path
        let model = try buildModel(Fixture.counter, options: options)
        #expect(model.cacheKey != plain.cacheKey)
        let inputs: [UInt32] = [1, 0] + Array(repeating: [UInt32(0), 1], count: 19).flatMap { $0 }
        #expect(model.run(cycles: 20, inputs: inputs).last == 0)
        model.finish()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("$enddefinitions"))
        #expect(text.contains(" count "))
        #expect(text.contains("#38"), "the trace should reach time 38 (20 cycles)")
        try? FileManager.default.removeItem(at: scratch)
    }

    @Test("FST tracing can start in the middle of a run")
    func fstTraceStartedLate() throws {
        var options = Fixture.options
        options.trace = .fst
        let model = try buildModel(Fixture.counter, options: options)
        let inputs: [UInt32] = [1, 0] + Array(repeating: [UInt32(0), 1], count: 9).flatMap { $0 }
        #expect(model.run(cycles: 10, inputs: inputs).suffix(2) == [8, 0])
        let scratch = Fixture.scratch("fst")
        let path = scratch.appendingPathComponent("counter.fst").path
        try model.startTrace(to: path)
        #expect(throws: VerilatorError.self) { try model.startTrace(to: path + ".again") }
        #expect(model.run(cycles: 10, inputs: inputs).suffix(2) == [8, 0])
        model.finish()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        #expect(size > 100)
        try? FileManager.default.removeItem(at: scratch)
    }

    @Test("a replay directory rebuilds the design and reproduces the Swift run's outputs")
    func replayReproducesOutputs() throws {
        let model = try buildModel(Fixture.rom)
        var rng = Stimulus(seed: 77)
        let cycles = 30
        var inputs: [UInt32] = []
        for _ in 0..<cycles { inputs += [UInt32(rng.next() % 16)] + mask(rng.words(3), width: 70) + [0] }
        let outputs = model.run(cycles: cycles, inputs: inputs)

        let directory = Fixture.scratch("replay")
        try model.writeReplay(to: directory, inputs: inputs, cycles: cycles, expectedOutputs: outputs)
        for name in ["stimulus.hex", "replay_main.cpp", "qk_shim.cpp", "Makefile", "replay.sh", "rtl/rom.v", "rom_image.hex"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), "\(name)")
        }
        let stimulus = try String(contentsOf: directory.appendingPathComponent("stimulus.hex"), encoding: .utf8)
        #expect(stimulus.split(separator: "\n").count == cycles)

        let result = try VerilatorToolchain.run("bash", ["replay.sh"], in: directory)
        #expect(result.status == 0, "replay.sh failed:\n\(result.output.suffix(3000))")
        let replayed = try String(contentsOf: directory.appendingPathComponent("outputs.hex"), encoding: .utf8)
        let lines = VerilatorModel.parseHexLines(replayed)
        #expect(lines.count == cycles)
        #expect(lines.flatMap { $0 } == outputs)
        let waveform = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("replay.vcd").path)
        #expect((waveform[.size] as? Int ?? 0) > 0)
        if result.status == 0 { try? FileManager.default.removeItem(at: directory) }
    }

    @Test("broken Verilog gives a VerilatorError naming the file and line")
    func brokenVerilog() throws {
        let source = Fixture.write("broken.v", """
            module broken (input wire clk, output wire q);
                assign q = clk
                wire oops
            endmodule

            """, in: Fixture.scratch("broken"))
        defer { try? FileManager.default.removeItem(at: source.deletingLastPathComponent()) }
        let design = VerilatorDesign(top: "broken", sources: [source], dataFiles: [], inputs: [],
                                     outputs: [VerilatorPort(name: "q", width: 1)], clock: "clk")
        do {
            _ = try buildModel(design)
            Issue.record("the broken design built")
        } catch let error as VerilatorError {
            #expect(error.kind == .verilateFailed)
            #expect(error.description.contains("%Error"))
            #expect(error.description.contains("broken.v:3"), "\(error.description)")
        }
    }

    @Test("ports that disagree with the Verilog are reported before compiling")
    func portMismatch() throws {
        var design = Fixture.counter
        design.outputs[0] = VerilatorPort(name: design.outputs[0].name, width: 9)
        design.inputs.removeFirst()
        do {
            _ = try buildModel(design)
            Issue.record("the mismatched design built")
        } catch let error as VerilatorError {
            #expect(error.kind == .portMismatch)
            #expect(error.description.contains("'count' is 8 bits wide"), "\(error.description)")
            #expect(error.description.contains("input 'rst'"), "\(error.description)")
        }
    }

    /// Prints native and Swift-driven speed. For real numbers run it optimised:
    /// `swift test -c release --filter VerilatorHarnessTests/benchmarks`.
    @Test("native and Swift-driven benchmarks simulate the same cycles", arguments: ["counter", "wide"])
    func benchmarks(designName: String) throws {
        let design = designName == "counter" ? Fixture.counter : Fixture.wide
        #if DEBUG
        let cycles = 20_000, rounds = 1
        let build = "debug build: the Swift loop is unoptimised"
        #else
        let cycles = 1_000_000, rounds = 5
        let build = "release build, best of \(rounds)"
        #endif
        var bestNative = 0.0, bestSwift = 0.0
        for _ in 0..<rounds {
            let native = try VerilatorModel.nativeBenchmarkRun(design, cycles: cycles, seed: 42, options: Fixture.options)
            let model = try buildModel(design)  // a fresh instance, so the checksums must agree
            let swift = model.benchmarkSwiftRun(cycles: cycles, seed: 42)
            #expect(native.cycles == cycles)
            #expect(native.checksum == swift.checksum)
            bestNative = max(bestNative, native.cyclesPerSecond)
            bestSwift = max(bestSwift, swift.cyclesPerSecond)
        }
        #expect(bestNative > 0 && bestSwift > 0)
        print("\(designName): native \(Int(bestNative)) cycles/s, Swift-driven \(Int(bestSwift)) cycles/s, "
              + "native/Swift \(String(format: "%.2f", bestNative / bestSwift)) (\(cycles) cycles, \(build))")
    }

    @Test("Verilator member names and packing helpers")
    func helpers() {
        #expect(ShimGenerator.verilatorMemberName("a__b") == "a___05Fb")
        #expect(ShimGenerator.verilatorMemberName("x$y") == "x__024y")
        #expect(ShimGenerator.verilatorMemberName("_x") == "_x")
        #expect(VerilatorPort(name: "p", width: 200).words == 7)
        #expect(VerilatorPort(name: "p", width: 64).topWordMask == UInt32.max)
        #expect(VerilatorPort(name: "p", width: 41).topWordMask == 0x1ff)
        var hash = SHA256()
        hash.update(Array("abc".utf8))
        #expect(hash.hexDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = SHA256()
        long.update([UInt8](repeating: 0x61, count: 1_000))
        #expect(long.hexDigest() == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
