import Proxy
import Testing

struct MetricsHTTPRequestTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func getMetrics_isServed() {
        #expect(MetricsHTTPRequest.parse(Self.bytes("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")) == .metrics)
        #expect(MetricsHTTPRequest.parse(Self.bytes("GET /metrics?x=1 HTTP/1.0\r\n\r\n")) == .metrics)
    }

    @Test func otherPath_isNotFound() {
        #expect(MetricsHTTPRequest.parse(Self.bytes("GET / HTTP/1.1\r\n\r\n")) == .notFound)
        let reply = String(decoding: MetricsHTTPRequest.response(to: .notFound, body: { [] }), as: UTF8.self)
        #expect(reply.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
    }

    @Test func postMetrics_isNotAllowed() {
        #expect(MetricsHTTPRequest.parse(Self.bytes("POST /metrics HTTP/1.1\r\n\r\n")) == .methodNotAllowed)
    }

    @Test func partialHead_waitsForMore() {
        #expect(MetricsHTTPRequest.parse(Self.bytes("GET /metrics HTTP/1.1\r\nHost:")) == .incomplete)
    }

    @Test func oversizedHead_isRefusedWithoutWaitingForItsEnd() {
        let huge = Self.bytes("GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: MetricsHTTPRequest.maxHeadLength))
        #expect(MetricsHTTPRequest.parse(huge) == .headTooLarge)
    }

    @Test func garbage_isABadRequest() {
        #expect(MetricsHTTPRequest.parse(Self.bytes("hello\r\n\r\n")) == .badRequest)
    }

    @Test func metricsReply_carriesTheBodyAndItsLength() {
        let reply = String(decoding: MetricsHTTPRequest.response(to: .metrics, body: { Array("a 1\n".utf8) }), as: UTF8.self)
        #expect(reply.contains("Content-Length: 4\r\n"))
        #expect(reply.contains("text/plain; version=0.0.4"))
        #expect(reply.hasSuffix("\r\n\r\na 1\n"))
    }
}
