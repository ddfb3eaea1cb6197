import Foundation
import Testing
@testable import Description

// Files the reader must reject, each with one NPYError line that says what is wrong and how
// to fix it, and files it must accept although numpy's own writer would not make them.

private func read(_ file: Data) throws -> NPYArray { try NPYArray(npyData: file) }
private let f8x2x3 = npyHeader("<f8", "(2, 3)")

@Test func npyRejectsBadMagicAndVersion() {
    expectNPYError(.notNPY, "truncated", "0 bytes") { try read(Data()) }
    expectNPYError(.notNPY, "truncated", "4 bytes") { try read(Data([0x93, 0x4E, 0x55, 0x4D])) }
    expectNPYError(.notNPY, "truncated", "7 bytes") { try read(Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1])) }
    expectNPYError(.notNPY, "not a .npy file", "hello", "np.save") { try read(Data("hello world, this is text".utf8)) }
    expectNPYError(.notNPY, "not a .npy file", "\\x93NUMPZ") { try read(Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x5A, 1, 0, 0, 0])) }
    expectNPYError(.notNPY, "zip archive") { try read(Data([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0, 0, 0])) }
    expectNPYError(.version, "version 4.0", "1.0, 2.0 and 3.0") { try read(npyRawFile(version: 4, header: f8x2x3)) }
    expectNPYError(.version, "version 1.1") { try read(npyRawFile(version: 1, minor: 1, header: Array(f8x2x3.utf8))) }
    expectNPYError(.version, "version 0.0") { try read(npyRawFile(version: 0, header: f8x2x3)) }
}

@Test func npyRejectsTruncatedOrOversizedHeaders() {
    let good = npyRawFile(header: f8x2x3, data: [UInt8](repeating: 0, count: 48))
    expectNPYError(.header, "truncated header", "header length") { try read(good.prefix(9)) }
    expectNPYError(.header, "truncated header", "expected \(f8x2x3.utf8.count) header bytes, found 20") { try read(good.prefix(30)) }
    expectNPYError(.header, "truncated header") { try read(npyRawFile(version: 2, header: f8x2x3).prefix(11)) }
    expectNPYError(.header, "4294967295 bytes", "10000-byte limit") {
        try read(npyRawFile(version: 2, header: Array(f8x2x3.utf8), lengthField: 0xFFFF_FFFF))
    }
    // A header whose length field is too short cuts the dict.
    expectNPYError(.header, "unterminated string") {
        try read(npyRawFile(header: Array(f8x2x3.utf8), data: [UInt8](repeating: 0, count: 48), lengthField: 12))
    }
}

@Test func npyRejectsBadHeaderSyntax() {
    let cases: [(String, String)] = [
        ("{'descr': '<f8' 'fortran_order': False, 'shape': (2, 3), }", "expected ',' or '}' after the value of 'descr'"),
        ("{'descr' '<f8', 'fortran_order': False, 'shape': (2, 3), }", "expected ':' after key 'descr'"),
        ("{'descr': '<f8, 'fortran_order': False, 'shape': (2, 3), }", "expected ',' or '}'"),
        ("{'descr': '<f8', 'fortran_order': Fals, 'shape': (2, 3), }", "unexpected name 'Fals'"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2.0, 3), }", "'2.0' is not an integer literal"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (0x2, 3), }", "'0x2' is not an integer literal"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (02, 3), }", "leading zero"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,, 3), }", "unexpected character ','"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), } x", "unexpected text after the dict"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), ", "ends where a value was expected"),
        ("{'descr': '<f8\n', 'fortran_order': False, 'shape': (2, 3)}", "unterminated string"),
        ("{'descr': '<\\qf8', 'fortran_order': False, 'shape': (2, 3)}", "unsupported escape"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 1: 2}", "dict keys must be strings"),
        ("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}", "key 'descr' appears twice"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3L)}", "'3L' is not an integer literal"),   // version 3.0 only
        ("{'descr': '<f8', 'fortran_order': False, # comment\n 'shape': (2, 3)}", "unexpected character '#'"),
        (String(repeating: "(", count: 5000), "nest deeper than 16 levels"),
        ("", "ends where a value was expected"),
    ]
    for (header, fragment) in cases {
        let version: UInt8 = header.contains("3L") ? 3 : 1
        expectNPYError(.header, fragment, "np.save") { try read(npyRawFile(version: version, header: header, data: [UInt8](repeating: 0, count: 48))) }
    }
    // Version 3.0 headers are UTF-8: invalid UTF-8 is an error, not a crash.
    expectNPYError(.header, "not valid UTF-8") {
        try read(npyRawFile(version: 3, header: Array("{'descr': '".utf8) + [0xFF, 0xFE] + Array("'}".utf8)))
    }
}

