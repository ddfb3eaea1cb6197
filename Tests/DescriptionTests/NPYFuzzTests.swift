import Foundation
import Testing
@testable import Description

// Seeded random damage to valid .npy files: bit flips, truncations, insertions, deletions,
// splices, rewritten header-length fields, and headers rebuilt from pools of good and bad field
// values. The reader must return a consistent array or throw an NPYError; a trap would kill
// the test run (the seed is printed first, so `QKFORGE_SEED=<seed>` replays it).

private let fuzzCases = 25_000

/// A header field value as Python text, with what it means when it is valid.
private struct Field<Meaning> {
    let text: String
    let meaning: Meaning?
    init(_ text: String, _ meaning: Meaning? = nil) {
        self.text = text
        self.meaning = meaning
    }
}

private let descrPool: [Field<Int>] = {
    var pool = NPYDType.allCases.map { Field("'\($0.descr)'", $0.itemSize) }
    pool += [Field("'>i4'", 4), Field("'>f8'", 8), Field("'>u2'", 2), Field("'<u1'", 1), Field("'u1'", 1),
             Field("u'<f4'", 4), Field("\"<i2\"", 2), Field("'>b1'", 1)]
    pool += ["'<f2'", "'|O'", "'<c16'", "'<U3'", "''", "'<i3'", "'=i4'", "'|i8'", "'f8'", "[('a', '<i4')]", "8", "None",
             "'<f8", "'<f8' '<f8'", "'\\x'", "'<f8\\'", "b'<f8'", "('<f8',)", "{'a': 1}", "'<M8[ns]'"].map { Field($0) }
    return pool
}()

private let shapePool: [Field<[Int]>] = {
    var pool: [Field<[Int]>] = [
        Field("()", []), Field("(0,)", [0]), Field("(3,)", [3]), Field("(2, 3)", [2, 3]), Field("(1, 2, 3, 1)", [1, 2, 3, 1]),
        Field("(2, 0, 5)", [2, 0, 5]), Field("(2,3,)", [2, 3]), Field("(2L, 3L)", [2, 3]), Field("( 4 , )", [4]),
        Field("(0, 4611686018427387904)", [0, 4611686018427387904]), Field("((2), 2)", [2, 2]),
    ]
    pool += ["(-1,)", "(4611686018427387904, 4611686018427387904)", "(99999999999999999999,)", "[2, 3]", "(2.5,)",
             "(3)", "((2,),)", "('a',)", "(" + String(repeating: "1, ", count: 70) + ")", "(", "(,)", "(2 3)",
             "(1152921504606846976,)", "(9223372036854775807,)", "(-0,)", "(0x10,)", "(1e3,)", "(True,)",
             String(repeating: "(", count: 40) + String(repeating: ")", count: 40)].map { Field($0) }
    return pool
}()

private let fortranPool = ["True", "0", "None", "'False'", "false", "Fals"]
private let keyPool = ["descr", "fortran_order", "shape", "desc", "Shape", "extra", "", "descr "]

