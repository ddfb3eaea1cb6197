import Foundation

extension NPYArray {
    /// numpy aligns the data to 64 bytes (`ARRAY_ALIGN`), so that it can be memory-mapped.
    static let alignment = 64
    /// numpy leaves room in the header for the first dimension to grow to 21 digits, so that
    /// an appending writer can rewrite the header in place (`GROWTH_AXIS_MAX_DIGITS`).
    static let growthDigits = 21

    /// The bytes of a `.npy` file holding this array, exactly as `np.save` writes them:
    /// version 1.0 (2.0 only if the header needs more than 65535 bytes), little-endian,
    /// C order, the header padded with spaces to a multiple of 64 bytes and ending in a newline.
    public func npyData() -> Data {
        let header = headerText()
        let fitsV1 = Self.headerLength(header, version: .v1) <= Int(UInt16.max)
        return npyData(header: header, version: fitsV1 ? .v1 : .v2)
    }

    /// The same, in a chosen format version (for tests of the reader).
    func npyData(version: NPYFormatVersion) -> Data {
        npyData(header: headerText(), version: version)
    }

    /// The dict literal numpy writes, keys sorted, with its trailing `, ` and growth space.
    private func headerText() -> String {
        var text = "{'descr': '\(dtype.descr)', 'fortran_order': False, 'shape': \(npyShapeText(shape)), }"
        if let first = shape.first {
            text += String(repeating: " ", count: max(0, Self.growthDigits - String(first).count))
        }
        return text
    }

    /// The header length field: the text, the space padding and the final newline. As in
    /// numpy, a header that is already aligned still gets a whole block of padding.
    private static func headerLength(_ header: String, version: NPYFormatVersion) -> Int {
        let unpadded = version.preambleSize + header.utf8.count + 1
        return header.utf8.count + 1 + alignment - unpadded % alignment
    }

    private func npyData(header: String, version: NPYFormatVersion) -> Data {
        let headerBytes = Array(header.utf8)
        let length = Self.headerLength(header, version: version)
        let padding = length - headerBytes.count - 1
        var out = Data(capacity: version.preambleSize + length + data.count)
        out.append(contentsOf: npyMagic)
        out.append(contentsOf: [version.rawValue, 0])
        let lengthBytes = version == .v1 ? 2 : 4
        for k in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: length >> (8 * k))) }
        out.append(contentsOf: headerBytes)
        out.append(contentsOf: [UInt8](repeating: 0x20, count: padding))
        out.append(0x0A)
        out.append(data)
        return out
    }

    /// Writes the array to `url` as a `.npy` file. The bytes go to a temporary file in the same
    /// directory that is then renamed into place, so `url` never holds a half-written file.
    public func write(to url: URL) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw NPYError(.io, "cannot write: the directory \(directory.path) does not exist; create it first", path: path)
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try npyData().write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw NPYError(.io, "cannot write: \(error.localizedDescription)", path: path)
        }
        guard rename(temporary.path, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw NPYError(.io, "cannot write: \(reason)", path: path)
        }
    }

    /// Writes the array to the file at `path`.
    public func write(toFile path: String) throws {
        try write(to: URL(fileURLWithPath: path))
    }
}
