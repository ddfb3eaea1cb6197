import Foundation
import HDL

/// Builds the Verilator model of an elaborated design, with the same port order as the IR
/// simulator: `rst` first when the top has one, then the top's inputs; the top's outputs.
public enum VerilatedDesign {
    /// Writes `emitted` into `directory` and builds (or reuses from the cache) its model.
    public static func build(_ design: Design, emitted: EmittedDesign, directory: URL,
                             options: VerilatorOptions = .init()) throws -> VerilatorModel {
        try VerilatorModel.build(describe(design, emitted: emitted, directory: directory), options: options)
    }

    /// Writes `emitted` into `directory` and describes it for the Verilator harness.
    public static func describe(_ design: Design, emitted: EmittedDesign, directory: URL) throws -> VerilatorDesign {
        try emitted.write(to: directory)
        let top = design.top
        var inputs: [VerilatorPort] = []
        if design.hasReset(top) { inputs.append(VerilatorPort(name: "rst", width: 1)) }
        inputs += top.inputs.map { VerilatorPort(name: $0.name, width: $0.width) }
        let outputs = top.outputs.map { VerilatorPort(name: $0.name, width: $0.width) }
        return VerilatorDesign(
            top: emitted.top,
            sources: emitted.verilog.map { directory.appendingPathComponent($0.name) },
            dataFiles: emitted.memoryImages.map { directory.appendingPathComponent($0.name) },
            inputs: inputs, outputs: outputs,
            clock: design.hasClock(top) ? "clk" : nil)
    }
}