/// A header built from the pools; the data size it needs when every field is valid.
private func randomHeader(_ rng: inout SplitMix64) -> (String, Int?) {
    /// Mostly a valid value, so that the later checks are reached too.
    func pick<M>(_ pool: [Field<M>], _ rng: inout SplitMix64) -> Field<M> {
        let valid = Int.random(in: 0..<4, using: &rng) != 0
        return pool.filter { ($0.meaning != nil) == valid }.randomElement(using: &rng)!
    }
    let descr = pick(descrPool, &rng)
    let shape = pick(shapePool, &rng)
    let fortran = Int.random(in: 0..<6, using: &rng) == 0 ? fortranPool.randomElement(using: &rng)! : "False"
    var items = [("descr", descr.text), ("fortran_order", fortran), ("shape", shape.text)]
    switch Int.random(in: 0..<20, using: &rng) {
    case 0: items.remove(at: Int.random(in: 0..<3, using: &rng))
    case 1: items[Int.random(in: 0..<3, using: &rng)].0 = keyPool.randomElement(using: &rng)!
    case 2: items.append(items[Int.random(in: 0..<3, using: &rng)])
    case 3: items.append((keyPool.randomElement(using: &rng)!, "1"))
    default: break
    }
    items.shuffle(using: &rng)
    let quote = Int.random(in: 0..<8, using: &rng) == 0 ? "\"" : "'"
    let separator = [", ", ",", " , ", ",\n "].randomElement(using: &rng)!
    var text = "{" + items.map { "\(quote)\($0.0)\(quote): \($0.1)" }.joined(separator: separator)
    text += [", }", "}", ",}", " }"].randomElement(using: &rng)!
    text += String(repeating: " ", count: Int.random(in: 0..<40, using: &rng)) + (Bool.random(using: &rng) ? "\n" : "")
    var size: Int?
    if let itemSize = descr.meaning, let dims = shape.meaning, fortran == "False", items.count == 3,
       Set(items.map(\.0)) == ["descr", "fortran_order", "shape"] {
        size = (try? NPYHeader.sizes(of: dims, dtype: itemSize == 1 ? .uint8 : itemSize == 2 ? .uint16 : itemSize == 4 ? .uint32 : .uint64))?.bytes
    }
    return (text, size)
}

/// Valid files to damage: every dtype in a few shapes and all three versions.
private func baseFiles(_ rng: inout SplitMix64) throws -> [Data] {
    var files: [Data] = []
    let shapes: [[Int]] = [[], [3], [2, 3], [2, 1, 2, 2], [0], [2, 0]]
    for dtype in NPYDType.allCases {
        for shape in shapes {
            let array = try randomNPYArray(dtype, shape, &rng)
            files.append(array.npyData(version: NPYFormatVersion.allCases.randomElement(using: &rng)!))
        }
    }
    files.append(npyRawFile(header: npyHeader(">i4", "(2,)"), data: [0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE]))
    files.append(npyRawFile(header: npyHeader("|b1", "(2, 2)"), data: [0, 1, 1, 0]))
    return files
}

private func randomBytes(_ n: Int, _ rng: inout SplitMix64) -> [UInt8] {
    let alphabet = Array("{}()[]',: 0123456789-LTrueFalsNonedscrhpfot_<>|\n\"\\".utf8)
    return (0..<n).map { _ in
        Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8(truncatingIfNeeded: rng.next())
    }
}

