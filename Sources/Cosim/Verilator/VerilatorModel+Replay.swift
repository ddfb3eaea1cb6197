import Foundation

extension VerilatorModel {
    /// Leaves a self-contained replay of a run in `directory`, so that a failing run
    /// can be repeated by hand with `cd directory && bash replay.sh`:
    ///
    ///     stimulus.hex      one line per cycle: the packed input words, 8 hex digits
    ///                       each, least significant word first, separated by spaces
    ///     ports.txt         which words belong to which port
    ///     rtl/              copies of the Verilog sources; data files sit beside them
    ///     qk_shim.cpp       the same generated shim the Swift run used
    ///     replay_main.cpp   reads stimulus.hex, runs the same cycle semantics, writes
    ///                       outputs.hex (same format) and the waveform replay.vcd
    ///     harness.mk, Makefile, replay.sh
    ///
    /// If `expectedOutputs` is given it is written as expected.hex, and replay.sh
    /// reports the first cycle where outputs.hex differs from it.
    public func writeReplay(to directory: URL, inputs: [UInt32], cycles: Int,
                            expectedOutputs: [UInt32]? = nil) throws {
        guard cycles >= 0, inputs.count >= cycles * inputWords else {
            throw VerilatorError(.invalidDesign, "writeReplay needs \(cycles * inputWords) input words "
                + "for \(cycles) cycles, got \(inputs.count)")
        }
        if let expectedOutputs, expectedOutputs.count < cycles * outputWords {
            throw VerilatorError(.invalidDesign, "writeReplay needs \(cycles * outputWords) expected output words, "
                + "got \(expectedOutputs.count)")
        }
        let fileManager = FileManager.default
        let rtl = directory.appendingPathComponent("rtl", isDirectory: true)
        do {
            try fileManager.createDirectory(at: rtl, withIntermediateDirectories: true)
            var sourceNames: [String] = []
            for (index, source) in design.sources.enumerated() {
                var name = source.lastPathComponent
                if sourceNames.contains(name) { name = "\(index)_\(name)" }
                sourceNames.append(name)
                try Self.replaceCopy(of: source, at: rtl.appendingPathComponent(name))
            }
            for file in design.dataFiles {
                try Self.replaceCopy(of: file, at: directory.appendingPathComponent(file.lastPathComponent))
            }
            try Self.replaceCopy(of: built.shimSource, at: directory.appendingPathComponent("qk_shim.cpp"))
            try VerilatorToolchain.template("replay_main.cpp")
                .write(to: directory.appendingPathComponent("replay_main.cpp"), atomically: true, encoding: .utf8)
            try VerilatorToolchain.template("harness.mk")
                .write(to: directory.appendingPathComponent("harness.mk"), atomically: true, encoding: .utf8)
            try Self.hexLines(inputs, wordsPerLine: inputWords, lines: cycles)
                .write(to: directory.appendingPathComponent("stimulus.hex"), atomically: true, encoding: .utf8)
            if let expectedOutputs {
                try Self.hexLines(expectedOutputs, wordsPerLine: outputWords, lines: cycles)
                    .write(to: directory.appendingPathComponent("expected.hex"), atomically: true, encoding: .utf8)
            }
            try portsText().write(to: directory.appendingPathComponent("ports.txt"), atomically: true, encoding: .utf8)
            try makefile(sources: sourceNames.map { "rtl/" + $0 })
                .write(to: directory.appendingPathComponent("Makefile"), atomically: true, encoding: .utf8)
            let script = directory.appendingPathComponent("replay.sh")
            try replayScript().write(to: script, atomically: true, encoding: .utf8)
            try fileManager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        } catch let error as VerilatorError {
            throw error
        } catch {
            throw VerilatorError(.io, "cannot write replay into \(directory.path): \(error.localizedDescription)")
        }
    }

