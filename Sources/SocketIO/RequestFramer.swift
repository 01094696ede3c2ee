/// Splits a connection's byte stream into requests that each end with a delimiter (a line's
/// newline, an HTTP head's blank line), holding at most `limit` bytes.
///
/// Guarantees:
/// - A request, delimiter included, of at most `limit` bytes comes out whole, without its
///   delimiter, however the bytes were split between reads.
/// - Nothing a peer sends makes the framer hold more than `limit` bytes. A request that
///   cannot fit is reported as `.tooLarge` once; what happens next is the `Overflow` rule.
///
/// Pure: no I/O, so the limits are tested with byte arrays.
public struct RequestFramer: Sendable {
    public enum Frame: Sendable, Equatable {
        /// One request, without its delimiter.
        case request([UInt8])
        /// A request longer than the limit; its bytes were not kept.
        case tooLarge
    }

    /// What follows a request that is too large.
    public enum Overflow: Sendable, Equatable {
        /// Report `.tooLarge` at once and frame nothing more: the connection is answered and
        /// closed (an HTTP head: the request's end cannot be trusted).
        case reject
        /// Drop the request's bytes as they arrive, report `.tooLarge` when its delimiter
        /// comes (in request order) and go on with the next request (a line protocol).
        case skip
    }

    public let delimiter: [UInt8]
    public let limit: Int
    public let overflow: Overflow
    private var pending: [UInt8] = []
    /// Delimiter bytes matched at the end of what was fed (also while skipping).
    private var matched = 0
    private var skipping = false
    private var rejected = false
    /// For each prefix length of the delimiter, the longest proper prefix that is also its
    /// suffix (Knuth-Morris-Pratt), so "\r\n\r\r\n\r\n" still finds its blank line.
    private let fallback: [Int]

    /// `limit` counts the delimiter too, and must leave room for it.
    public init(delimiter: [UInt8], limit: Int, overflow: Overflow) {
        precondition(!delimiter.isEmpty && limit >= delimiter.count, "a delimiter, and a limit that holds it")
        self.delimiter = delimiter
        self.limit = limit
        self.overflow = overflow
        var fallback = [Int](repeating: 0, count: delimiter.count)
        var length = 0
        for i in delimiter.indices.dropFirst() {
            while length > 0 && delimiter[i] != delimiter[length] { length = fallback[length - 1] }
            if delimiter[i] == delimiter[length] { length += 1 }
            fallback[i] = length
        }
        self.fallback = fallback
    }

    /// Feeds bytes; returns the frames they complete, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Frame] {
        var frames: [Frame] = []
        guard !rejected else { return frames }
        for byte in bytes {
            while matched > 0 && delimiter[matched] != byte { matched = fallback[matched - 1] }
            if delimiter[matched] == byte { matched += 1 }
            if matched == delimiter.count {
                matched = 0
                if skipping {
                    skipping = false
                    frames.append(.tooLarge)
                } else {
                    frames.append(.request(Array(pending.dropLast(delimiter.count - 1))))
                }
                pending.removeAll(keepingCapacity: true)
                continue
            }
            guard !skipping else { continue }
            pending.append(byte)
            if pending.count == limit {
                // A full buffer with no delimiter at its end: this request cannot fit.
                pending.removeAll(keepingCapacity: false)
                switch overflow {
                case .reject:
                    rejected = true
                    frames.append(.tooLarge)
                    return frames
                case .skip:
                    skipping = true
                }
            }
        }
        return frames
    }

    /// Bytes held for an unfinished request (at most `limit`).
    public var bufferedCount: Int { pending.count }
}
