import Foundation
import Testing
@testable import Description

// Swift-only tests of NPYArray: writing and reading back every dtype and shape, the exact
// bytes np.save writes, typed conversions, and the atomic file write.

private let roundTripShapes: [[Int]] = [[], [1], [7], [2, 3], [2, 3, 4, 5], [0], [3, 0, 2], [1, 1, 1, 1], [4, 5, 6]]

@Test(arguments: NPYDType.allCases)
func npyRoundTripsEveryShape(_ dtype: NPYDType) throws {
    var rng = SplitMix64(seed: 0x4E50_5900 ^ UInt64(dtype.itemSize * 31 + dtype.rawValue.count))
    for shape in roundTripShapes {
        let array = try randomNPYArray(dtype, shape, &rng)
        #expect(array.count == shape.reduce(1, *))
        #expect(array.data.count == array.count * dtype.itemSize)
        let file = array.npyData()
        #expect(try NPYArray(npyData: file) == array, "\(dtype) \(shape)")
        for version in NPYFormatVersion.allCases {
            #expect(try NPYArray(npyData: array.npyData(version: version)) == array, "\(dtype) \(shape) v\(version.rawValue)")
        }
        // Typed values back to an array of the same dtype give the same bytes.
        let again: NPYArray
        switch dtype {
        case .bool: again = try NPYArray(shape: shape, scalars: array.asBool())
        case .uint8: again = try NPYArray(shape: shape, scalars: array.asUInt8())
        case .int8: again = try NPYArray(shape: shape, scalars: array.asInt8())
        case .uint16: again = try NPYArray(shape: shape, scalars: array.asUInt16())
        case .int16: again = try NPYArray(shape: shape, scalars: array.asInt16())
        case .uint32: again = try NPYArray(shape: shape, scalars: array.asUInt32())
        case .int32: again = try NPYArray(shape: shape, scalars: array.asInt32())
        case .uint64: again = try NPYArray(shape: shape, scalars: array.asUInt64())
        case .int64: again = try NPYArray(shape: shape, scalars: array.asInt64())
        case .float32: again = try NPYArray(shape: shape, scalars: array.asFloat())
        case .float64: again = try NPYArray(shape: shape, scalars: array.asDouble())
        }
        #expect(again == array, "\(dtype) \(shape)")
        // The generic encoder (big-endian hosts) writes the same bytes as the fast path.
        var slow = Data()
        for e in array.elements { NPYArray.appendBytes(of: e, as: dtype, to: &slow) }
        if dtype.isFloatingPoint {
            // Widening a float32 NaN to Double may quiet it; compare the rest exactly.
            #expect(slow.count == array.data.count)
        } else {
            #expect(slow == array.data, "\(dtype) \(shape)")
        }
    }
}

@Test func npyWritesExactlyTheBytesNumpyWrites() throws {
    // np.save(f, np.zeros((2, 3))) with numpy 2: a 118-byte header (10 + 118 = 128).
    let array = try NPYArray(shape: [2, 3], scalars: [Double](repeating: 0, count: 6))
    let file = array.npyData()
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
    var expected = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 118, 0])
    expected.append(contentsOf: Array(header.utf8))
    expected.append(contentsOf: [UInt8](repeating: 0x20, count: 128 - 10 - header.utf8.count - 1))
    expected.append(0x0A)
    expected.append(Data(count: 48))
    #expect(file == expected)

    var rng = SplitMix64(seed: 7)
    for shape in roundTripShapes {
        for dtype in NPYDType.allCases {
            let bytes = try randomNPYArray(dtype, shape, &rng).npyData()
            let length = Int(bytes[8]) | Int(bytes[9]) << 8
            #expect(bytes[6] == 1 && bytes[7] == 0)
            #expect((10 + length) % 64 == 0, "\(dtype) \(shape): data must start on a 64-byte boundary")
            #expect(bytes[10 + length - 1] == 0x0A, "the header ends in a newline")
        }
    }
}

@Test func npyScalarAndTypedInitializers() throws {
    let zeroD = NPYArray(scalar: 2.5)
    #expect(zeroD.shape == [] && zeroD.count == 1 && zeroD.dtype == .float64)
    #expect(try zeroD.asDouble() == [2.5])
    #expect(try NPYArray(npyData: zeroD.npyData()) == zeroD)

    let ints = try NPYArray(shape: [3], scalars: [1, -2, 3])
    #expect(ints.dtype == .int64)
    #expect(try ints.asInt() == [1, -2, 3])

    let spikes = try SpikeTensor([[[0, 1, 1], [1, 0, 0]], [[1, 1, 1], [0, 0, 0]]])
    let array = try NPYArray(spikes)
    #expect(array.dtype == .uint8 && array.shape == [2, 2, 3])
    #expect(try array.tensor(of: UInt8.self) == spikes)
    #expect(try array.tensor(of: Double.self).scalars == spikes.scalars.map(Double.init))

    expectNPYError(.size, "needs 6 elements, got 5") { try NPYArray(shape: [2, 3], scalars: [UInt8](repeating: 0, count: 5)) }
    expectNPYError(.shape, "negative") { try NPYArray(shape: [2, -3], scalars: [UInt8]()) }
    expectNPYError(.size, "needs 8 bytes of data, got 7") { try NPYArray(shape: [2], dtype: .int32, data: Data(count: 7)) }
    expectNPYError(.data, "bool element 1 is the byte 2") { try NPYArray(shape: [2], dtype: .bool, data: Data([1, 2])) }
    expectNPYError(.shape, "more elements than a 64-bit count") {
        try NPYArray(shape: [1 << 62, 1 << 62], dtype: .uint8, data: Data())
    }
}

