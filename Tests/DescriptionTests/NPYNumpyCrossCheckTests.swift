import Foundation
import Testing
@testable import Description

// NPYArray against real NumPy, in one python3 run: numpy loads every file we write (and
// np.save of what it loaded must give our bytes exactly), and we read files written by
// np.save and np.lib.format.write_array (versions 1.0, 2.0, 3.0, big-endian, bool, 0-d,
// zero-size) plus files we must reject (Fortran order, object, structured, float16, complex).
// python3 with numpy is required: without it this test fails with a message.

private let numpyScript = #"""
import io, json, os, sys
import numpy as np

d = sys.argv[1]
rng = np.random.default_rng(int(sys.argv[2]))
out = {"numpy": np.__version__, "checked": {}, "written": {}, "rejected": {}}

# 1. Files written by Swift: np.load must give the dtype, shape and bytes Swift meant, and
#    np.save of the loaded array must reproduce the file byte for byte.
with open(os.path.join(d, "swift.json")) as f:
    manifest = json.load(f)
for name, m in manifest.items():
    path = os.path.join(d, name + ".npy")
    try:
        a = np.load(path, allow_pickle=False)
        problems = []
        if a.dtype.str != m["descr"]:
            problems.append("dtype %s, expected %s" % (a.dtype.str, m["descr"]))
        if list(a.shape) != m["shape"]:
            problems.append("shape %r, expected %r" % (a.shape, m["shape"]))
        le = a.astype(a.dtype.newbyteorder("<"))
        if le.tobytes() != bytes.fromhex(m["hex"]):
            problems.append("values differ")
        buf = io.BytesIO()
        np.save(buf, a)
        with open(path, "rb") as f:
            if buf.getvalue() != f.read():
                problems.append("file bytes differ from np.save")
        out["checked"][name] = "; ".join(problems) or "OK"
    except Exception as e:
        out["checked"][name] = "np.load failed: %r" % (e,)

# 2. Files written by numpy, with the little-endian bytes Swift must read back.
def random_array(code, shape):
    dt = np.dtype(code)
    if dt.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, size=shape, dtype=dt.newbyteorder("="), endpoint=True).astype(dt)
    a = rng.standard_normal(size=shape) * 10.0 ** rng.integers(-5, 6, size=shape)
    a = a.astype(dt)
    flat = a.reshape(-1)
    specials = [np.nan, np.inf, -np.inf, -0.0, np.finfo(dt).max, np.finfo(dt).tiny]
    for i in range(min(len(flat), len(specials))):
        flat[i] = specials[i]
    return a

def add(name, a, version=None):
    path = os.path.join(d, "np_" + name + ".npy")
    if version is None:
        np.save(path, a)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    le = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<")))
    out["written"][name] = {"path": path, "descr": le.dtype.str, "shape": list(a.shape), "hex": le.tobytes().hex()}

codes = ["|b1", "|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f4", "<f8"]
shapes = [(), (5,), (2, 3), (2, 3, 4), (1, 2, 3, 2), (0,), (3, 0, 2)]
for code in codes:
    for shape in shapes:
        add("%s_%s" % (code[1:], "x".join(map(str, shape)) or "scalar"), random_array(code, shape))
for code in [">u2", ">i2", ">u4", ">i4", ">u8", ">i8", ">f4", ">f8"]:
    add("big_" + code[1:], random_array(code, (3, 4)))
    add("big_" + code[1:] + "_scalar", random_array(code, ()))
for version in [(1, 0), (2, 0), (3, 0)]:
    for code in ["|b1", "|u1", ">i4", "<f8"]:
        add("v%d_%s" % (version[0], code[1:]), random_array(code, (2, 5)), version)
add("spikes_TNC", rng.integers(0, 2, size=(4, 16, 8)).astype(np.uint8))
add("spikes_BTNC", rng.integers(0, 2, size=(2, 4, 16, 8)).astype(np.uint8))
add("weights", rng.standard_normal((96, 96, 1)).astype(np.float32))
add("sliced", np.arange(24, dtype=np.int16).reshape(4, 6)[:, ::2])   # np.save makes it contiguous

# 3. Files Swift must reject, with the kind of error.
def reject(name, kind, a):
    path = os.path.join(d, "bad_" + name + ".npy")
    np.save(path, a, allow_pickle=True)
    out["rejected"][name] = {"path": path, "kind": kind}

reject("fortran", "fortranOrder", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
reject("object", "dtype", np.array([1, "a", None], dtype=object))
reject("structured", "dtype", np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]))
reject("float16", "dtype", np.zeros(3, dtype=np.float16))
reject("complex", "dtype", np.zeros(3, dtype=np.complex128))
reject("unicode", "dtype", np.array(["ab", "c"]))
reject("datetime", "dtype", np.array(["2020-01-01"], dtype="datetime64[D]"))

