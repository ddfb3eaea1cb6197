/// Writes an elaborated design as Verilog-2005, one module per file.
///
/// Every operator node becomes one assignment over named operands whose widths are made equal
/// explicitly (zero or sign extension by concatenation), so the Verilog never depends on the
/// language's context-width and signedness rules. Nets are declared unsigned and signed
/// arithmetic is spelled out with `$signed(...)` where it matters (comparisons, arithmetic right
/// shifts). The output lints clean under `verilator -Wall`; bits the design never reads are the
/// only thing waived, with a pragma on that declaration alone.
public enum VerilogEmitter {
    ///
    /// `directory` is the absolute path of the folder the files will be written to, or nil for a
    /// folder that must work wherever it is moved (the committed `rtl/`). With a directory,
    /// `files.f` lists absolute paths and the memory images are found there by default; without
    /// one, `files.f` lists paths relative to the folder and the images are read from the
    /// simulator's working directory unless `QKFORGE_MEM_DIR` is defined (see `memoryDirectoryMacro`).
    ///
    /// Two modules the generator built alike (the same Verilog but for their names, say the
    /// event encoders of two layers with the same shape) are written once: the later one's
    /// instances name the first, and no `_1` copy is emitted.
    public static func emit(_ design: Design, directory: String? = nil) -> EmittedDesign {
        var design = design
        var files: [EmittedDesign.File] = []
        var images: [EmittedDesign.File] = []
        let hasImages = design.modules.contains { $0.memories.contains { $0.initial != nil } }
        // Each module is rendered under a placeholder name, so that alike modules render alike.
        let placeholder = "\u{1}module\u{1}"
        var emitted: [String: String] = [:]   // rendering -> the name it was written under
        for m in design.modules {
            var writer = ModuleWriter(design: design, module: m, memoryDirectory: directory ?? ".", documentImages: hasImages,
                                      name: placeholder)
            let text = writer.render()
            if m !== design.top, let first = emitted[text] {
                design.moduleNames[ObjectIdentifier(m)] = first
                continue
            }
            let name = design.verilogName(m)
            emitted[text] = name
            files.append(EmittedDesign.File(name: "\(name).v", contents: text.replacingOccurrences(of: placeholder, with: name)))
            images += writer.images.map {
                EmittedDesign.File(name: $0.name.replacingOccurrences(of: placeholder, with: name), contents: $0.contents)
            }
        }
        return EmittedDesign(top: design.verilogName(design.top), verilog: files, memoryImages: images, directory: directory)
    }

    /// The macro naming the folder of the `$readmemh` images: `$readmemh({`QKFORGE_MEM_DIR, "/name.hex"}, mem)`.
    public static let memoryDirectoryMacro = "QKFORGE_MEM_DIR"

    /// Whether `path` can be written into `files.f` and a Verilog string literal as it is.
    public static func isPlainPath(_ path: String) -> Bool {
        !path.isEmpty && !path.contains { $0.isWhitespace || $0 == "\"" || $0 == "\\" || $0 == "`" || !$0.isASCII || $0.isNewline }
    }
}

/// Renders one module. Logic is rendered before declarations so that the declarations know
/// which bits are read.
struct ModuleWriter {
    let design: Design
    let module: Module
    let net: Netlist
    var images: [EmittedDesign.File] = []
    /// Bits read of each named net (true = read).
    private var readBits: [String: [Bool]] = [:]
    private var readMemories: Set<String> = []
    private var knownMemo: [ObjectIdentifier: KnownBits] = [:]
    /// What drives each wire and output, to see through them as Verilator does.
    private var drivers: [Signal: Expr] = [:]

    /// The default of `QKFORGE_MEM_DIR` in a file that reads memory images.
    let memoryDirectory: String
    /// Whether the top module's header explains how the images are found.
    let documentImages: Bool

    /// The module's Verilog name as written (the design's, unless the emitter renders under a
    /// placeholder to compare modules).
    let name: String

    init(design: Design, module: Module, memoryDirectory: String = ".", documentImages: Bool = false, name: String? = nil) {
        self.design = design
        self.module = module
        self.name = name ?? design.verilogName(module)
        self.memoryDirectory = memoryDirectory
        self.documentImages = documentImages
        self.net = design.netlist(module)
        for a in module.assignments { if let t = a.target.signal { drivers[t] = a.value } }
    }

