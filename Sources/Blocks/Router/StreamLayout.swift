import HDL

/// One payload field of a valid/ready stream: port `<stream>_<name>`.
public struct StreamField: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let width: Int
    public let isSigned: Bool

    public init(_ name: String, width: Int, signed: Bool = false) {
        self.name = name
        self.width = width
        self.isSigned = signed
    }

    public var description: String { "\(name):\(isSigned ? "s" : "u")\(width)" }
}

/// The payload of a valid/ready stream (AXI4-Stream rules): its fields, and whether it carries
/// `<stream>_last` to mark the end of a vector. The handshake ports `<stream>_valid` and
/// `<stream>_ready` are implied.
///
/// The routing blocks (broadcast, merge) are generic over a layout, so they carry event beats,
/// currents or anything else unchanged.
public struct StreamLayout: Hashable, Sendable, CustomStringConvertible {
    public let fields: [StreamField]
    public let hasLast: Bool

    public init(fields: [StreamField], hasLast: Bool) {
        self.fields = fields
        self.hasLast = hasLast
    }

    /// Payload bits per beat, `last` included.
    public var payloadWidth: Int { fields.reduce(0) { $0 + $1.width } + (hasLast ? 1 : 0) }

    /// Fields plus `last` as a field, as registers hold them.
    var fieldsWithLast: [StreamField] { hasLast ? fields + [StreamField("last", width: 1)] : fields }

    public var description: String {
        (fields.map(\.description) + (hasLast ? ["last"] : [])).joined(separator: ",")
    }

    /// Checks names and widths; `what` names the parameter in the message.
    func validate(_ what: String) throws {
        var seen = Set<String>()
        for f in fields {
            guard f.width >= 1 else {
                throw BlockError("\(what): field '\(f.name)' has width \(f.width); give every field at least 1 bit")
            }
            guard !f.name.isEmpty, f.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
                  f.name.first!.isLetter else {
                throw BlockError("\(what): field name '\(f.name)' is not an identifier; use letters, digits and '_', starting with a letter")
            }
            guard !["valid", "ready", "last"].contains(f.name) else {
                throw BlockError("\(what): field name '\(f.name)' is reserved for the handshake; rename the field")
            }
            guard seen.insert(f.name).inserted else {
                throw BlockError("\(what): field '\(f.name)' appears twice; give each field its own name")
            }
        }
    }
}

/// The address-event stream of the spike router: beats of up to `slots` events
/// `(channel, count)`, packed from slot 0 upwards in ascending channel order, with `last` on the
/// final beat of each vector.
///
/// Fields: `event` (`slots` bits; bit e says slot e holds an event, and the set bits are always
/// contiguous from bit 0), then per slot `channel` and `count` (for one slot) or
/// `channel_<e>` and `count_<e>` (for several). A beat with `event == 0` and `last == 1` is an
/// empty vector: it carries no event but tells the consumer that the vector ended. A beat never
/// holds events of two vectors.
public struct EventStreamFormat: Hashable, Sendable, CustomStringConvertible {
    public let channelWidth: Int
    public let countWidth: Int
    public let slots: Int

    public init(channelWidth: Int, countWidth: Int, slots: Int = 1) {
        self.channelWidth = channelWidth
        self.countWidth = countWidth
        self.slots = slots
    }

    /// The format for `channels` channels (indices `0..<channels`).
    public init(channels: Int, countWidth: Int, slots: Int = 1) {
        self.init(channelWidth: Interval(0, max(channels - 1, 0)).unsignedWidth, countWidth: countWidth, slots: slots)
    }

    public func channelField(_ slot: Int) -> String { slots == 1 ? "channel" : "channel_\(slot)" }
    public func countField(_ slot: Int) -> String { slots == 1 ? "count" : "count_\(slot)" }

    public var layout: StreamLayout {
        var f = [StreamField("event", width: slots)]
        for e in 0..<slots {
            f.append(StreamField(channelField(e), width: channelWidth))
            f.append(StreamField(countField(e), width: countWidth))
        }
        return StreamLayout(fields: f, hasLast: true)
    }

    public var description: String { "\(slots) x (channel u\(channelWidth), count u\(countWidth)), event mask, last" }
}

/// The ports of one stream on a module, by role.
struct StreamPorts {
    let valid: Expr
    let ready: Expr
    /// Fields in layout order, `last` last when the layout has it.
    let payload: [Expr]
}

extension Module {
    /// Declares an input stream `<prefix>_valid`, `<prefix>_<field>`..., `<prefix>_last`, and its
    /// `<prefix>_ready` output, to be driven later.
    func inputStream(_ prefix: String, _ layout: StreamLayout) -> StreamPorts {
        let valid = input("\(prefix)_valid", width: 1)
        let payload = layout.fieldsWithLast.map { input("\(prefix)_\($0.name)", width: $0.width, signed: $0.isSigned) }
        let ready = output("\(prefix)_ready", width: 1)
        return StreamPorts(valid: valid, ready: ready, payload: payload)
    }

    /// Drives output stream `<prefix>_valid` and its payload ports (declare `<prefix>_ready`
    /// with `input` first: the logic that drives these needs it).
    func outputStream(_ prefix: String, _ layout: StreamLayout, valid: Expr, payload: [Expr]) {
        output("\(prefix)_valid", valid)
        for (f, v) in zip(layout.fieldsWithLast, payload) { output("\(prefix)_\(f.name)", v) }
    }
}

/// Short stable names for modules whose parameters do not fit in a name (weights, layouts).
enum ModuleNameHash {
    /// FNV-1a, 32 bits, as 8 hex digits: the same text always gives the same suffix.
    static func hash(_ text: String) -> String {
        var h: UInt32 = 0x811C_9DC5
        for b in text.utf8 {
            h ^= UInt32(b)
            h = h &* 0x0100_0193
        }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
