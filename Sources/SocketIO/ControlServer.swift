import Dispatch
import PostgresWire
import Synchronization

/// Serves a request/response control protocol (the /metrics endpoint, the admin console) on
/// a TCP or Unix listening socket: accepts on the loops, and runs each connection as a
/// `ControlConnection` answering through `handler`.
///
/// Guarantees:
/// - By default every control server runs on `ControlServer.loops`, one loop of its own, apart
///   from the proxy's: a slow scraper or admin client never delays a session.
/// - Work that may block (`ControlResponse.work`) runs on the server's concurrent work queue,
///   never on a loop; each connection has at most one piece of work running, so its replies
///   keep the order of its requests.
/// - Each connection's input is bounded by the handler's framer, and it closes on its
///   timeouts or a reset (see `ControlConnection`).
/// - `stop` closes the listening socket (removing a Unix socket's path) and then every open
///   connection.
public final class ControlServer: Sendable {
    public struct Configuration: Sendable {
        /// A connection waiting this long for a complete request is closed; nil: never (an
        /// operator's console may stay open).
        public var idleTimeout: Duration?
        /// A connection whose peer does not take the output for this long is closed.
        public var writeTimeout: Duration

        public init(idleTimeout: Duration?, writeTimeout: Duration) {
            self.idleTimeout = idleTimeout
            self.writeTimeout = writeTimeout
        }
    }

    /// The control plane's event loop: one for the process, shared by its control servers,
    /// created at first use.
    public static let loops = EventLoopGroup(count: 1, name: "tiergate.control", readBufferSize: 16 * 1024)

    public let listener: Listener
    private let handler: any ControlRequestHandler
    private let configuration: Configuration
    private let workQueue = DispatchQueue(label: "tiergate.control.work", attributes: .concurrent)
    private let state = Mutex(State())

    private struct State {
        var open: [ObjectIdentifier: ControlConnection] = [:]
        var stopped = false
    }

    /// Listens on TCP `endpoint` (port 0 picks a free port: see `listener.port`).
    public convenience init(listen endpoint: Endpoint, backlog: Int32 = 64, handler: any ControlRequestHandler,
                            configuration: Configuration, group: EventLoopGroup = ControlServer.loops) throws(SocketError) {
        self.init(listener: try Listener(endpoint: endpoint, group: group, backlog: backlog),
                  handler: handler, configuration: configuration)
    }

    /// Listens on a Unix socket at `path`, mode 0600 (see `Socket.listen(unixPath:)`).
    public convenience init(unixPath path: String, backlog: Int32 = 16, handler: any ControlRequestHandler,
                            configuration: Configuration, group: EventLoopGroup = ControlServer.loops) throws(SocketError) {
        self.init(listener: try Listener(unixPath: path, group: group, backlog: backlog),
                  handler: handler, configuration: configuration)
    }

    private init(listener: Listener, handler: any ControlRequestHandler, configuration: Configuration) {
        self.listener = listener
        self.handler = handler
        self.configuration = configuration
    }

    /// Starts accepting. `onAcceptError` gets the errno of a failed accept (out of
    /// descriptors, say); the loop pauses accepting briefly after one.
    public func start(onAcceptError: @escaping @Sendable (Int32) -> Void = { _ in }) {
        listener.start(onError: onAcceptError) { [self] fd, _, loop in accepted(fd, on: loop) }
    }

    /// Closes the listening socket, then every open connection; `completion` runs after.
    public func stop(completion: @escaping @Sendable () -> Void = {}) {
        listener.stop { [self] in
            let connections = state.withLock { state in
                state.stopped = true
                return Array(state.open.values)
            }
            let closed = DispatchGroup()
            for connection in connections {
                closed.enter()
                connection.loop.execute {
                    connection.close()
                    closed.leave()
                }
            }
            closed.notify(queue: .global(), execute: completion)
        }
    }

    /// Connections open now.
    public var openConnectionCount: Int { state.withLock { $0.open.count } }

    /// On the accepting loop.
    private func accepted(_ fd: Int32, on loop: EventLoop) {
        guard let channel = SocketChannel(fd: fd, loop: loop) else { return }
        let connection = ControlConnection(channel: channel, handler: handler, configuration: configuration,
                                           workQueue: workQueue) { [weak self] closed in
            self?.state.withLock { _ = $0.open.removeValue(forKey: ObjectIdentifier(closed)) }
        }
        let admitted = state.withLock { state in
            guard !state.stopped else { return false }
            state.open[ObjectIdentifier(connection)] = connection
            return true
        }
        guard admitted else { return connection.close() }
        connection.start()
    }
}
