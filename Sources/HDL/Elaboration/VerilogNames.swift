/// Verilog identifier rules, shared by naming and checking.
public enum VerilogNames {
    /// The implicit clock and reset ports.
    public static let implicitPorts: Set<String> = ["clk", "rst"]

    /// Verilog-2005 and SystemVerilog keywords (the latter so that the output also reads as
    /// SystemVerilog, as Verilator and most synthesis tools parse it).
    public static let keywords: Set<String> = [
        "always", "and", "assign", "automatic", "begin", "buf", "bufif0", "bufif1", "case", "casex",
        "casez", "cell", "cmos", "config", "deassign", "default", "defparam", "design", "disable",
        "edge", "else", "end", "endcase", "endconfig", "endfunction", "endgenerate", "endmodule",
        "endprimitive", "endspecify", "endtable", "endtask", "event", "for", "force", "forever",
        "fork", "function", "generate", "genvar", "highz0", "highz1", "if", "ifnone", "incdir",
        "include", "initial", "inout", "input", "instance", "integer", "join", "large", "liblist",
        "library", "localparam", "macromodule", "medium", "module", "nand", "negedge", "nmos",
        "nor", "noshowcancelled", "not", "notif0", "notif1", "or", "output", "parameter", "pmos",
        "posedge", "primitive", "pull0", "pull1", "pulldown", "pullup", "pulsestyle_onevent",
        "pulsestyle_ondetect", "rcmos", "real", "realtime", "reg", "release", "repeat", "rnmos",
        "rpmos", "rtran", "rtranif0", "rtranif1", "scalared", "showcancelled", "signed", "small",
        "specify", "specparam", "strong0", "strong1", "supply0", "supply1", "table", "task", "time",
        "tran", "tranif0", "tranif1", "tri", "tri0", "tri1", "triand", "trior", "trireg", "unsigned",
        "use", "uwire", "vectored", "wait", "wand", "weak0", "weak1", "while", "wire", "wor", "xnor",
        "xor", "bit", "logic", "byte", "int", "shortint", "longint", "struct", "union", "typedef",
        "enum", "class", "interface", "package", "program", "property", "sequence", "string", "void",
        "return", "break", "continue", "const", "static", "virtual", "extern", "import", "export",
        "bind", "chandle", "context", "do", "final", "foreach", "inside", "local", "modport", "new",
        "null", "priority", "protected", "pure", "rand", "randc", "ref", "super", "this", "type",
        "unique", "var", "with", "assert", "assume", "cover", "expect", "alias", "clocking",
        "constraint", "covergroup", "coverpoint", "cross", "dist", "endclass", "endclocking",
        "endgroup", "endinterface", "endpackage", "endprogram", "endproperty", "endsequence",
        "extends", "first_match", "forkjoin", "ignore_bins", "illegal_bins", "intersect",
        "join_any", "join_none", "matches", "randcase", "randsequence", "solve", "tagged",
        "throughout", "wait_order", "wildcard", "within", "shortreal", "timeprecision", "timeunit",
    ]

    /// A legal identifier made from `hint`: other characters become `_`, a leading digit gets a
    /// `_` prefix, a keyword gets a `_` suffix.
    public static func legal(_ hint: String) -> String {
        var s = String(hint.map { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" ? $0 : "_" })
        if s.isEmpty { s = "n" }
        if let f = s.first, f.isNumber { s = "_" + s }
        if keywords.contains(s) { s += "_" }
        return s
    }
}

/// Hands out unique names within one module, in request order, so the same design always gets
/// the same names.
struct Namespace {
    private var used: Set<String>
    private var next: [String: Int] = [:]

    init(reserved: Set<String>) { used = reserved }

    mutating func claim(_ hint: String) -> String {
        let base = VerilogNames.legal(hint)
        if !used.contains(base) {
            used.insert(base)
            return base
        }
        var n = next[base] ?? 1
        while used.contains("\(base)_\(n)") { n += 1 }
        next[base] = n + 1
        let name = "\(base)_\(n)"
        used.insert(name)
        return name
    }
}
