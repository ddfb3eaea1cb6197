import HDL

/// Small pieces shared by the spiking blocks' generators.
enum SpikeStreamParts {
    /// `items[index]`, as a balanced tree of 2:1 muxes on the bits of `index`; indices past the
    /// end give `fallback`. All items and the fallback must have one shape.
    static func select(_ m: Module, _ name: String, index: Expr, items: [Expr], fallback: Expr) -> Expr {
        var level = items
        var bit = 0
        let slots = 1 << index.width
        while level.count < slots { level.append(fallback) }
        while level.count > 1 {
            var next: [Expr] = []
            for pair in stride(from: 0, to: level.count, by: 2) {
                let (lo, hi) = (level[pair], level[pair + 1])
                if lo === hi { next.append(lo); continue }
                next.append(mux(index.bit(bit), hi, lo))
            }
            level = next
            bit += 1
        }
        return m.wire(name, level[0])
    }

    /// `x` if `cond`, otherwise zero of the same shape.
    static func gate(_ cond: Expr, _ x: Expr) -> Expr {
        mux(cond, x, .const(0, width: x.width, signed: x.isSigned))
    }

    /// Bits needed to count `0..<n` (at least 1), the width of a group index or an address.
    static func indexWidth(_ n: Int) -> Int {
        var w = 1
        while (1 << w) < n { w += 1 }
        return w
    }

    /// Field `j` of a vector of equal fields, `width` bits each, lowest field at bit 0.
    static func field(_ v: Expr, _ j: Int, _ width: Int) -> Expr {
        v.slice(j * width + width - 1, j * width)
    }

    /// Packs fields, field 0 at bit 0.
    static func pack(_ fields: [Expr]) -> Expr {
        fields.count == 1 ? fields[0].asUnsigned() : cat(fields.reversed().map { $0.asUnsigned() })
    }

    /// A stable 32-bit fingerprint (FNV-1a) of a parameter description, for module names that
    /// differ whenever any parameter does.
    static func fingerprint(_ s: String) -> String { ModuleNameHash.hash(s) }

    /// Module name stems must be plain Verilog identifiers.
    static func checkName(_ name: String, field: String) throws {
        let ok = !name.isEmpty && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
            && !(name.utf8.first! >= 48 && name.utf8.first! <= 57)
        guard ok else {
            throw BlockError("\(field) = '\(name)': use lower-case letters, digits and '_', not starting with a digit")
        }
    }
}
