import SocketIO

/// Splits the admin socket's byte stream into lines, holding at most `limit` bytes.
///
/// A line longer than the limit is not buffered: its bytes are dropped as they arrive and
/// one `.tooLong` is reported when its newline comes, so a client sending a 1 MB line
/// costs 4 KB of memory and gets one error reply, and the next line is read normally.
/// Pure: no I/O, so the tests drive it with byte arrays. The framing itself is the socket
/// layer's `RequestFramer`; this adds what makes a line text.
public struct AdminLineBuffer: Sendable {
    public enum Line: Sendable, Equatable {
        case text(String)
        case tooLong
        case notText
    }

    public let limit: Int
    private var framer: RequestFramer

    public init(limit: Int = 4096) {
        self.limit = limit
        framer = Self.framer(limit: limit)
    }

    /// Newline-delimited; a line of more than `limit` bytes before its newline is skipped.
    public static func framer(limit: Int) -> RequestFramer {
        RequestFramer(delimiter: [UInt8(ascii: "\n")], limit: limit + 1, overflow: .skip)
    }

    /// Feeds bytes; returns the lines they complete, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Line] {
        framer.feed(bytes).map(Self.line)
    }

    /// A framed line as text: a trailing "\r" dropped (telnet, Windows clients), UTF-8 checked.
    public static func line(_ frame: RequestFramer.Frame) -> Line {
        guard case .request(var bytes) = frame else { return .tooLong }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(validating: bytes, as: UTF8.self).map(Line.text) ?? .notText
    }

    /// Bytes held for an unfinished line (at most `limit`).
    public var bufferedCount: Int { framer.bufferedCount }
}
