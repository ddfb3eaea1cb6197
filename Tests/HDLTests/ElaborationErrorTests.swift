import Testing
@testable import HDL

/// Every elaboration error: the message names the problem and the Swift line that caused it.
@Suite struct ElaborationErrorTests {
    /// Elaborates `m`, expecting failure; returns the diagnostics.
    func failures(_ m: Module) -> [Diagnostic] {
        do {
            _ = try Elaborate.run(m)
            Issue.record("elaboration of '\(m.name)' should have failed")
            return []
        } catch let e as ElaborationError {
            return e.diagnostics
        } catch {
            Issue.record("unexpected error \(error)")
            return []
        }
    }

    func expectOne(_ m: Module, _ fragments: [String], line: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let d = failures(m)
        #expect(d.count == 1, "diagnostics: \(d)", sourceLocation: sourceLocation)
        guard let first = d.first else { return }
        for f in fragments {
            #expect(first.message.contains(f), "'\(first.message)' lacks '\(f)'", sourceLocation: sourceLocation)
        }
        #expect(first.loc.fileID == "HDLTests/ElaborationErrorTests.swift", sourceLocation: sourceLocation)
        #expect(first.loc.line == line, "reported at \(first.loc)", sourceLocation: sourceLocation)
        #expect(first.description.hasPrefix("HDLTests/ElaborationErrorTests.swift:\(line): error: "), sourceLocation: sourceLocation)
    }