@Test func npyRejectsBadHeaderFields() {
    let data = [UInt8](repeating: 0, count: 48)
    func file(_ header: String) -> Data { npyRawFile(header: header, data: data) }
    expectNPYError(.header, "header is a list") { try read(file("[1, 2]")) }
    expectNPYError(.header, "has no 'shape' key") { try read(file("{'descr': '<f8', 'fortran_order': False}")) }
    expectNPYError(.header, "has no 'descr' key") { try read(file("{'fortran_order': False, 'shape': (2, 3)}")) }
    expectNPYError(.header, "has no 'fortran_order' key") { try read(file("{'descr': '<f8', 'shape': (2, 3)}")) }
    expectNPYError(.header, "unknown key 'extra'") { try read(file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}")) }
    expectNPYError(.header, "fortran_order must be True or False, found 0") { try read(file(npyHeader("<f8", "(2, 3)", fortran: "0"))) }
    expectNPYError(.header, "descr must be a dtype string", "found an integer 8") {
        try read(file("{'descr': 8, 'fortran_order': False, 'shape': (2, 3)}"))
    }
    // The message the brief asks for, word for word.
    expectNPYError(.fortranOrder, "Fortran-order arrays are not supported; save with np.ascontiguousarray") {
        try read(file(npyHeader("<f8", "(2, 3)", fortran: "True")))
    }
}

@Test func npyRejectsUnsupportedDTypes() {
    let cases: [(String, String)] = [
        ("<f2", "(float16)"), ("<c16", "(complex)"), ("<c8", "(complex)"), ("<f16", "(extended-precision float)"),
        ("<U5", "(string)"), ("|S3", "(string)"), ("|V8", "(void/structured)"), ("<M8[ns]", "(datetime)"),
        ("<m8[s]", "(datetime)"), ("<i3", "(unknown)"), ("", "(unknown)"), ("<", "(unknown)"), ("float32", "(extended"),
    ]
    for (descr, fragment) in cases {
        expectNPYError(.dtype, "unsupported dtype '\(descr)'", fragment, "supported: bool, uint8") {
            try read(npyRawFile(header: npyHeader(descr, "(3,)")))
        }
    }
    expectNPYError(.dtype, "object arrays", "need pickle") { try read(npyRawFile(header: npyHeader("|O", "(3,)"))) }
    expectNPYError(.dtype, "structured dtypes") {
        try read(npyRawFile(header: "{'descr': [('a', '<i4'), ('b', '<f8')], 'fortran_order': False, 'shape': (3,), }"))
    }
    expectNPYError(.dtype, "does not say whether it is little- or big-endian", "'<i4'") { try read(npyRawFile(header: npyHeader("=i4", "(3,)"))) }
    expectNPYError(.dtype, "does not say", "'<f8'") { try read(npyRawFile(header: npyHeader("f8", "(3,)"))) }
    expectNPYError(.dtype, "byte order '|'") { try read(npyRawFile(header: npyHeader("|i4", "(3,)"))) }
    // Latin-1 bytes in the header are shown escaped, on one line.
    expectNPYError(.dtype, "'\\xe9\\x0a'") {
        try read(npyRawFile(header: Array("{'descr': '".utf8) + [0xE9, 0x5C, 0x6E] + Array("', 'fortran_order': False, 'shape': (3,)}".utf8)))
    }
}

@Test func npyRejectsBadShapes() {
    func file(_ shape: String, _ descr: String = "|u1", data: Int = 0) -> Data {
        npyRawFile(header: npyHeader(descr, shape), data: [UInt8](repeating: 0, count: data))
    }
    expectNPYError(.shape, "shape must be a tuple of integers, found a list [2, 3]") { try read(file("[2, 3]", data: 6)) }
    expectNPYError(.shape, "found an integer 6") { try read(file("(6)", data: 6)) }
    expectNPYError(.shape, "negative dimension") { try read(file("(2, -3)")) }
    expectNPYError(.shape, "a string 'a' where a dimension should be") { try read(file("(2, 'a')")) }
    expectNPYError(.shape, "larger than 9223372036854775807") { try read(file("(99999999999999999999999,)")) }
    expectNPYError(.shape, "(4611686018427387904, 4611686018427387904)", "more elements than a 64-bit count") {
        try read(file("(4611686018427387904, 4611686018427387904)"))
    }
    expectNPYError(.shape, "more elements") { try read(file("(4611686018427387904, 4611686018427387904, 0)")) }
    expectNPYError(.shape, "needs more bytes than a 64-bit size") { try read(file("(1152921504606846976,)", "<f8")) }
    expectNPYError(.shape, "65 dimensions") { try read(file("(" + String(repeating: "1, ", count: 65) + ")", data: 1)) }
    // Absurd but representable: the data check catches it, without allocating anything.
    expectNPYError(.size, "truncated: expected 4611686018427387904 bytes of data", "found 0") { try read(file("(4611686018427387904,)")) }
}

@Test func npyRejectsWrongDataSize() throws {
    let header = npyHeader("<f8", "(2, 3)")
    expectNPYError(.size, "truncated: expected 48 bytes of data for shape (2, 3) of float64, found 40") {
        try read(npyRawFile(header: header, data: [UInt8](repeating: 0, count: 40)))
    }
    expectNPYError(.size, "data too long: expected 48 bytes of data", "found 49") {
        try read(npyRawFile(header: header, data: [UInt8](repeating: 0, count: 49)))
    }
    expectNPYError(.size, "truncated: expected 1 bytes", "found 0") { try read(npyRawFile(header: npyHeader("|u1", "()"))) }
    expectNPYError(.data, "bool element 2 is the byte 7") { try read(npyRawFile(header: npyHeader("|b1", "(4,)"), data: [0, 1, 7, 1])) }

    // Errors from a file name it, at the front of the line.
    let dir = try npyTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("short.npy")
    try npyRawFile(header: header, data: [UInt8](repeating: 0, count: 40)).write(to: url)
    let error = expectNPYError(.size, body: { try NPYArray(contentsOf: url) })
    #expect(error?.path == url.path)
    #expect(error?.description.hasPrefix(url.path + ": truncated: expected 48 bytes of data") == true, "\(String(describing: error))")
}

@Test func npyAcceptsWhatNumpyAccepts() throws {
    let six = [UInt8](repeating: 0, count: 48)
    let expected = try NPYArray(shape: [2, 3], scalars: [Double](repeating: 0, count: 6))
    let headers = [
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}",                         // no trailing comma, no padding
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}",                         // any key order
        "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2, 3,), }",                // double quotes, trailing commas
        "  {  'descr' :'<f8' ,\n 'fortran_order':False,'shape':( 2 ,3 ) , }   \n",            // spacing and newlines
        "{'descr': u'<f8', 'fortran_order': False, 'shape': (2L, 3L), }" + String(repeating: " ", count: 40) + "\n",  // Python 2
        "{'descr': '<f8', 'fortran_order': False, 'shape': ((2), +3), }",                     // (2) is just 2
    ]
    for header in headers {
        #expect(try read(npyRawFile(header: header, data: six)) == expected, "\(header)")
    }
    // numpy before 1.14 aligned to 16 bytes rather than 64.
    var old = Array("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }".utf8)
    while (10 + old.count + 1) % 16 != 0 { old.append(0x20) }
    #expect(try read(npyRawFile(header: old + [0x0A], data: six)) == expected)
    // Single-byte types with any byte-order mark, or none.
    for descr in ["|u1", "<u1", ">u1", "u1"] {
        #expect(try read(npyRawFile(header: npyHeader(descr, "(2,)"), data: [5, 6])).asUInt8() == [5, 6])
    }
    // Big-endian data is swapped to little-endian.
    let big = try read(npyRawFile(header: npyHeader(">i4", "(2,)"), data: [0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE]))
    #expect(try big.asInt32() == [258, -2])
    #expect(big.data == Data([2, 1, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF]))
    // Zero-size arrays, with or without other large dimensions.
    #expect(try read(npyRawFile(header: npyHeader("<f8", "(0, 1000000000000)"))).count == 0)
    #expect(try read(npyRawFile(header: npyHeader("<f8", "(-0,)"))).shape == [0])
}
