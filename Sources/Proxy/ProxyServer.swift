import Dispatch
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
import PostgresWire
#endif

/// Accepts client connections and owns the open sessions.
///
/// Shutdown follows swift-service-lifecycle's shape: stop accepting, let open sessions finish
/// for up to a drain timeout, then end the rest with a FATAL admin_shutdown.
/// `@unchecked`: the accept source is set up once in `start` and then touched only by its
/// own queue and `shutdown`; everything mutable is behind `state`.
public final class ProxyServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var listen: Endpoint
        public var loginTimeout: Duration = .seconds(15)
        public var maxInspectedMessage = 16 << 20
        public var eventLoops = 2
        /// Told of refusals before admission (protocol, login timeout); nil: nobody.
        public var observer: (any SessionObserver)?

        public init(listen: Endpoint) { self.listen = listen }
    }

    private let configuration: Configuration
    private let loops: EventLoopGroup
    private let context: SessionContext
    private let listenFD: Int32
    private let acceptQueue = DispatchQueue(label: "tiergate.accept")
    private let acceptSource: DispatchSourceRead
    private let state = SessionTable()
    private let logger: Logger


    /// The port actually listened on (useful with port 0).
    public let port: UInt16

    public init(configuration: Configuration, admitter: any SessionAdmitter, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        loops = EventLoopGroup(count: configuration.eventLoops)
        listenFD = try Socket.listen(on: configuration.listen)
        port = Socket.localPort(listenFD) ?? configuration.listen.port
        acceptSource = DispatchSource.makeReadSource(fileDescriptor: listenFD, queue: acceptQueue)
        let state = state
        context = SessionContext(
            admitter: admitter, cancelRegistry: CancelRegistry(), logger: logger,
            loginTimeout: configuration.loginTimeout, maxInspectedMessage: configuration.maxInspectedMessage,
            observer: configuration.observer,
            sessionEnded: { id in
                let callbacks: [@Sendable () -> Void] = state.withLock { state in
                    state.sessions.removeValue(forKey: id)
                    guard !state.accepting, state.sessions.isEmpty else { return [] }
                    defer { state.drained = [] }
                    return state.drained
                }
                callbacks.forEach { $0() }
            })
    }

    public func start() {
        let fd = listenFD
        acceptSource.setEventHandler { [self] in acceptAll() }
        acceptSource.setCancelHandler { _ = close(fd) }
        acceptSource.resume()
        logger.info("listening", metadata: ["listen": "\(configuration.listen.host):\(port)"])
    }

    public var openSessions: Int { state.withLock { $0.sessions.count } }

    private func acceptAll() {
        while true {
            switch Socket.accept(listenFD) {
            case .wouldBlock:
                return
            case .failed(let code):
                // EMFILE and friends: log and retry on the next readiness event rather than spin.
                logger.error("accept failed", metadata: ["errno": "\(code)"])
                return
            case .accepted(let fd, let peer):
                let loop = loops.next()
                let session: ClientSession? = state.withLock { state in
                    guard state.accepting else { return nil }
                    let id = state.nextID
                    state.nextID += 1
                    let session = ClientSession(id: id, fd: fd, peer: peer, loop: loop, context: context)
                    state.sessions[id] = session
                    return session
                }
                guard let session else { _ = close(fd); return }
                loop.queue.async { session.start() }
            }
        }
    }

    /// Stops accepting, waits for sessions to end on their own for up to `drainTimeout`, then
    /// ends the rest. Calls `completion` when no session is left.
    public func shutdown(drainTimeout: Duration, completion: @escaping @Sendable () -> Void) {
        let idle: Bool = state.withLock { state in
            state.accepting = false
            if state.sessions.isEmpty { return true }
            state.drained.append(completion)
            return false
        }
        acceptSource.cancel()
        logger.info("shutting down", metadata: ["open_sessions": "\(openSessions)",
                                                "drain_timeout_s": "\(drainTimeout.seconds)"])
        if idle { completion(); return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(drainTimeout.nanoseconds)) { [self] in
            let remaining = state.withLock { Array($0.sessions.values) }
            for session in remaining {
                session.loopQueue.async { session.fail(ClientError.shuttingDown.errorResponse) }
            }
        }
    }
}

extension ClientSession {
    var loopQueue: DispatchQueue { loopForExternalCalls.queue }
}
