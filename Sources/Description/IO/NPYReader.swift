import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `.npy` format versions: 1.0 has a 2-byte header length; 2.0 a 4-byte one; 3.0 is 2.0 with
/// a UTF-8 header instead of Latin-1. (numpy's `numpy.lib.format`, NEP 1.)
enum NPYFormatVersion: UInt8, CaseIterable {
    case v1 = 1, v2 = 2, v3 = 3

    /// Bytes before the header: magic, two version bytes and the header length.
    var preambleSize: Int { self == .v1 ? 10 : 12 }
}

let npyMagic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]       // "\x93NUMPY"

extension NPYArray {
    /// numpy's `np.load` refuses longer headers by default, for the same reason: a header is
    /// a few hundred bytes, and anything much longer is damage or an attack.
    static let maxHeaderSize = 10_000

    /// Reads a `.npy` file; errors name the file.
    public init(contentsOf url: URL) throws {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw NPYError(.io, "no such file; check the path", path: path)
        }
        guard !isDirectory.boolValue else {
            throw NPYError(.io, "is a directory, not a .npy file", path: path)
        }
        // A device, a pipe or a socket is not a file to read to its end (/dev/zero never ends).
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            throw NPYError(.io, "is not a regular file (a device, a pipe or a socket); give a .npy file saved with np.save", path: path)
        }
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw NPYError(.io, "cannot read the file: \(error.localizedDescription)", path: path)
        }
        do {
            try self.init(npyData: bytes)
        } catch let e as NPYError {
            throw e.at(path)
        }
    }

    /// Reads a `.npy` file at `path`; errors name the file.
    public init(contentsOfFile path: String) throws {
        try self.init(contentsOf: URL(fileURLWithPath: path))
    }

    /// Decodes the bytes of a `.npy` file.
    public init(npyData bytes: Data) throws {
        let file = bytes.startIndex == 0 ? bytes : bytes.subdata(in: bytes.startIndex..<bytes.endIndex)
        let (header, offset) = try file.withUnsafeBytes { try Self.readHeader($0) }
        let found = file.count - offset
        guard found >= header.byteCount else {
            throw NPYError(.size, "truncated: expected \(header.byteCount) bytes of data for shape \(npyShapeText(header.shape)) of \(header.dtype), found \(found); the file was cut short, copy or save it again")
        }
        guard found == header.byteCount else {
            throw NPYError(.size, "data too long: expected \(header.byteCount) bytes of data for shape \(npyShapeText(header.shape)) of \(header.dtype), found \(found); the header does not match the data, save the file again with np.save")
        }
        var payload = file.subdata(in: offset..<file.count)
        if header.bigEndian { Self.swapBytes(&payload, itemSize: header.dtype.itemSize) }
        if header.dtype == .bool, let bad = payload.firstIndex(where: { $0 > 1 }) {
            throw NPYError(.data, "bool element \(bad) is the byte \(payload[bad]); a bool must be 0 or 1, the data is damaged")
        }
        self.init(validShape: header.shape, dtype: header.dtype, count: header.count, data: payload)
    }

    /// The checked header and the offset of the data.
    static func readHeader(_ raw: UnsafeRawBufferPointer) throws -> (NPYHeader, Int) {
        let prefix = Array(raw.prefix(npyMagic.count))
        guard prefix == Array(npyMagic.prefix(prefix.count)) else {
            if prefix.starts(with: [0x50, 0x4B]) {
                throw NPYError(.notNPY, "this is a zip archive (.npz?), not a .npy file; save each array with np.save, or extract them with np.load(path)[name]")
            }
            throw NPYError(.notNPY, "not a .npy file: it starts with \"\(npyQuoted(prefix))\" instead of \"\\x93NUMPY\"; save the array with np.save")
        }
        guard raw.count >= npyMagic.count + 2 else {
            throw NPYError(.notNPY, "truncated: the file is \(raw.count) bytes, too short for the .npy magic string and version; the file was cut short, copy or save it again")
        }
        let major = raw[6], minor = raw[7]
        guard minor == 0, let version = NPYFormatVersion(rawValue: major) else {
            throw NPYError(.version, "unsupported .npy format version \(major).\(minor); versions 1.0, 2.0 and 3.0 are supported, re-save with np.save")
        }
        guard raw.count >= version.preambleSize else {
            throw NPYError(.header, "truncated header: the file is \(raw.count) bytes, too short for the version \(major).0 header length; the file was cut short, copy or save it again")
        }
        let length = version == .v1
            ? Int(raw[8]) | Int(raw[9]) << 8
            : Int(raw[8]) | Int(raw[9]) << 8 | Int(raw[10]) << 16 | Int(raw[11]) << 24
        guard length <= maxHeaderSize else {
            throw NPYError(.header, "header is \(length) bytes, more than the \(maxHeaderSize)-byte limit (np.load has the same default); the file is damaged or not a plain numeric array")
        }
        let start = version.preambleSize
        guard raw.count - start >= length else {
            throw NPYError(.header, "truncated header: expected \(length) header bytes, found \(raw.count - start); the file was cut short, copy or save it again")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
        let text: [Unicode.Scalar]
        if version == .v3 {
            guard let s = String(bytes: headerBytes, encoding: .utf8) else {
                throw NPYError(.header, "the version 3.0 header is not valid UTF-8; the file is damaged, save it again with np.save")
            }
            text = Array(s.unicodeScalars)
        } else {
            text = headerBytes.map { Unicode.Scalar($0) }             // Latin-1
        }
        let literal = try PythonLiteralParser.parse(text, allowLongSuffix: version != .v3)
        return (try NPYHeader(literal), start + length)
    }

    /// Reverses the bytes of each `itemSize`-byte element.
    static func swapBytes(_ data: inout Data, itemSize: Int) {
        guard itemSize > 1 else { return }
        data.withUnsafeMutableBytes { raw in
            var base = 0
            while base + itemSize <= raw.count {
                var lo = base, hi = base + itemSize - 1
                while lo < hi {
                    raw.swapAt(lo, hi)
                    lo += 1
                    hi -= 1
                }
                base += itemSize
            }
        }
    }
}