    private static func replaceCopy(of source: URL, at target: URL) throws {
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: source, to: target)
    }

    /// `lines` lines of `wordsPerLine` words each, as 8-digit hex separated by spaces.
    static func hexLines(_ words: [UInt32], wordsPerLine: Int, lines: Int) -> String {
        var text = ""
        text.reserveCapacity(lines * (wordsPerLine * 9 + 1))
        for line in 0..<lines {
            for word in 0..<wordsPerLine {
                if word > 0 { text += " " }
                let digits = String(words[line * wordsPerLine + word], radix: 16)
                text += String(repeating: "0", count: 8 - digits.count) + digits
            }
            text += "\n"
        }
        return text
    }

    /// Parses `hexLines` output back into words.
    public static func parseHexLines(_ text: String) -> [[UInt32]] {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0).map { line in
            line.split(separator: " ").compactMap { UInt32($0, radix: 16) }
        }
    }

    private func portsText() -> String {
        func describe(_ ports: [VerilatorPort], offsets: [Int]) -> String {
            zip(ports, offsets).map { port, offset in
                let last = offset + port.words - 1
                let words = port.words == 1 ? "word \(offset)" : "words \(offset)...\(last)"
                return "  \(port.name) [\(port.width - 1):0]: \(words)"
            }.joined(separator: "\n")
        }
        return """
            # Packed word layout of stimulus.hex and outputs.hex (word 0 is the first on a line;
            # each port's least significant word comes first). Design top: \(design.top), clock: \(design.clock ?? "none").
            inputs (\(inputWords) words):
            \(describe(design.inputs, offsets: design.inputOffsets))
            outputs (\(outputWords) words):
            \(describe(design.outputs, offsets: design.outputOffsets))

            """
    }

    private func makefile(sources: [String]) -> String {
        let modelClass = built.modelClass
        let flags = (["-Wno-fatal"] + options.extraFlags).map(Self.makeQuote).joined(separator: " ")
        return """
            # Replays a QKForge co-simulation run (written by VerilatorModel.writeReplay).
            #   make            rebuild with Verilator (VCD tracing on) and run stimulus.hex
            #   make clean      remove the build and the results
            VERILATOR ?= verilator
            JOBS ?= 2
            TOP = \(design.top)
            PREFIX = \(modelClass)
            SOURCES = \(sources.joined(separator: " "))
            FLAGS = \(flags)

            all: outputs.hex

            obj_dir/$(PREFIX).mk: $(SOURCES) replay_main.cpp qk_shim.cpp harness.mk
            \t$(VERILATOR) --cc --exe --trace --top-module $(TOP) --Mdir obj_dir -o replay $(FLAGS) $(SOURCES) replay_main.cpp

            obj_dir/replay: obj_dir/$(PREFIX).mk
            \t$(MAKE) -C obj_dir -f ../harness.mk QK_PREFIX=$(PREFIX) -j $(JOBS) replay

            outputs.hex: obj_dir/replay stimulus.hex
            \t./obj_dir/replay stimulus.hex outputs.hex replay.vcd

            clean:
            \trm -rf obj_dir outputs.hex replay.vcd

            .PHONY: all clean

            """
    }

    private func replayScript() -> String {
        """
        #!/usr/bin/env bash
        # Replays a QKForge co-simulation run of '\(design.top)': rebuilds the design with
        # Verilator (VCD tracing on), feeds it stimulus.hex, and writes outputs.hex and
        # replay.vcd. Packed word layout: ports.txt.
        set -euo pipefail
        cd "$(dirname "$0")"
        make "$@"
        if [ -f expected.hex ]; then
            if cmp -s expected.hex outputs.hex; then
                echo "replay: outputs.hex matches expected.hex"
            else
                echo "replay: outputs.hex differs from expected.hex; first difference (line = cycle + 1):"
                diff expected.hex outputs.hex | head -n 4
                exit 1
            fi
        fi
        echo "replay: outputs in outputs.hex, waveform in replay.vcd"

        """
    }

    private static func makeQuote(_ flag: String) -> String {
        let safe = flag.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "-_+=./,:".unicodeScalars.contains(c)
        }
        return safe ? flag : "'" + flag.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