    // MARK: Known bits

    /// What is known of `e`'s bits without running the design. Deep chains give up (all
    /// unknown), which is always safe: it only means a comparison is written out in full.
    mutating func known(_ e: Expr, depth: Int = 0) -> KnownBits {
        if let k = knownMemo[ObjectIdentifier(e)] { return k }
        if depth > 48 { return .unknown(e.width) }
        let d = depth + 1
        let w = e.width
        let k: KnownBits
        switch e.op {
        case .const(let c):
            k = .constant(c)
        case .signal(let s):
            if let drv = drivers[s], s.kind == .wire || s.kind == .output { k = known(drv, depth: d) } else { k = .unknown(w) }
        case .reinterpret:
            k = known(e.args[0], depth: d)
        case .extend:
            k = known(e.args[0], depth: d).extended(signed: e.args[0].isSigned, to: w)
        case .truncate:
            k = known(e.args[0], depth: d).slice(w - 1, 0)
        case .slice(let hi, let lo):
            k = known(e.args[0], depth: d).slice(hi, lo)
        case .shiftRight(let n):
            let a = e.args[0]
            let ka = known(a, depth: d)
            if n == 0 { k = ka } else if n >= a.width {
                k = a.isSigned ? ka.slice(a.width - 1, a.width - 1) : .constant(.zero(1))
            } else { k = ka.slice(a.width - 1, n) }
        case .shiftLeft(let n):
            let ka = known(e.args[0], depth: d)
            k = n == 0 ? ka : KnownBits.concat([ka, .constant(.zero(n))])
        case .concat:
            var parts: [KnownBits] = []
            for a in e.args { parts.append(known(a, depth: d)) }
            k = KnownBits.concat(parts)
        case .unary(let u):
            let ka = known(e.args[0], depth: d)
            switch u {
            case .not: k = ka.map { z, o in (o, z) }
            case .andReduce:
                k = !ka.zeros.isZero ? .constant(.zero(1)) : (ka.ones == .allOnes(ka.width) ? .constant(.allOnes(1)) : .unknown(1))
            case .orReduce:
                k = !ka.ones.isZero ? .constant(.allOnes(1)) : (ka.zeros == .allOnes(ka.width) ? .constant(.zero(1)) : .unknown(1))
            case .xorReduce:
                if ka.isConstant {
                    let parity = ka.ones.words.reduce(0) { $0 + $1.nonzeroBitCount } % 2
                    k = .constant(Bits(width: 1, truncating: parity))
                } else { k = .unknown(1) }
            }
        case .binary(let b) where Self.same(e.args[0], e.args[1]) && [.xor, .subWrap, .subWiden].contains(b):
            k = .constant(.zero(w))   // x ^ x, x - x
        case .binary(let b) where Self.same(e.args[0], e.args[1]) && b.isComparison:
            k = .constant(Bits(width: 1, truncating: [.eq, .le, .ge].contains(b) ? 1 : 0))
        case .binary(let b):
            let (x, y) = (e.args[0], e.args[1])
            switch b {
            case .and, .or, .xor:
                let kx = known(x, depth: d).extended(signed: x.isSigned, to: w)
                let ky = known(y, depth: d).extended(signed: y.isSigned, to: w)
                switch b {
                case .and: k = .zip(kx, ky) { az, ao, bz, bo in (az | bz, ao & bo) }
                case .or: k = .zip(kx, ky) { az, ao, bz, bo in (az & bz, ao | bo) }
                default: k = .zip(kx, ky) { az, ao, bz, bo in ((az & bz) | (ao & bo), (az & bo) | (ao & bz)) }
                }
            case .eq, .ne, .lt, .le, .gt, .ge:
                if let r = ComparisonFolding.fold(b, x, known(x, depth: d), y, known(y, depth: d)) {
                    k = .constant(Bits(width: 1, truncating: r ? 1 : 0))
                } else { k = .unknown(1) }
            case .addWiden, .addWrap, .subWiden, .subWrap, .mul:
                // Only the identities Verilator folds: adding or subtracting zero, times zero.
                let kx = known(x, depth: d).extended(signed: x.isSigned, to: w)
                let ky = known(y, depth: d).extended(signed: y.isSigned, to: w)
                let zero = KnownBits.constant(.zero(w))
                if b == .mul { k = kx == zero || ky == zero ? zero : .unknown(w) }
                else if ky == zero { k = kx }
                else if kx == zero && (b == .addWiden || b == .addWrap) { k = ky }
                else { k = .unknown(w) }
            case .dynShiftLeft, .dynShiftRight:
                let kx = known(x, depth: d), ky = known(y, depth: d)
                if ky == .constant(.zero(y.width)) { k = kx }
                else if kx == .constant(.zero(w)) { k = kx }
                else if b == .dynShiftRight && x.isSigned && kx == .constant(.allOnes(w)) { k = kx }
                else { k = .unknown(w) }
            }
        case .mux:
            let ks = known(e.args[0], depth: d)
            let ka = known(e.args[1], depth: d).extended(signed: e.args[1].isSigned, to: w)
            let kb = known(e.args[2], depth: d).extended(signed: e.args[2].isSigned, to: w)
            if ks.isConstant { k = ks.ones.isZero ? kb : ka } else {
                k = .zip(ka, kb) { az, ao, bz, bo in (az & bz, ao & bo) }
            }
        case .instanceOutput, .memoryRead, .memorySyncRead:
            k = .unknown(w)
        }
        if depth == 0 || knownMemo.count < 1_000_000 { knownMemo[ObjectIdentifier(e)] = k }
        return k
    }

