import SocketIO
import PostgresWire
import Logging

/// The `--metrics HOST:PORT` endpoint: a tiny HTTP/1.1 server answering `GET /metrics` with
/// what `render` returns (Prometheus text format), 404 for any other path. An HTTP handler on
/// the control plane's socket layer (`ControlServer`).
///
/// Guarantees:
/// - Everything runs on the control plane's own loop, never on a session's loop, and every
///   socket is non-blocking: a slow scraper delays only other control connections.
/// - Request heads are bounded (`MetricsHTTPRequest.maxHeadLength`); a connection that
///   sends no complete request within 10 s, or does not take its response within 10 s, is
///   closed; one response per connection (Connection: close).
public final class MetricsHTTPServer: Sendable {
    public static let idleTimeout: Duration = .seconds(10)

    private let endpoint: Endpoint
    private let logger: Logger
    private let server: ControlServer
    public var port: UInt16 { server.listener.port }

    public init(listen endpoint: Endpoint, logger: Logger, render: @escaping @Sendable () -> [UInt8]) throws {
        server = try ControlServer(listen: endpoint, handler: MetricsScrape(render: render),
                                   configuration: .init(idleTimeout: Self.idleTimeout, writeTimeout: Self.idleTimeout))
        self.endpoint = Endpoint(host: endpoint.host, port: server.listener.port)
        self.logger = logger
    }

    public func start() {
        server.start { [logger] code in logger.warning("metrics endpoint: accept failed", metadata: ["errno": "\(code)"]) }
        logger.info("serving metrics", metadata: ["metrics": "http://\(endpoint)/metrics"])
    }

    /// Stops accepting and closes every open connection.
    public func stop(completion: @escaping @Sendable () -> Void = {}) {
        server.stop(completion: completion)
    }
}

/// One scrape: the request head in, the whole response out, then close. Rendering reads the
/// registry in memory, so it runs on the loop.
private struct MetricsScrape: ControlRequestHandler {
    let render: @Sendable () -> [UInt8]

    func makeFramer() -> RequestFramer { MetricsHTTPRequest.makeFramer() }

    func respond(to frame: RequestFramer.Frame) -> ControlResponse {
        switch frame {
        case .tooLarge:
            return .reply(MetricsHTTPRequest.response(to: .headTooLarge, body: render), thenClose: true)
        case .request(let head):
            let request = MetricsHTTPRequest.parse(head: head)
            let bytes = MetricsHTTPRequest.response(to: request, headOnly: MetricsHTTPRequest.isHead(head), body: render)
            return .reply(bytes, thenClose: true)
        }
    }
}
