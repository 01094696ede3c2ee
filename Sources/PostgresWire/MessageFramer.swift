/// Splits a stream of regular messages (1-byte type, 4-byte length, payload) into bytes to
/// forward untouched and whole messages that the proxy wants to look at.
///
/// A relay mostly forwards: DataRow and CopyData stream through as slices of the input
/// without being buffered, whatever their declared length, so memory per connection stays
/// bounded by the read size. Only message types in `inspected` are assembled whole, and only
/// up to `maxInspectedLength`: the framer never allocates from a length it has not bounded.
/// Framing follows `PostgresBackendMessageDecoder` in postgres-nio: header first, then a
/// payload of exactly the declared length; a short read means "wait for more".
public struct MessageFramer: Sendable {
    public enum Event {
        /// Bytes to pass on as they are: any mix of whole and partial messages.
        case forward(ArraySlice<UInt8>)
        /// A whole inspected message. `frame` is the message as it arrived (type, length,
        /// payload), so forwarding it unchanged needs no re-framing copy.
        case message(id: UInt8, frame: ArraySlice<UInt8>)
    }

    /// The set of message types assembled whole.
    public var inspected: MessageTypeSet
    public var maxInspectedLength: Int

    private var partialHeader: [UInt8] = []
    private var forwardRemaining = 0
    /// An inspected message split across reads: its bytes so far (header included) and the
    /// whole frame's length.
    private var collecting: (id: UInt8, frame: [UInt8], total: Int)?

    public init(inspected: MessageTypeSet, maxInspectedLength: Int = 16 << 20) {
        self.inspected = inspected
        self.maxInspectedLength = maxInspectedLength
    }

    /// True between messages: nothing half-read is held. Lets the caller know a message it
    /// injects (or a session it closes) lands on a message boundary.
    public var isAtMessageBoundary: Bool {
        partialHeader.isEmpty && forwardRemaining == 0 && collecting == nil
    }

    /// Frames `input`, calling `sink` in stream order. Returns the violation that stopped
    /// framing, if any; the stream is unusable after that.
    public mutating func feed(_ input: ArraySlice<UInt8>, _ sink: (Event) -> Void) -> ProtocolViolation? {
        var i = input.startIndex
        let end = input.endIndex
        var runStart = i

        func flushRun(upTo stop: Int) {
            if stop > runStart { sink(.forward(input[runStart..<stop])) }
        }

        while i < end {
            if forwardRemaining > 0 {
                let n = min(forwardRemaining, end - i)
                i += n
                forwardRemaining -= n
                continue
            }
            if var pending = collecting {
                // Release the stored copy first so `pending.payload` is uniquely referenced and
                // grows in place; otherwise every read would copy the whole partial payload,
                // and a client trickling a large message would cost quadratic time.
                collecting = nil
                let n = min(pending.total - pending.frame.count, end - i)
                pending.frame.append(contentsOf: input[i..<(i + n)])
                i += n
                runStart = i
                if pending.frame.count == pending.total {
                    sink(.message(id: pending.id, frame: pending.frame[...]))
                } else {
                    collecting = pending
                }
                continue
            }
            if partialHeader.isEmpty && end - i >= 5 {
                let id = input[i]
                let length = Self.length(input[(i + 1)..<(i + 5)])
                if let violation = check(id: id, length: length) {
                    // The whole messages before the bad header go out as they would have had
                    // the read ended just before it: the result must not depend on the split.
                    flushRun(upTo: i)
                    return violation
                }
                let bodyLength = Int(length) - 4
                if inspected.contains(id) {
                    flushRun(upTo: i)
                    if end - i >= 5 + bodyLength {
                        // Whole message in this read: hand out a slice, no copy.
                        sink(.message(id: id, frame: input[i..<(i + 5 + bodyLength)]))
                        i += 5 + bodyLength
                    } else {
                        startCollecting(header: input[i..<(i + 5)], bodyLength: bodyLength)
                        i += 5
                    }
                    runStart = i
                } else {
                    i += 5
                    forwardRemaining = bodyLength
                }
                continue
            }
            // A header split across reads: hold its bytes until the length is known.
            flushRun(upTo: i)
            let n = min(5 - partialHeader.count, end - i)
            partialHeader.append(contentsOf: input[i..<(i + n)])
            i += n
            runStart = i
            guard partialHeader.count == 5 else { continue }
            let header = partialHeader
            partialHeader = []
            let id = header[0]
            let length = Self.length(header[1..<5])
            if let violation = check(id: id, length: length) { return violation }
            let bodyLength = Int(length) - 4
            if inspected.contains(id) {
                if bodyLength == 0 {
                    sink(.message(id: id, frame: header[...]))
                } else {
                    startCollecting(header: header[...], bodyLength: bodyLength)
                }
            } else {
                sink(.forward(header[...]))
                forwardRemaining = bodyLength
            }
        }
        flushRun(upTo: end)
        return nil
    }

    private mutating func startCollecting(header: ArraySlice<UInt8>, bodyLength: Int) {
        var frame: [UInt8] = []
        frame.reserveCapacity(5 + min(bodyLength, 1 << 16))
        frame.append(contentsOf: header)
        collecting = (header[header.startIndex], frame, 5 + bodyLength)
    }

    private func check(id: UInt8, length: Int32) -> ProtocolViolation? {
        if length < 4 {
            return ProtocolViolation("invalid message length \(length) for message type '\(Self.printable(id))'")
        }
        if inspected.contains(id) && Int(length) - 4 > maxInspectedLength {
            return ProtocolViolation(
                sqlState: .programLimitExceeded,
                "message type '\(Self.printable(id))' of \(length) bytes exceeds the proxy's limit of \(maxInspectedLength) bytes")
        }
        return nil
    }

    private static func length(_ bytes: ArraySlice<UInt8>) -> Int32 {
        Int32(bitPattern: bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    /// The payload of a frame handed out by `feed`: everything after the type and length.
    @inlinable
    public static func payload(of frame: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        frame.dropFirst(5)
    }

    public static func printable(_ id: UInt8) -> String {
        (32...126).contains(id) ? String(UnicodeScalar(id)) : "\\x" + String(id, radix: 16)
    }
}

/// A set of message type bytes, as a 256-bit mask: membership is one shift and one AND on
/// the relay's hot path.
public struct MessageTypeSet: Sendable, Equatable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init(_ ids: [UInt8] = []) {
        for id in ids { insert(id) }
    }

    public static let all: MessageTypeSet = {
        var set = MessageTypeSet()
        set.words = (.max, .max, .max, .max)
        return set
    }()

    public func contains(_ id: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(id & 63)
        switch id >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    public mutating func insert(_ id: UInt8) {
        let bit = UInt64(1) << UInt64(id & 63)
        switch id >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    public static func == (lhs: MessageTypeSet, rhs: MessageTypeSet) -> Bool {
        lhs.words == rhs.words
    }
}