/// One damaged file.
private func mutate(_ bases: [Data], _ rng: inout SplitMix64) -> Data {
    var file = [UInt8](bases.randomElement(using: &rng)!)
    /// A position biased towards the preamble and header, where the parsing is.
    func position(_ count: Int, _ rng: inout SplitMix64) -> Int {
        guard count > 0 else { return 0 }
        return Int.random(in: 0..<(Bool.random(using: &rng) ? min(count, 140) : count), using: &rng)
    }
    switch Int.random(in: 0..<10, using: &rng) {
    case 0:                                                        // bit flips
        for _ in 0..<Int.random(in: 1...4, using: &rng) where !file.isEmpty {
            file[position(file.count, &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
        }
    case 1:                                                        // truncation
        file.removeLast(Int.random(in: 0...file.count, using: &rng))
    case 2:                                                        // insertion
        file.insert(contentsOf: randomBytes(Int.random(in: 1...8, using: &rng), &rng), at: position(file.count + 1, &rng))
    case 3:                                                        // deletion
        let at = position(file.count, &rng)
        file.removeSubrange(at..<min(file.count, at + Int.random(in: 1...8, using: &rng)))
    case 4:                                                        // splice two files
        let other = [UInt8](bases.randomElement(using: &rng)!)
        file = Array(file.prefix(Int.random(in: 0...file.count, using: &rng)))
            + other.suffix(Int.random(in: 0...other.count, using: &rng))
    case 5:                                                        // header length field
        if file.count >= 12 {
            let wide = file[6] != 1
            let old = Int(file[8]) | Int(file[9]) << 8 | (wide ? Int(file[10]) << 16 | Int(file[11]) << 24 : 0)
            let new = Bool.random(using: &rng) ? old + Int.random(in: -3...3, using: &rng) : Int(truncatingIfNeeded: rng.next())
            for k in 0..<(wide ? 4 : 2) { file[8 + k] = UInt8(truncatingIfNeeded: new >> (8 * k)) }
        }
    case 6:                                                        // version byte
        if file.count >= 8 { file[6 + Int.random(in: 0...1, using: &rng)] = UInt8.random(in: 0...4, using: &rng) }
    default:                                                       // header rebuilt from field pools (3 in 10)
        let (header, size) = randomHeader(&rng)
        let n: Int
        if let size, Int.random(in: 0..<4, using: &rng) != 0 {
            n = max(0, size + (Bool.random(using: &rng) ? 0 : Int.random(in: -2...2, using: &rng)))
        } else {
            n = Int.random(in: 0...64, using: &rng)
        }
        let version = UInt8.random(in: 1...3, using: &rng)
        var data = randomBytes(n, &rng)
        if header.contains("b1") { data = data.map { $0 & 1 } }
        file = [UInt8](npyRawFile(version: version, header: header, data: data))
        if Int.random(in: 0..<4, using: &rng) == 0, !file.isEmpty { file[position(file.count, &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng) }
    }
    return Data(file)
}

/// Nil when the outcome is acceptable, else what is wrong with it.
private func problem(reading file: Data) -> (String?, NPYError.Kind?) {
    do {
        let a = try NPYArray(npyData: file)
        var product = 1
        for d in a.shape {
            guard d >= 0 else { return ("negative dimension in \(a.shape)", nil) }
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow else { return ("shape \(a.shape) overflows", nil) }
            product = p
        }
        guard a.count == product else { return ("count \(a.count) is not the product of \(a.shape)", nil) }
        guard a.data.count == product * a.dtype.itemSize else {
            return ("\(a.data.count) data bytes for \(a.shape) of \(a.dtype)", nil)
        }
        if a.dtype == .bool, a.data.contains(where: { $0 > 1 }) { return ("bool byte other than 0 or 1", nil) }
        guard let again = try? NPYArray(npyData: a.npyData()), again == a else { return ("\(a) does not round-trip", nil) }
        _ = try? a.asDouble()
        _ = try? a.asInt64()
        _ = try? a.asBool()
        _ = try? a.asUInt8()
        return (nil, nil)
    } catch let e as NPYError {
        if e.message.isEmpty || e.description.contains(where: \.isNewline) { return ("bad error text: \(e)", e.kind) }
        return (nil, e.kind)
    } catch {
        return ("threw \(type(of: error)), not NPYError: \(error)", nil)
    }
}

@Test func npyReaderSurvivesFuzzing() throws {
    let seed = try TestSeed.named("npyReaderSurvivesFuzzing")
    var rng = SplitMix64(seed: seed)
    let bases = try baseFiles(&rng)
    var accepted = 0
    var rejected: [NPYError.Kind: Int] = [:]
    var failures = 0
    for index in 0..<fuzzCases {
        let file = mutate(bases, &rng)
        let (issue, kind) = problem(reading: file)
        if let issue {
            failures += 1
            if failures <= 5 {
                Issue.record("fuzz case \(index) (QKFORGE_SEED=\(seed)): \(issue); file \(file.prefix(200).npyHex)")
            }
        }
        if let kind { rejected[kind, default: 0] += 1 } else if issue == nil { accepted += 1 }
    }
    let summary = rejected.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }
    print("npy fuzz: \(fuzzCases) cases, \(accepted) accepted, rejected: \(summary.joined(separator: ", "))")
    #expect(failures == 0)
    // The mutations must reach both outcomes and every stage of the reader.
    #expect(accepted > fuzzCases / 25)
    for kind in [NPYError.Kind.notNPY, .version, .header, .dtype, .fortranOrder, .shape, .size] {
        #expect(rejected[kind, default: 0] > 20, "no fuzz case reached \(kind)")
    }
}
