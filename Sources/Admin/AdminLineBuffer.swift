/// Splits the admin socket's byte stream into lines, holding at most `limit` bytes.
///
/// A line longer than the limit is not buffered: its bytes are dropped as they arrive and
/// one `.tooLong` is reported when its newline comes, so a client sending a 1 MB line
/// costs 4 KB of memory and gets one error reply, and the next line is read normally.
/// Pure: no I/O, so the tests drive it with byte arrays.
public struct AdminLineBuffer: Sendable {
    public enum Line: Sendable, Equatable {
        case text(String)
        case tooLong
        case notText
    }

    public let limit: Int
    private var pending: [UInt8] = []
    private var discarding = false

    public init(limit: Int = 4096) { self.limit = limit }

    /// Feeds bytes; returns the lines they complete, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Line] {
        var lines: [Line] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if discarding {
                    lines.append(.tooLong)
                    discarding = false
                } else {
                    if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                    if let text = String(validating: pending, as: UTF8.self) {
                        lines.append(.text(text))
                    } else {
                        lines.append(.notText)
                    }
                }
                pending.removeAll(keepingCapacity: true)
            } else if !discarding {
                if pending.count >= limit {
                    discarding = true
                    pending.removeAll(keepingCapacity: false)
                } else {
                    pending.append(byte)
                }
            }
        }
        return lines
    }

    /// Bytes held for an unfinished line (at most `limit`).
    public var bufferedCount: Int { pending.count }
}
