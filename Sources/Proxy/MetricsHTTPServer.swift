import SocketIO
import PostgresWire
import Dispatch
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `--metrics HOST:PORT` endpoint: a tiny HTTP/1.1 server answering `GET /metrics` with
/// what `render` returns (Prometheus text format), 404 for any other path.
///
/// Guarantees:
/// - Everything runs on the server's own serial queue, never on a session's loop queue, and
///   every socket is non-blocking: a slow scraper delays only other scrapes.
/// - Request heads are bounded (`MetricsHTTPRequest.maxHeadLength`); a connection that
///   sends nothing useful for 10 s is closed; one response per connection (Connection: close).
public final class MetricsHTTPServer: @unchecked Sendable {  // immutable after init; the source is touched only by start and stop
    public static let idleTimeout: Duration = .seconds(10)

    private let listenFD: Int32
    private let endpoint: Endpoint
    private let queue = DispatchQueue(label: "tiergate.metrics-http")
    private let acceptSource: DispatchSourceRead
    private let render: @Sendable () -> [UInt8]
    private let logger: Logger
    public let port: UInt16

    public init(listen endpoint: Endpoint, logger: Logger, render: @escaping @Sendable () -> [UInt8]) throws {
        listenFD = try Socket.listen(on: endpoint, backlog: 64)
        port = Socket.localPort(listenFD) ?? endpoint.port
        self.endpoint = Endpoint(host: endpoint.host, port: port)
        acceptSource = DispatchSource.makeReadSource(fileDescriptor: listenFD, queue: queue)
        self.render = render
        self.logger = logger
    }

    public func start() {
        let fd = listenFD
        acceptSource.setEventHandler { [self] in acceptAll() }
        acceptSource.setCancelHandler { close(fd) }
        acceptSource.resume()
        logger.info("serving metrics", metadata: ["metrics": "http://\(endpoint)/metrics"])
    }

    public func stop() {
        acceptSource.cancel()
    }

    private func acceptAll() {
        while true {
            switch Socket.accept(listenFD) {
            case .accepted(let fd, _):
                MetricsHTTPConnection(fd: fd, queue: queue, render: render).start()
            case .wouldBlock:
                return
            case .failed(let code):
                logger.warning("metrics endpoint: accept failed", metadata: ["errno": "\(code)"])
                return
            }
        }
    }
}

/// One scrape: read the head, write the whole response, close. Touched only on `queue`.
private final class MetricsHTTPConnection: @unchecked Sendable {
    private let fd: Int32
    private let queue: DispatchQueue
    private let render: @Sendable () -> [UInt8]
    private let readSource: DispatchSourceRead
    private var writeSource: DispatchSourceWrite?
    private let timer: DispatchSourceTimer
    private var received: [UInt8] = []
    private var pending: [UInt8] = []
    private var written = 0
    private var closed = false
    private var readSuspended = false

    init(fd: Int32, queue: DispatchQueue, render: @escaping @Sendable () -> [UInt8]) {
        self.fd = fd
        self.queue = queue
        self.render = render
        readSource = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        timer = DispatchSource.makeTimerSource(queue: queue)
    }

    func start() {
        // The sources hold the connection until `finish` cancels them.
        readSource.setEventHandler { [self] in readable() }
        readSource.resume()
        timer.setEventHandler { [self] in finish() }
        timer.schedule(deadline: .now() + .seconds(Int(MetricsHTTPServer.idleTimeout.components.seconds)))
        timer.resume()
    }

    private func readable() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let result = chunk.withUnsafeMutableBytes { Socket.read(fd, into: $0) }
        switch result {
        case .bytes(let n):
            received += chunk[..<n]
            let request = MetricsHTTPRequest.parse(received)
            guard request != .incomplete else { return }
            readSource.suspend()
            readSuspended = true
            pending = MetricsHTTPRequest.response(to: request, body: render)
            if received.starts(with: Array("HEAD ".utf8)), let split = headLength(pending) {
                pending = Array(pending[..<split])
            }
            flush()
        case .wouldBlock:
            return
        case .closed, .failed:
            finish()
        }
    }

    private func flush() {
        guard !closed else { return }
        while written < pending.count {
            let result = pending.withUnsafeBytes { Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[written...])) }
            switch result {
            case .bytes(let n):
                written += n
            case .wouldBlock:
                if writeSource == nil {
                    let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
                    source.setEventHandler { [self] in flush() }
                    writeSource = source
                    source.resume()
                }
                return
            case .closed, .failed:
                finish()
                return
            }
        }
        finish()
    }

    private func finish() {
        guard !closed else { return }
        closed = true
        timer.cancel()
        // The descriptor is closed only after every source on it has been cancelled, and a
        // suspended source must be resumed for its cancellation to complete.
        let fd = fd
        let write = writeSource
        readSource.setCancelHandler {
            if let write {
                write.setCancelHandler { close(fd) }
                write.cancel()
            } else {
                close(fd)
            }
        }
        readSource.cancel()
        if readSuspended { readSource.resume() }
    }

    private func headLength(_ response: [UInt8]) -> Int? {
        guard response.count >= 4 else { return nil }
        for i in 0...(response.count - 4) where response[i] == 13 && response[i + 1] == 10 && response[i + 2] == 13 && response[i + 3] == 10 {
            return i + 4
        }
        return nil
    }
}