@Test func npyConversionsAreExactOrThrow() throws {
    let floats = try NPYArray(shape: [2, 2], scalars: [Float(0), 1, 255, -0.0])
    #expect(try floats.asUInt8() == [0, 1, 255, 0])
    #expect(try floats.asInt64() == [0, 1, 255, 0])
    #expect(try floats.asDouble() == [0, 1, 255, 0])

    expectNPYError(.conversion, "element [1, 0]", "0.5", "UInt8") {
        try NPYArray(shape: [2, 2], scalars: [Float(1), 2, 0.5, 3]).asUInt8()
    }
    expectNPYError(.conversion, "256.0") { try NPYArray(shape: [1], scalars: [Float(256)]).asUInt8() }
    expectNPYError(.conversion, "nan") { try NPYArray(shape: [1], scalars: [Double.nan]).asInt64() }
    expectNPYError(.conversion, "inf") { try NPYArray(shape: [1], scalars: [Double.infinity]).asInt32() }
    expectNPYError(.conversion, "element [0]", "-1") { try NPYArray(shape: [1], scalars: [Int64(-1)]).asUInt8() }
    expectNPYError(.conversion, "18446744073709551615") { try NPYArray(shape: [1], scalars: [UInt64.max]).asInt64() }
    // 2^63 as a double is just out of Int64's range; -2^63 is in it.
    expectNPYError(.conversion) { try NPYArray(shape: [1], scalars: [9.223372036854775808e18]).asInt64() }
    #expect(try NPYArray(shape: [1], scalars: [-9.223372036854775808e18]).asInt64() == [Int64.min])
    // Integers become floats only when the float holds them exactly.
    #expect(try NPYArray(shape: [1], scalars: [Int64(1) << 53]).asDouble() == [9007199254740992])
    expectNPYError(.conversion, "9007199254740993") { try NPYArray(shape: [1], scalars: [(Int64(1) << 53) + 1]).asDouble() }
    expectNPYError(.conversion, "16777217") { try NPYArray(shape: [1], scalars: [Int32(16_777_217)]).asFloat() }
    expectNPYError(.conversion, "0.1") { try NPYArray(shape: [1], scalars: [0.1]).asFloat() }
    #expect(try NPYArray(shape: [2], scalars: [0.5, -3.0]).asFloat() == [0.5, -3])
    #expect(try NPYArray(shape: [1], scalars: [Double.nan]).asFloat()[0].isNaN)
    // Booleans: 0 and 1 only.
    #expect(try NPYArray(shape: [3], scalars: [true, false, true]).asInt64() == [1, 0, 1])
    #expect(try NPYArray(shape: [2], scalars: [UInt8(0), 1]).asBool() == [false, true])
    expectNPYError(.conversion, "element [2]", "2") { try NPYArray(shape: [3], scalars: [Int8(0), 1, 2]).asBool() }
    // Signed and unsigned narrowing.
    #expect(try NPYArray(shape: [2], scalars: [Int16(-128), 127]).asInt8() == [-128, 127])
    expectNPYError(.conversion, "-129") { try NPYArray(shape: [1], scalars: [Int16(-129)]).asInt8() }
    #expect(try NPYArray(shape: [1], scalars: [UInt32(65535)]).asUInt16() == [65535])
    #expect(try NPYArray(shape: [1], scalars: [Int8(-5)]).asInt16() == [-5])
    #expect(try NPYArray(shape: [0], scalars: [Double]()).asUInt8() == [])
}

@Test func npyWritesFilesAtomically() throws {
    let dir = try npyTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("x.npy")
    let a = try NPYArray(shape: [2, 2], scalars: [Int32(1), 2, 3, 4])
    try a.write(to: url)
    #expect(try NPYArray(contentsOf: url) == a)
    let b = try NPYArray(shape: [3], scalars: [UInt8(9), 8, 7])
    try b.write(toFile: url.path)                                     // replaces the old file
    #expect(try NPYArray(contentsOfFile: url.path) == b)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.npy"], "no temporary file is left")

    let missing = dir.appendingPathComponent("no/such/dir/y.npy")
    expectNPYError(.io, missing.path, "does not exist") { try a.write(to: missing) }

    // A directory in the way: the rename fails, nothing is left behind.
    let blocked = dir.appendingPathComponent("blocked.npy")
    try FileManager.default.createDirectory(at: blocked.appendingPathComponent("inside"), withIntermediateDirectories: true)
    expectNPYError(.io, blocked.path) { try a.write(to: blocked) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["blocked.npy", "x.npy"])

    expectNPYError(.io, "no such file") { try NPYArray(contentsOf: dir.appendingPathComponent("absent.npy")) }
    expectNPYError(.io, "is a directory") { try NPYArray(contentsOf: blocked) }
}
