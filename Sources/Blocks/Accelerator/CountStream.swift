import HDL

/// The beat layout of a stream of count vectors between blocks (docs/formats.md): one vector
/// per (token, time step), tokens in order with the `T` time steps of a token innermost; a
/// vector is `beats = ceil(C / lanes)` beats of `lanes` counts of `countWidth` bits, channel
/// `beat*lanes + j` at `tdata[j*countWidth +: countWidth]`. `tlast` marks the last beat of a
/// vector, `tuser[1]` the first beat of a token, `tuser[0]` the first beat of a time step.
/// Slots past `C` in the last beat are ignored on an input and 0 on an output.
public struct CountStreamFormat: Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    /// Counts per beat (may exceed `channels`: one partial beat).
    public var lanes: Int
    public var countWidth: Int
    public var timeSteps: Int

    public init(channels: Int, lanes: Int, countWidth: Int, timeSteps: Int) {
        self.channels = channels
        self.lanes = lanes
        self.countWidth = countWidth
        self.timeSteps = timeSteps
    }

    /// Beats per vector.
    public var beats: Int { (channels + lanes - 1) / lanes }
    /// Bits of `tdata`.
    public var dataWidth: Int { lanes * countWidth }

    public var description: String {
        "\(channels) channels, \(beats) beat(s) of \(lanes) x \(countWidth)-bit counts, T = \(timeSteps)"
    }

    /// Whether a producer of format `self` can feed a consumer of format `other` beat for beat.
    public func check(feeds other: CountStreamFormat, _ producer: String, _ consumer: String) throws {
        guard self == other else {
            throw BlockError("\(producer) produces \(self) but \(consumer) takes \(other); give both the same lanes, count width and T")
        }
    }
}

/// A sticky error flag for an input stream of `beats` beats per vector and `T` time steps per
/// token: high once a transferred beat's `tlast` or `tuser` disagrees with the beat count.
/// `prefix` names its registers.
func streamProtocolCheck(_ m: Module, _ prefix: String, fire: Expr, last: Expr, user: Expr, beats: Int,
                         timeSteps T: Int) -> Expr {
    let tw = Memory.addressWidth(depth: T), bw = Memory.addressWidth(depth: beats)
    let beat = m.reg("\(prefix)_beat", width: bw, reset: 0)
    let step = m.reg("\(prefix)_step", width: tw, reset: 0)
    let lastBeat = m.wire("\(prefix)_last_beat", beat.eq(.const(beats - 1, width: bw)))
    let lastStep = step.eq(.const(T - 1, width: tw))
    m.next(beat, mux(lastBeat, .const(0, width: bw), beat +% .const(1, width: bw)), enable: fire)
    m.next(step, mux(lastStep, .const(0, width: tw), step +% .const(1, width: tw)), enable: fire & lastBeat)
    let firstBeat = beat.eq(.const(0, width: bw))
    let expectedUser = cat(firstBeat & step.eq(.const(0, width: tw)), firstBeat)
    let bad = m.wire("\(prefix)_protocol_bad", last.ne(lastBeat) | user.ne(expectedUser))
    let error = m.reg("\(prefix)_error", width: 1, reset: 0)
    m.next(error, error | (fire & bad))
    return error
}

/// The header text every block with count-stream ports shares: reset, unused slots and
/// undefined outputs (docs/formats.md). The emitter adds where the memory images are read from.
func streamBlockConventions(memories: Bool) -> String {
    """
    Reset: rst is active high and synchronous; hold it for at least 1 clock cycle with s_axis_tvalid low.
    It clears every valid, counter and LIF membrane held in registers; RAM-stored membranes are set by the
    first time step of each token, so they need no reset. Between reset and the first beat nothing comes out.
    Undefined: the count slots past the last channel in the last input beat are ignored; m_axis_tdata
    slots past the last channel are 0; m_axis_tdata is undefined while m_axis_tvalid is low.
    """
}