    // MARK: Operand references

    private static func literal(_ b: Bits) -> String {
        if b.width <= 64 && b.low64 < (1 << 32) { return "\(b.width)'d\(b.low64)" }
        return "\(b.width)'h\(b.hex)"
    }

    /// Whether `a` and `b` are the same value: the same node or the same net, looking through
    /// reinterpretations.
    static func same(_ a: Expr, _ b: Expr) -> Bool {
        var a = a, b = b
        while case .reinterpret = a.op { a = a.args[0] }
        while case .reinterpret = b.op { b = b.args[0] }
        if a === b { return true }
        if let sa = a.signal, let sb = b.signal { return sa === sb }
        return false
    }

    /// The constant that `e` is, looking through reinterpretations.
    static func constant(_ e: Expr) -> Bits? {
        var e = e
        while case .reinterpret = e.op { e = e.args[0] }
        return e.constValue
    }

    private mutating func markRead(_ name: String, width: Int, _ lo: Int, _ hi: Int) {
        var bits = readBits[name] ?? [Bool](repeating: false, count: width)
        for i in lo...hi { bits[i] = true }
        readBits[name] = bits
    }

    /// The whole value of `e`: a net name or a sized literal.
    mutating func ref(_ e: Expr) -> String {
        if let c = Self.constant(e) { return Self.literal(c) }
        let n = net.name(of: e)!
        markRead(n, width: e.width, 0, e.width - 1)
        return n
    }

    /// Bits `hi..lo` of `e`.
    mutating func bits(_ e: Expr, _ hi: Int, _ lo: Int) -> String {
        if let c = Self.constant(e) {
            var words = [UInt64](repeating: 0, count: (hi - lo + 64) / 64)
            for i in lo...hi where c.bit(i) { words[(i - lo) / 64] |= 1 << UInt64((i - lo) % 64) }
            return Self.literal(Bits(width: hi - lo + 1, truncating: words))
        }
        if lo == 0 && hi == e.width - 1 { return ref(e) }
        let n = net.name(of: e)!
        markRead(n, width: e.width, lo, hi)
        return hi == lo ? "\(n)[\(lo)]" : "\(n)[\(hi):\(lo)]"
    }

    /// `e` zero- or sign-extended (by its signedness) to `width` bits.
    mutating func extended(_ e: Expr, to width: Int) -> String {
        if e.width == width { return ref(e) }
        if let c = Self.constant(e) {
            var words = c.words + [UInt64](repeating: 0, count: (width + 63) / 64)
            if e.isSigned && c.bit(e.width - 1) {
                for i in e.width..<width { words[i / 64] |= 1 << UInt64(i % 64) }
            }
            return Self.literal(Bits(width: width, truncating: words))
        }
        let pad = width - e.width
        if !e.isSigned { return "{\(pad)'d0, \(ref(e))}" }
        let msb = bits(e, e.width - 1, e.width - 1)
        return pad == 1 ? "{\(msb), \(ref(e))}" : "{{\(pad){\(msb)}}, \(ref(e))}"
    }

