import Foundation
import Testing
@testable import Description

// Helpers shared by the NPY*Tests files.

/// A `.npy` file assembled by hand: magic, version, a header length field (the true length
/// unless overridden), the header bytes as given (no padding added) and the data.
func npyRawFile(version: UInt8 = 1, minor: UInt8 = 0, header: [UInt8], data: [UInt8] = [],
                lengthField: Int? = nil) -> Data {
    var out = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, minor])
    let length = lengthField ?? header.count
    let width = version == 1 ? 2 : 4
    for k in 0..<width { out.append(UInt8(truncatingIfNeeded: length >> (8 * k))) }
    out.append(contentsOf: header)
    out.append(contentsOf: data)
    return out
}

func npyRawFile(version: UInt8 = 1, header: String, data: [UInt8] = []) -> Data {
    npyRawFile(version: version, header: Array(header.utf8), data: data)
}

/// The header numpy would write for `descr` and `shape`, unpadded (padding is optional).
func npyHeader(_ descr: String, _ shape: String, fortran: String = "False") -> String {
    "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }"
}

/// Expects `body` to throw an `NPYError` of `kind` whose one-line description contains every
/// one of `fragments`; returns the error.
@discardableResult
func expectNPYError(_ kind: NPYError.Kind, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation,
                    body: () throws -> Any) -> NPYError? {
    do {
        let value = try body()
        Issue.record("expected an NPYError (\(kind)), got \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as NPYError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        let oneLine = !error.description.contains { $0.isNewline }
        #expect(oneLine, "\(error)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.description.contains(fragment), "\(error.description) should contain \(fragment)",
                    sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("expected an NPYError (\(kind)), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// An array of `dtype` and `shape` with random bytes (bools 0 or 1; floats any bit pattern,
/// NaNs and infinities included).
func randomNPYArray(_ dtype: NPYDType, _ shape: [Int], _ rng: inout SplitMix64) throws -> NPYArray {
    let count = shape.reduce(1, *)
    var bytes = [UInt8](repeating: 0, count: count * dtype.itemSize)
    for i in bytes.indices {
        bytes[i] = dtype == .bool ? UInt8(rng.next() & 1) : UInt8(truncatingIfNeeded: rng.next())
    }
    return try NPYArray(shape: shape, dtype: dtype, data: Data(bytes))
}

/// A fresh empty directory under the system temporary directory.
func npyTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("qkforge-npy-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension Data {
    var npyHex: String { map { String(format: "%02x", $0) }.joined() }
}
