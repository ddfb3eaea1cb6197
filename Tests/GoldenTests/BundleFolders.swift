import Foundation
import Description

/// Bundle folders (`tensors/KEY.npy`) written by one test, removed when the test's suite
/// instance goes away (Swift Testing makes one per test), so no run leaves folders in the
/// temporary directory.
final class BundleFolders {
    private let prefix: String
    private var made: [URL] = []

    init(prefix: String) { self.prefix = prefix }

    /// Writes `tensors` (keys as given; a nil value is an int64 scalar, a wrong dtype) into a
    /// fresh folder named after the test.
    func write(_ tensors: [String: ([Int], [Double]?)], name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(ProcessInfo.processInfo.processIdentifier)-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))")
        made.append(dir)
        let t = dir.appendingPathComponent("tensors")
        try FileManager.default.createDirectory(at: t, withIntermediateDirectories: true)
        for (key, (shape, values)) in tensors {
            let url = t.appendingPathComponent(key + ".npy")
            if let values { try NPYArray(shape: shape, scalars: values.map { Float($0) }).write(to: url) }
            else { try NPYArray(scalar: Int64(123)).write(to: url) }
        }
        return dir
    }

    deinit { for d in made { try? FileManager.default.removeItem(at: d) } }
}
