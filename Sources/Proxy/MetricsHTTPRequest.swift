import SocketIO

/// The request line of an HTTP/1.x request to the metrics endpoint, and the reply it gets.
/// Pure: the server feeds bytes in and writes the bytes that come out.
///
/// Bounds: a request head larger than `maxHeadLength` is answered 431 and closed; nothing a
/// client sends makes the server buffer more than that.
public enum MetricsHTTPRequest {
    public static let maxHeadLength = 8 * 1024
    public static let path = "/metrics"

    public enum Parse: Equatable, Sendable {
        /// The head (up to the blank line) is not complete yet.
        case incomplete
        case metrics
        case notFound
        case methodNotAllowed
        case badRequest
        case headTooLarge
    }

    /// Frames a request head: up to its blank line, at most `maxHeadLength` bytes with it; a
    /// larger one is refused at once, without waiting for its end.
    public static func makeFramer() -> RequestFramer {
        RequestFramer(delimiter: Array("\r\n\r\n".utf8), limit: maxHeadLength, overflow: .reject)
    }

    /// Looks at what the client sent so far.
    public static func parse(_ bytes: [UInt8]) -> Parse {
        var framer = makeFramer()
        switch framer.feed(bytes).first {
        case nil: return .incomplete
        case .tooLarge: return .headTooLarge
        case .request(let head): return parse(head: head)
        }
    }

    /// Looks at a whole head, as framed (without its blank line).
    public static func parse(head: [UInt8]) -> Parse {
        let lineEnd = head.firstIndex(of: UInt8(ascii: "\r")) ?? head.endIndex
        let words = head[..<lineEnd].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard words.count == 3, words[2].starts(with: Array("HTTP/1.".utf8)) else { return .badRequest }
        let method = String(decoding: words[0], as: UTF8.self)
        var target = String(decoding: words[1], as: UTF8.self)
        if let query = target.firstIndex(of: "?") { target = String(target[..<query]) }
        guard method == "GET" || method == "HEAD" else { return .methodNotAllowed }
        return target == path ? .metrics : .notFound
    }

    /// A HEAD request's reply has the headers of the GET reply and no body.
    public static func isHead(_ head: [UInt8]) -> Bool {
        head.starts(with: Array("HEAD ".utf8))
    }

    /// The full response for a parsed request; `body` is called only for `.metrics`.
    /// `headOnly` leaves the body out (Content-Length still gives its length).
    public static func response(to request: Parse, headOnly: Bool = false, body: () -> [UInt8]) -> [UInt8] {
        switch request {
        case .incomplete: return []
        case .metrics: return reply("200 OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: body(), headOnly: headOnly)
        case .notFound: return reply("404 Not Found", body: Array("not found: only GET /metrics is served\n".utf8), headOnly: headOnly)
        case .methodNotAllowed: return reply("405 Method Not Allowed", body: Array("only GET\n".utf8), extra: "Allow: GET, HEAD\r\n", headOnly: headOnly)
        case .badRequest: return reply("400 Bad Request", body: Array("bad request\n".utf8), headOnly: headOnly)
        case .headTooLarge: return reply("431 Request Header Fields Too Large", body: Array("request too large\n".utf8), headOnly: headOnly)
        }
    }

    private static func reply(_ status: String, contentType: String = "text/plain; charset=utf-8",
                              body: [UInt8], extra: String = "", headOnly: Bool) -> [UInt8] {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n"
        return headOnly ? Array(head.utf8) : Array(head.utf8) + body
    }
}
