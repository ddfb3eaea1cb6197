import Foundation

/// Fills sim/qk_shim.cpp.in for one design: the per-port copy code between packed
/// 32-bit word buffers and Verilator's port members.
enum ShimGenerator {
    /// The C++ member name Verilator gives a Verilog identifier: `__` becomes `___05F`
    /// and any other character that is not a letter, digit or `_` becomes `__0xx` (hex).
    static func verilatorMemberName(_ name: String) -> String {
        var out = ""
        let chars = Array(name.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let isLetter = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
            let isDigit = c >= "0" && c <= "9"
            if isLetter || (isDigit && i > 0) {
                out.unicodeScalars.append(c)
            } else if c == "_" {
                if i + 1 < chars.count && chars[i + 1] == "_" {
                    out += "___05F"
                    i += 1
                } else {
                    out += "_"
                }
            } else {
                let hex = String(c.value, radix: 16)
                out += "__0" + (hex.count == 1 ? "0" + hex : hex)
            }
            i += 1
        }
        return out
    }

    /// The Verilated class name, e.g. `Vcounter` for top module `counter`.
    static func modelClass(top: String) -> String { "V" + verilatorMemberName(top) }

    static func mask(_ port: VerilatorPort) -> String {
        String(format: "0x%08xu", port.topWordMask)
    }

    static func setCode(_ port: VerilatorPort, offset o: Int) -> String {
        let member = "top->" + verilatorMemberName(port.name)
        let full = port.width % 32 == 0
        let top = "in[\(o + port.words - 1)]" + (full ? "" : " & \(mask(port))")
        switch port.width {
        case 1...8: return "    \(member) = static_cast<CData>(\(top));"
        case 9...16: return "    \(member) = static_cast<SData>(\(top));"
        case 17...32: return "    \(member) = static_cast<IData>(\(top));"
        case 33...64:
            return "    \(member) = static_cast<QData>(in[\(o)]) | (static_cast<QData>(\(top)) << 32);"
        default:
            return """
                    std::memcpy(\(member).data(), in + \(o), sizeof(uint32_t) * \(port.words - 1));
                    \(member).at(\(port.words - 1)) = \(top);
                """
        }
    }

    static func getCode(_ port: VerilatorPort, offset o: Int) -> String {
        let member = "top->" + verilatorMemberName(port.name)
        let maskSuffix = port.width % 32 == 0 ? "" : " & \(mask(port))"
        switch port.width {
        case 1...32:
            return "    out[\(o)] = static_cast<uint32_t>(\(member))\(maskSuffix);"
        case 33...64:
            return """
                    out[\(o)] = static_cast<uint32_t>(\(member));
                    out[\(o + 1)] = static_cast<uint32_t>(\(member) >> 32)\(maskSuffix);
                """
        default:
            return """
                    std::memcpy(out + \(o), \(member).data(), sizeof(uint32_t) * \(port.words - 1));
                    out[\(o + port.words - 1)] = \(member).at(\(port.words - 1))\(maskSuffix);
                """
        }
    }

    static func portSummary(_ ports: [VerilatorPort]) -> String {
        let offsets = VerilatorDesign.offsets(ports)
        let parts = zip(ports, offsets).map { "\($0.name)[\($0.width)]@w\($1)" }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    /// The shim source for `design`, from the template text.
    static func shim(for design: VerilatorDesign, template: String) -> String {
        let setInputs = zip(design.inputs, design.inputOffsets).map { setCode($0, offset: $1) }
        let getOutputs = zip(design.outputs, design.outputOffsets).map { getCode($0, offset: $1) }
        let setClock = design.clock.map { "    top->\(verilatorMemberName($0)) = level;" } ?? ""
        let comment = "Design: top \(design.top); clock \(design.clock ?? "none"); "
            + "inputs \(portSummary(design.inputs)); outputs \(portSummary(design.outputs))"
        let substitutions: [(String, String)] = [
            ("@@DESIGN_COMMENT@@", comment),
            ("@@MODEL_CLASS@@", modelClass(top: design.top)),
            ("@@INPUT_WORDS@@", String(design.inputWords)),
            ("@@OUTPUT_WORDS@@", String(design.outputWords)),
            ("@@HAS_CLOCK@@", design.clock == nil ? "0" : "1"),
            ("@@SET_INPUTS@@", setInputs.joined(separator: "\n")),
            ("@@GET_OUTPUTS@@", getOutputs.joined(separator: "\n")),
            ("@@SET_CLOCK@@", setClock),
        ]
        var text = template
        for (placeholder, value) in substitutions {
            text = text.replacingOccurrences(of: placeholder, with: value)
        }
        return text
    }
}
