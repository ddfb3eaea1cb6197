import Description
import Foundation
import Blocks

/// A design too large for this machine gets one line naming its size before anything is
/// allocated, instead of an allocation failure minutes later (docs/cli.md).
enum MemoryCheck {
    /// Bytes the generator and the golden model hold per weight (the weight in both models,
    /// the elaborated memory, its `$readmemh` text), measured at dim 256 and 512 and rounded up.
    static let bytesPerWeight = 96.0
    /// Bytes per spike of one sample (the tensor, the golden model's per-layer traces).
    static let bytesPerSpike = 64.0
    static let base = 256.0 * 1024 * 1024

    /// Memory this machine can give: MemAvailable from /proc/meminfo, else physical memory.
    static var available: Double {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = Double(line.split(separator: " ").dropFirst().first ?? "") {
            return kb * 1024
        }
        return Double(ProcessInfo.processInfo.physicalMemory)
    }

    static func gb(_ bytes: Double) -> String { String(format: bytes >= 1e10 ? "%.0f GB" : "%.1f GB", bytes / 1e9) }

    static func require(_ c: BlockConfig, samples: Int, source: String) throws {
        let weights = 3.0 * Double(c.dim) * Double(c.dim)
        let spikes = Double(c.timeSteps) * Double(c.tokens) * Double(c.dim) * Double(max(samples, 1))
        let need = base + weights * bytesPerWeight + spikes * bytesPerSpike
        let have = available
        guard need > have else { return }
        let what = weights * bytesPerWeight >= spikes * bytesPerSpike
            ? "dim \(c.dim) (3 weight matrices of \(c.dim) x \(c.dim))"
            : "\(samples) sample(s) of T x N x C = \(c.timeSteps) x \(c.tokens) x \(c.dim) spikes"
        throw Arguments.UsageError(description: "\(source): \(what) needs about \(gb(need)) of memory, more than the \(gb(have)) this machine has free; choose a smaller dim, fewer tokens or fewer samples")
    }
}