    @Test func widthMismatchNamesBothSides() {
        let m = Module("bad_width")
        let a = m.input("a", width: 8)
        let y = m.output("y", width: 8)
        m.assign(y, a +& a)  // 9 bits into 8
        expectOne(m, ["width mismatch", "'y' is 8 bits", "ElaborationErrorTests.swift:\(#line - 2)", "9-bit"], line: #line - 1)
    }

    @Test func registerWidthMismatch() {
        let m = Module("bad_reg")
        let r = m.reg("r", width: 4)
        m.next(r, r +& r)
        m.output("q", r)
        expectOne(m, ["register 'r' is 4 bits", "next value is 5 bits"], line: #line - 2)
    }

    @Test func instancePortWidthMismatch() {
        let child = Module("child")
        child.output("y", child.input("x", width: 4))
        let m = Module("parent")
        let u = m.instance(child, "u")
        u.connect("x", m.input("a", width: 5))
        m.output("y", u.output("y"))
        expectOne(m, ["port 'x' of instance 'u' is 4 bits", "5-bit"], line: #line - 2)
    }

    @Test func combinationalLoopListsTheLoop() {
        let m = Module("loop")
        let a = m.wire("a", width: 4)
        let b = m.wire("b", width: 4)
        m.assign(a, b +% .const(1, width: 4))
        m.assign(b, a)
        m.output("y", a)
        let d = failures(m)
        #expect(d.count == 1)
        let msg = d.first?.message ?? ""
        #expect(msg.contains("combinational loop"))
        #expect(msg.contains("'a'") && msg.contains("'b'"), "\(msg)")
        #expect(msg.contains("ElaborationErrorTests.swift:\(#line - 10)"), "\(msg)")
    }

    @Test func loopThroughAnInstanceIsFound() {
        let child = Module("passthrough")
        child.output("y", child.input("x", width: 2))
        let m = Module("outer")
        let u = m.instance(child, "u")
        let w = m.wire("w", ~u.output("y"))
        u.connect("x", w)
        m.output("y", w)
        let msg = failures(m).first?.message ?? ""
        #expect(msg.contains("combinational loop") && msg.contains("u.y") && msg.contains("'w'"), "\(msg)")
    }

    @Test func registerBreaksALoop() throws {
        let m = Module("no_loop")
        let r = m.reg("r", width: 4, reset: 0)
        let w = m.wire("w", r +% .const(1, width: 4))
        m.next(r, w)
        m.output("y", w)
        _ = try Elaborate.run(m)
    }

    @Test func undrivenOutput() {
        let m = Module("undriven")
        m.output("y", width: 3)
        expectOne(m, ["output 'y'", "never driven"], line: #line - 1)
    }

    @Test func undrivenWireAndRegister() {
        let m = Module("undriven2")
        let w = m.wire("w", width: 3)
        let r = m.reg("r", width: 3)
        m.output("y", w ^ r)
        let d = failures(m)
        #expect(d.map(\.loc.line) == [#line - 4, #line - 3])
        #expect(d.first?.message.contains("wire 'w'") == true)
        #expect(d.last?.message.contains("register 'r'") == true && d.last?.message.contains("next") == true)
    }

    @Test func doublyDrivenWire() {
        let m = Module("double")
        let a = m.input("a", width: 1)
        let y = m.output("y", width: 1)
        m.assign(y, a)
        m.assign(y, ~a)
        expectOne(m, ["driven twice", "ElaborationErrorTests.swift:\(#line - 2)"], line: #line - 1)
    }

    @Test func unconnectedInstanceInput() {
        let child = Module("child2")
        child.output("y", child.input("x", width: 2) & child.input("z", width: 2))
        let m = Module("parent2")
        let u = m.instance(child, "u_c")
        u.connect("x", m.input("a", width: 2))
        m.output("y", u.output("y"))
        expectOne(m, ["input 'z' of instance 'u_c'", "unconnected"], line: #line - 3)
    }

    @Test func duplicatePort() {
        let m = Module("dup")
        let a = m.input("a", width: 1)
        m.output("a", a)
        expectOne(m, ["duplicate port 'a'", "first declared at HDLTests/ElaborationErrorTests.swift:\(#line - 2)"], line: #line - 1)
    }

    @Test func reservedAndIllegalPortNames() {
        let m = Module("names")
        m.output("y", m.input("clk", width: 1))
        let m2 = Module("names2")
        m2.output("module", m2.input("a", width: 1))
        expectOne(m, ["reserved"], line: #line - 3)
        expectOne(m2, ["not a legal Verilog identifier"], line: #line - 2)
    }

    @Test func mixedSignednessIsReportedAtItsStatement() {
        let m = Module("mixed")
        let a = m.input("a", width: 4, signed: true)
        let b = m.input("b", width: 4)
        m.output("y", a.add(b))
        expectOne(m, ["mixes 4-bit signed", "4-bit unsigned", "asSigned()"], line: #line - 1)
    }

    @Test func operatorNodeIsAttributedToItsStatement() {
        let m = Module("mixed_op")
        let a = m.input("a", width: 4, signed: true)
        let b = m.input("b", width: 4)
        let y = m.output("y", width: 5, signed: true)
        m.assign(y, a +& b)
        expectOne(m, ["mixes"], line: #line - 1)
    }

    @Test func sliceOutOfRange() {
        let m = Module("slice")
        let a = m.input("a", width: 4)
        m.output("y", a.slice(4, 1))
        expectOne(m, ["slice [4:1] is out of range", "4-bit unsigned"], line: #line - 1)
    }

    @Test func constantThatDoesNotFit() {
        let m = Module("const")
        m.output("y", Expr.const(300, width: 8))
        expectOne(m, ["constant 300 does not fit 8 unsigned bits"], line: #line - 1)
    }

    @Test func narrowingExtendAndWideningTruncate() {
        let m = Module("ext")
        let a = m.input("a", width: 8)
        m.output("y", a.extend(to: 4))
        m.output("z", a.truncate(to: 9))
        let d = failures(m)
        #expect(d.map(\.loc.line) == [#line - 3, #line - 2])
        #expect(d.first?.message.contains("would narrow") == true)
    }

    @Test func signalOfAnotherModule() {
        let other = Module("other")
        let x = other.input("x", width: 1)
        other.output("y", x)
        let m = Module("thief")
        m.output("y", x)
        expectOne(m, ["signal 'x' of module 'other'", "through a port"], line: #line - 1)
    }

    @Test func recursiveInstantiation() {
        let m = Module("selfish")
        m.output("y", m.input("a", width: 1))
        _ = m.instance(m, "u_self")
        expectOne(m, ["instantiates itself"], line: #line - 1)
    }

    @Test func memoryAddressWidth() {
        let m = Module("mem")
        let rom = m.memory("rom", width: 4, depth: 10, initial: (0..<10).map { Bits(width: 4, truncating: $0) })
        m.output("q", m.read(rom, m.input("addr", width: 3)))
        expectOne(m, ["address of memory 'rom' (depth 10) must be 4-bit unsigned"], line: #line - 1)
    }

    @Test func assignToRegisterOrInput() {
        let m = Module("targets")
        let a = m.input("a", width: 1)
        let r = m.reg("r", width: 1)
        m.assign(r, a)
        m.output("y", r)
        let d = failures(m)
        #expect(d.contains { $0.message.contains("assign target must be a wire or an output") && $0.loc.line == #line - 3 })
    }

    @Test func allProblemsAreReportedTogether() {
        let m = Module("many")
        let a = m.input("a", width: 8)
        m.output("y", width: 8)
        m.output("z", a.slice(9, 0))
        m.output("w", Expr.const(-1, width: 3))
        #expect(failures(m).count == 2)  // the first pass with problems reports all of its own
    }
}