json.dump(out, sys.stdout)
"""#

private struct Written: Codable { var path: String; var descr: String; var shape: [Int]; var hex: String }
private struct Rejected: Codable { var path: String; var kind: String }
private struct Reply: Codable {
    var numpy: String
    var checked: [String: String]
    var written: [String: Written]
    var rejected: [String: Rejected]
}

private struct Manifest: Codable { var descr: String; var shape: [Int]; var hex: String }

/// Runs the script; records an issue and returns nil when python3 or numpy is missing.
private func runNumpy(directory: URL, seed: UInt64) -> Reply? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", numpyScript, directory.path, String(seed % (1 << 63))]
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do { try process.run() } catch {
        Issue.record("cannot start python3 (needed for the NumPy cross-check; install python3 and numpy): \(error)")
        return nil
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        Issue.record("python3 with numpy is required for the NumPy cross-check, and the script failed (status \(process.terminationStatus)): \(stderr)")
        return nil
    }
    do {
        return try JSONDecoder().decode(Reply.self, from: stdout)
    } catch {
        Issue.record("cannot decode the NumPy script's reply: \(error); stderr: \(stderr)")
        return nil
    }
}

@Test func npyFilesAgreeWithNumpy() throws {
    let seed = try TestSeed.named("npyFilesAgreeWithNumpy")
    var rng = SplitMix64(seed: seed)
    let dir = try npyTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }

    // Our files, with random bytes (every float bit pattern) and through the typed initializers.
    var manifest: [String: Manifest] = [:]
    func save(_ name: String, _ array: NPYArray) throws {
        try array.write(to: dir.appendingPathComponent(name + ".npy"))
        manifest[name] = Manifest(descr: array.dtype.descr, shape: array.shape, hex: array.data.npyHex)
    }
    let shapes: [[Int]] = [[], [1], [6], [2, 3], [2, 3, 4], [1, 2, 3, 2], [0], [3, 0, 2], [2, 0]]
    for dtype in NPYDType.allCases {
        for (i, shape) in shapes.enumerated() {
            try save("\(dtype)_\(i)", randomNPYArray(dtype, shape, &rng))
        }
    }
    try save("typed_spikes", NPYArray(shape: [4, 8, 16], scalars: (0..<512).map { _ in UInt8(rng.next() & 1) }))
    try save("typed_ints", NPYArray(shape: [3], scalars: [Int.min, 0, Int.max]))
    try save("typed_floats", NPYArray(shape: [2, 2], scalars: [Float(0.1), -0.0, .infinity, .leastNonzeroMagnitude]))
    try save("typed_scalar", NPYArray(scalar: Int16(-7)))
    try save("long_first_axis", randomNPYArray(.uint8, [123_456_789_012, 0], &rng))
    // Zero-size arrays whose headers take every length across a 64-byte boundary, so that the
    // padding (and numpy's spare room for the first axis) must match np.save exactly.
    var power = 1
    for digits in 1...18 {
        for ones in 0...12 {
            try save("pad_\(digits)_\(ones)", NPYArray(shape: [0] + [Int](repeating: 1, count: ones) + [power], dtype: .int8, data: Data()))
        }
        power *= 10
    }
    try JSONEncoder().encode(manifest).write(to: dir.appendingPathComponent("swift.json"))

    guard let reply = runNumpy(directory: dir, seed: seed) else { return }
    print("numpy \(reply.numpy): checked \(reply.checked.count) Swift files, wrote \(reply.written.count), \(reply.rejected.count) to reject")

    #expect(reply.checked.count == manifest.count && manifest.count > 300)
    for (name, verdict) in reply.checked.sorted(by: { $0.key < $1.key }) {
        #expect(verdict == "OK", "numpy on our \(name).npy: \(verdict)")
    }

    #expect(reply.written.count > 90)
    for (name, w) in reply.written.sorted(by: { $0.key < $1.key }) {
        do {
            let array = try NPYArray(contentsOfFile: w.path)
            #expect(array.dtype.descr == w.descr, "\(name)")
            #expect(array.shape == w.shape, "\(name)")
            #expect(array.data.npyHex == w.hex, "\(name): values differ")
            #expect(try NPYArray(npyData: array.npyData()) == array, "\(name)")
        } catch {
            Issue.record("reading numpy's \(name).npy: \(error)")
        }
    }

    #expect(reply.rejected.count == 7)
    for (name, r) in reply.rejected.sorted(by: { $0.key < $1.key }) {
        if let error = expectNPYError(NPYError.Kind(rawValue: r.kind) ?? .io, r.path, body: { try NPYArray(contentsOfFile: r.path) }) {
            print("rejects \(name): \(error)")
        }
    }
}
