import HDL

/// Parameters of the per-head split: events of `C` channels routed to the consumer of their
/// head, `c / d` with `d = C / heads` (docs/arithmetic.md §2).
public struct HeadSplitConfig: Hashable, Sendable {
    public var channels: Int
    public var heads: Int
    public var countWidth: Int
    /// Output channels are head-local (`c - head*d`, so a consumer of one head sees `0..<d`);
    /// otherwise the global channel passes through.
    public var localChannels: Bool

    public init(channels: Int, heads: Int, countWidth: Int = 1, localChannels: Bool = true) {
        self.channels = channels
        self.heads = heads
        self.countWidth = countWidth
        self.localChannels = localChannels
    }

    public var headChannels: Int { channels / max(heads, 1) }
    public var inputFormat: EventStreamFormat { EventStreamFormat(channels: channels, countWidth: countWidth) }
    public var outputFormat: EventStreamFormat {
        EventStreamFormat(channels: localChannels ? headChannels : channels, countWidth: countWidth)
    }

    public var moduleName: String {
        "event_head_split_c\(channels)_h\(heads)_w\(countWidth)\(localChannels ? "_local" : "_global")"
    }

    public func validate() throws {
        guard channels >= 1 else { throw BlockError("channels is \(channels); give at least 1 channel") }
        guard heads >= 1, heads <= 64 else {
            throw BlockError("heads is \(heads); choose 1...64 heads")
        }
        guard channels % heads == 0 else {
            throw BlockError("heads (\(heads)) does not divide channels (\(channels)); choose heads dividing the channel count")
        }
        guard (1...32).contains(countWidth) else {
            throw BlockError("countWidth is \(countWidth); choose 1...32 bits")
        }
    }
}

/// Per-head split of a one-event-per-beat stream: each event goes to `out<h>` for its head
/// only; every vector end reaches every head. Each head's output is a complete event stream:
/// `last` on that head's last event of the vector, or an empty beat (`event == 0`,
/// `last == 1`) when the vector had no event in that head.
///
/// Each head holds its latest event until the next event of that head or the vector end says
/// whether it was the last (`LastLookahead`), so an event leaves 2 cycles after the input
/// transfer at the earliest. An input beat transfers when every head it concerns can take it:
/// `in_ready` depends on the heads' registers and on the beat's own channel and `last`, never
/// on any `out<h>_ready`. Input events must have `channel < channels`.
public func makeHeadSplit(_ config: HeadSplitConfig) throws -> Module {
    try config.validate()
    let c = config.channels, h = config.heads, d = config.headChannels, wc = config.countWidth
    let inFmt = config.inputFormat, outFmt = config.outputFormat
    let wch = inFmt.channelWidth, wout = outFmt.channelWidth
    let m = Module(config.moduleName, doc: """
        Per-head split: \(c) channels, \(h) heads of \(d) channels; channel c goes to out<c / \(d)>.
        in: in_valid/in_ready, in_event, in_channel[\(wch - 1):0], in_count[\(wc - 1):0], in_last (one event per beat).
        out<h> (h = 0..\(h - 1)): out<h>_valid/out<h>_ready, out<h>_event, out<h>_channel[\(wout - 1):0] (\(config.localChannels ? "head-local" : "global")),
        out<h>_count, out<h>_last: last on the head's last event of the vector, or an empty beat for a head without events.
        Latency 2 cycles at the earliest (a held event waits for the next event of its head or the vector end).
        """)
    m.parameter("channels", c)
    m.parameter("heads", h)
    m.parameter("countWidth", wc)
    m.parameter("localChannels", config.localChannels)

    let input = m.inputStream("in", inFmt.layout)
    let inEvent = input.payload[0], inChannel = input.payload[1], inCount = input.payload[2], inLast = input.payload[3]
    let outReady = (0..<h).map { m.input("out\($0)_ready", width: 1) }

    // channel >= j*d for each head boundary.
    var atLeast: [Expr] = [.const(1, width: 1)]
    for j in 1..<max(h, 1) { atLeast.append(inChannel.ge(.const(j * d, width: wch))) }
    atLeast.append(.const(0, width: 1))

    let fields = outFmt.layout.fields
    var heads: [(LastLookahead, Expr, Expr)] = []
    var inReady: Expr = .const(1, width: 1)
    for j in 0..<h {
        let inHead = m.wire("in_head\(j)", atLeast[j] & ~atLeast[j + 1])
        let hasData = m.wire("head\(j)_has_data", inEvent & inHead)
        let concerned = hasData | inLast
        let lk = LastLookahead(m, "head\(j)", fields: fields)
        let r = lk.ready(hasData: hasData, end: inLast)
        inReady = inReady & (~concerned | r)
        heads.append((lk, hasData, concerned))
    }
    let inReadyWire = m.wire("in_ready_int", inReady)
    let fire = m.wire("in_fire", input.valid & inReadyWire)
    for (j, (lk, hasData, concerned)) in heads.enumerated() {
        let channel: Expr
        if config.localChannels {
            // c - j*d is in 0..<d for an event of head j: the narrowing loses nothing.
            channel = (inChannel -% .const(j * d, width: wch)).truncate(to: wout)
        } else {
            channel = inChannel
        }
        lk.drive(take: fire & concerned, hasData: hasData, end: inLast,
                 payload: [.const(1, width: 1), m.wire("head\(j)_channel", channel), inCount],
                 downReady: outReady[j])
    }
    m.assign(input.ready, inReadyWire)
    for (j, (lk, _, _)) in heads.enumerated() {
        m.outputStream("out\(j)", outFmt.layout, valid: lk.out.downValid, payload: lk.out.downPayload)
    }
    return m
}
