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

    /// Looks at what the client sent so far.
    public static func parse(_ bytes: [UInt8]) -> Parse {
        guard let end = headEnd(bytes) else {
            return bytes.count > maxHeadLength ? .headTooLarge : .incomplete
        }
        guard end <= maxHeadLength else { return .headTooLarge }
        let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")) ?? end
        let words = bytes[..<lineEnd].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard words.count == 3, words[2].starts(with: Array("HTTP/1.".utf8)) else { return .badRequest }
        let method = String(decoding: words[0], as: UTF8.self)
        var target = String(decoding: words[1], as: UTF8.self)
        if let query = target.firstIndex(of: "?") { target = String(target[..<query]) }
        guard method == "GET" || method == "HEAD" else { return .methodNotAllowed }
        return target == path ? .metrics : .notFound
    }

    /// The full response for a parsed request; `body` is called only for `.metrics`.
    public static func response(to request: Parse, body: () -> [UInt8]) -> [UInt8] {
        switch request {
        case .incomplete: return []
        case .metrics: return reply("200 OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: body())
        case .notFound: return reply("404 Not Found", body: Array("not found: only GET /metrics is served\n".utf8))
        case .methodNotAllowed: return reply("405 Method Not Allowed", body: Array("only GET\n".utf8), extra: "Allow: GET, HEAD\r\n")
        case .badRequest: return reply("400 Bad Request", body: Array("bad request\n".utf8))
        case .headTooLarge: return reply("431 Request Header Fields Too Large", body: Array("request too large\n".utf8))
        }
    }

    private static func reply(_ status: String, contentType: String = "text/plain; charset=utf-8",
                              body: [UInt8], extra: String = "") -> [UInt8] {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// Index just past "\r\n\r\n", or nil.
    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }
}