    // MARK: Operators

    /// The right-hand side computing operator node `e` from its operands.
    mutating func operation(_ e: Expr) -> String {
        let w = e.width
        switch e.op {
        case .unary(let u):
            let a = ref(e.args[0])
            switch u {
            case .not: return "~\(a)"
            case .andReduce: return "&\(a)"
            case .orReduce: return "|\(a)"
            case .xorReduce: return "^\(a)"
            }
        case .binary(let b):
            let (x, y) = (e.args[0], e.args[1])
            switch b {
            case .addWiden, .addWrap: return "\(extended(x, to: w)) + \(extended(y, to: w))"
            case .subWiden, .subWrap: return "\(extended(x, to: w)) - \(extended(y, to: w))"
            case .mul: return "\(extended(x, to: w)) * \(extended(y, to: w))"
            case .and: return "\(extended(x, to: w)) & \(extended(y, to: w))"
            case .or: return "\(extended(x, to: w)) | \(extended(y, to: w))"
            case .xor: return "\(extended(x, to: w)) ^ \(extended(y, to: w))"
            case .eq, .ne, .lt, .le, .gt, .ge:
                if Self.same(x, y) {
                    return [.eq, .le, .ge].contains(b) ? "1'd1" : "1'd0"
                }
                if let known = ComparisonFolding.fold(b, x, known(x), y, known(y)) {
                    // Decided by the operands' ranges alone; Verilator would flag the comparison.
                    return known ? "1'd1" : "1'd0"
                }
                let m = max(x.width, y.width)
                let sym = ["eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="][b.rawValue]!
                let l = extended(x, to: m), r = extended(y, to: m)
                if x.isSigned && b != .eq && b != .ne { return "$signed(\(l)) \(sym) $signed(\(r))" }
                return "\(l) \(sym) \(r)"
            case .dynShiftLeft: return "\(ref(x)) << \(ref(y))"
            case .dynShiftRight:
                return x.isSigned ? "$signed(\(ref(x))) >>> \(ref(y))" : "\(ref(x)) >> \(ref(y))"
            }
        case .slice(let hi, let lo):
            return bits(e.args[0], hi, lo)
        case .concat:
            var parts: [String] = []
            for a in e.args { parts.append(ref(a)) }
            return "{\(parts.joined(separator: ", "))}"
        case .mux:
            let s = ref(e.args[0])
            return "\(s) ? \(extended(e.args[1], to: w)) : \(extended(e.args[2], to: w))"
        case .extend:
            return extended(e.args[0], to: w)
        case .truncate:
            return bits(e.args[0], w - 1, 0)
        case .shiftLeft(let n):
            return n == 0 ? ref(e.args[0]) : "{\(ref(e.args[0])), \(n)'d0}"
        case .shiftRight(let n):
            let a = e.args[0]
            if n == 0 { return ref(a) }
            if n >= a.width { return a.isSigned ? bits(a, a.width - 1, a.width - 1) : "1'd0" }
            return bits(a, a.width - 1, n)
        case .memoryRead(let mem):
            let mn = net.memoryNames[mem]!
            readMemories.insert(mn)
            return "\(mn)[\(ref(e.args[0]))]"
        case .const, .signal, .instanceOutput, .memorySyncRead, .reinterpret:
            return ref(e)
        }
    }

    // MARK: Module text

    private static func range(_ width: Int) -> String { width == 1 ? "" : "[\(width - 1):0] " }

    private func isUnread(_ name: String, width: Int) -> Bool {
        guard let r = readBits[name] else { return true }
        return r.contains(false)
    }

    private static func waived(_ line: String, _ unread: Bool) -> String {
        unread ? "  /* verilator lint_off UNUSED */\n\(line)\n  /* verilator lint_on UNUSED */" : line
    }

    mutating func render() -> String {
        let hasClock = design.hasClock(module), hasReset = design.hasReset(module)

        // Logic first, to learn which bits are read.
        var logic: [String] = []
        for t in net.temps {
            logic.append("  assign \(net.exprNames[ObjectIdentifier(t)]!) = \(operation(t));")
        }
        for a in module.assignments {
            let target = net.signalNames[a.target.signal!]!
            if net.inlinedRoots.contains(ObjectIdentifier(a.value)),
               net.exprNames[ObjectIdentifier(a.value)] == target {
                logic.append("  assign \(target) = \(operation(a.value));")
            } else {
                logic.append("  assign \(target) = \(ref(a.value));")
            }
        }
        var sequential: [String] = []
        for u in module.updates {
            let s = u.target.signal!
            let r = net.signalNames[s]!
            let value = ref(u.value)
            var text = "  always @(posedge clk)"
            var prefix = "\n    "
            if let rv = s.resetValue {
                text += "\(prefix)if (rst) \(r) <= \(Self.literal(rv));"
                prefix = "\n    else "
            }
            if let en = u.enable {
                text += "\(prefix)if (\(ref(en))) \(r) <= \(value);"
            } else {
                text += "\(prefix)\(r) <= \(value);"
            }
            sequential.append(text)
        }
        var memoryText: [String] = []
        for mem in module.memories {
            let mn = net.memoryNames[mem]!
            var lines = ["  reg \(Self.range(mem.width))\(mn) [0:\(mem.depth - 1)];  // \(mem.depth) x \(mem.width)\(mem.isSigned ? " signed" : ""), \(mem.loc.stable)"]
            if mem.readsNeverMeetWrite {
                lines.insert("  // No synchronous read meets a write of its word in one cycle (the generator proves it; checked below).\n  (* no_rw_check *)", at: 0)
            }
            if let initial = mem.initial {
                let file = "\(name)_\(mn).hex"
                images.append(EmittedDesign.File(name: file, contents: initial.map { $0.hex + "\n" }.joined()))
                lines.append("  initial $readmemh({`\(VerilogEmitter.memoryDirectoryMacro), \"/\(file)\"}, \(mn));")
            }
            if let wp = mem.writePort {
                lines.append("  always @(posedge clk)\n    if (\(ref(wp.enable))) \(mn)[\(ref(wp.address))] <= \(ref(wp.data));")
            }
            memoryText.append(lines.joined(separator: "\n"))
        }
        for r in module.syncReads {
            let rn = net.syncReadNames[ObjectIdentifier(r)]!
            let mn = net.memoryNames[r.memory]!
            readMemories.insert(mn)
            // A read enabled every cycle (the constant 1) is written without its `if`.
            let always = r.enable.constValue?.bit(0) == true
            sequential.append("  always @(posedge clk)\n    \(always ? "" : "if (\(ref(r.enable))) ")\(rn) <= \(mn)[\(ref(r.address))];")
            if r.memory.readsNeverMeetWrite, let wp = r.memory.writePort {
                sequential.append("""
                    `ifndef SYNTHESIS
                      always @(posedge clk)
                        if (\(ref(wp.enable)) && \(ref(r.enable)) && \(ref(wp.address)) == \(ref(r.address))) begin
                          $display("ERROR: \(name).\(mn): read (\(rn)) and written at address %0d in one cycle, which the generator promised never happens", \(ref(wp.address)));
                          $stop;
                        end
                    `endif
                    """)
            }
        }
        var instanceText: [String] = []
        for inst in module.instances {
            var conns: [String] = []
            if design.hasClock(inst.module) { conns.append(".clk(clk)") }
            if design.hasReset(inst.module) { conns.append(".rst(rst)") }
            for p in inst.module.ports {
                if p.kind == .input {
                    let c = inst.connections.first { $0.portName == p.name }!
                    conns.append(".\(p.name)(\(ref(c.value)))")
                } else {
                    conns.append(".\(p.name)(\(net.instanceOutputNames[.init(inst, p)]!))")
                }
            }
            instanceText.append("  \(design.verilogName(inst.module)) \(net.instanceNames[inst]!) (  // \(inst.loc.stable)\n    "
                + conns.joined(separator: ",\n    ") + "\n  );")
        }

        // Header.
        var out = "// Generated by QKForge. Do not edit: change the generator and regenerate.\n"
        out += "// Module \(name), built by \(module.loc.stable).\n"
        for line in module.doc.split(separator: "\n", omittingEmptySubsequences: false) where !module.doc.isEmpty {
            out += line.isEmpty ? "//\n" : "// \(line)\n"
        }
        if !module.parameters.isEmpty {
            out += "// Parameters: " + module.parameters.map { "\($0.name) = \($0.value)" }.joined(separator: ", ") + "\n"
        }
        if module.signals.contains(where: \.isSigned) || module.memories.contains(where: \.isSigned) {
            out += "// Nets marked 'signed' hold two's-complement values; they are declared unsigned and\n"
            out += "// signed operations are written with $signed().\n"
        }
        let macro = VerilogEmitter.memoryDirectoryMacro
        if documentImages && module === design.top {
            out += "//\n"
            out += "// Memory images: every $readmemh reads `\(macro)/<file>.hex`. \(macro) defaults to\n"
            out += memoryDirectory == "."
                ? "// \".\" (the simulator's working directory); point it at this folder from anywhere with\n"
                : "// \"\(memoryDirectory)\", the folder this design was written to; if it is moved, point it at the new place with\n"
            out += "//   for Icarus and Verilator: -D\(macro)='\"/path/to/folder\"' on the command line\n"
            out += "//   for Yosys:  read_verilog -D\(macro)=\"/path/to/folder\" ...\n"
            out += "//   for Vivado: set_property verilog_define {\(macro)=\"/path/to/folder\"} [current_fileset]\n"
            out += "// (or add the .hex files to the Vivado project). One \(macro) holds per compilation.\n"
        }
        if !images.isEmpty {
            out += "`ifndef \(macro)\n`define \(macro) \"\(memoryDirectory)\"\n`endif\n"
        }
        out += "`default_nettype none\n"

        // Ports: (declaration, comment, waived for unread bits).
        var ports: [(decl: String, comment: String, unread: Bool)] = []
        if hasClock { ports.append(("  input  wire clk", "", false)) }
        if hasReset { ports.append(("  input  wire rst", "", false)) }
        for p in module.ports {
            let n = net.signalNames[p]!
            let dir = p.kind == .input ? "input  wire" : "output wire"
            ports.append(("  \(dir) \(Self.range(p.width))\(n)", "  // \(p.isSigned ? "signed, " : "")\(p.loc.stable)",
                          p.kind == .input && isUnread(n, width: p.width)))
        }
        var portText = ""
        for (i, p) in ports.enumerated() {
            let line = p.decl + (i == ports.count - 1 ? "" : ",") + p.comment
            portText += Self.waived(line, p.unread) + "\n"
        }
        out += "module \(name) (\n\(portText));\n"

        // Declarations.
        var decls: [String] = []
        for s in module.signals where !s.isPort {
            let n = net.signalNames[s]!
            let kind = s.kind == .reg ? "reg " : "wire"
            let line = "  \(kind) \(Self.range(s.width))\(n);  // \(s.isSigned ? "signed, " : "")\(s.loc.stable)"
            decls.append(Self.waived(line, isUnread(n, width: s.width)))
        }
        for r in module.syncReads {
            let n = net.syncReadNames[ObjectIdentifier(r)]!
            let line = "  reg  \(Self.range(r.memory.width))\(n);  // \(r.memory.isSigned ? "signed, " : "")read of \(r.memory.name), \(r.loc.stable)"
            decls.append(Self.waived(line, isUnread(n, width: r.memory.width)))
        }
        for inst in module.instances {
            for p in inst.module.outputs {
                let n = net.instanceOutputNames[.init(inst, p)]!
                let line = "  wire \(Self.range(p.width))\(n);  // \(p.isSigned ? "signed, " : "")\(inst.name).\(p.name)"
                decls.append(Self.waived(line, isUnread(n, width: p.width)))
            }
        }
        for t in net.temps {
            let n = net.exprNames[ObjectIdentifier(t)]!
            let line = "  wire \(Self.range(t.width))\(n);  // \(t.isSigned ? "signed, " : "")\(net.exprLocs[ObjectIdentifier(t)]!.stable)"
            decls.append(Self.waived(line, isUnread(n, width: t.width)))
        }
        let memDecls = memoryText.enumerated().map { i, text -> String in
            let mn = net.memoryNames[module.memories[i]]!
            return readMemories.contains(mn) ? text
                : "  /* verilator lint_off UNUSED */\n\(text)\n  /* verilator lint_on UNUSED */"
        }
        for section in [decls, memDecls, logic, sequential, instanceText] where !section.isEmpty {
            out += "\n" + section.joined(separator: "\n") + "\n"
        }
        out += "endmodule\n`default_nettype wire\n"
        return out
    }
}
