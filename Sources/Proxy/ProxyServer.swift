import PostgresWire
import Dispatch
import Logging
import SocketIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Accepts client connections and owns the open sessions.
///
/// Each event loop accepts for itself (`Listener`), so a session starts on the loop that
/// serves it. Shutdown follows swift-service-lifecycle's shape: stop accepting, let open
/// sessions finish for up to a drain timeout, then end the rest with a FATAL admin_shutdown.
public final class ProxyServer: Sendable {
    public struct Configuration: Sendable {
        public var listen: Endpoint
        public var loginTimeout: Duration = .seconds(15)
        public var maxInspectedMessage = 16 << 20
        public var eventLoops = 2
        /// Told of refusals before admission (to count them); nil: nobody.
        public var observer: (any SessionObserver)?
        /// The certificate and key clients see; nil: no TLS (SSLRequest gets 'N').
        public var tlsCredentials: TLSCredentials?
        /// What clients may do with TLS when `tlsCredentials` is set.
        public var clientTLS: ClientTLSMode = .allow
        /// TLS towards the upstream; nil: plain text.
        public var upstreamTLS: UpstreamTLS?
        /// Where client TLS handshakes and sessions are counted (SHOW STATS, metrics).
        public var tlsStatistics = TLSStatistics()
        /// Cancel keys shared with the other instances; nil: this instance's alone.
        public var cancelKeys: (any CancelKeyDirectory)?
        /// CancelRequests per client address.
        public var cancelRate = CancelRateLimit.Rule()
        /// Told what became of each CancelRequest (to count them); nil: nobody.
        public var cancelCounted: (@Sendable (CancelRouting) -> Void)?

        public init(listen: Endpoint) { self.listen = listen }
    }

    private let configuration: Configuration
    private let loops: EventLoopGroup
    private let context: SessionContext
    private let listener: Listener
    private let state = SessionTable()
    private let logger: Logger
    /// Client TLS handshakes, failures and open TLS sessions.
    public let tlsStatistics: TLSStatistics

    /// The port actually listened on (useful with port 0).
    public var port: UInt16 { listener.port }

    public init(configuration: Configuration, admitter: any SessionAdmitter, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        loops = EventLoopGroup(count: configuration.eventLoops)
        listener = try Listener(endpoint: configuration.listen, group: loops)
        let state = state
        let tlsStatistics = configuration.tlsStatistics
        self.tlsStatistics = tlsStatistics
        context = SessionContext(
            admitter: admitter,
            cancelRegistry: CancelRegistry(directory: configuration.cancelKeys, rate: configuration.cancelRate,
                                           counted: configuration.cancelCounted),
            logger: logger,
            loginTimeout: configuration.loginTimeout, maxInspectedMessage: configuration.maxInspectedMessage,
            observer: configuration.observer,
            tlsCredentials: configuration.tlsCredentials, clientTLS: configuration.clientTLS,
            tlsStatistics: tlsStatistics, upstreamTLS: configuration.upstreamTLS,
            sessionEnded: { id in
                let (callbacks, trim): ([@Sendable () -> Void], Bool) = state.withLock { state in
                    state.sessions.removeValue(forKey: id)
                    guard state.sessions.isEmpty else { return ([], false) }
                    let trim = !state.trimScheduled
                    state.trimScheduled = true
                    guard !state.accepting else { return ([], trim) }
                    defer { state.drained = [] }
                    return (state.drained, trim)
                }
                if trim { Self.returnMemoryWhenStillIdle(state) }
                callbacks.forEach { $0() }
            })
    }

    public func start() {
        let (state, context, logger) = (state, context, logger)
        listener.start(onError: { code in
            logger.error("accept failed", metadata: ["errno": "\(code)"])
        }, onAccept: { fd, peer, loop in
            // On the accepting loop's queue, which serves the session from here on.
            let session: ClientSession? = state.withLock { state in
                guard state.accepting else { return nil }
                let id = state.nextID
                state.nextID += 1
                guard let session = ClientSession(id: id, fd: fd, peer: peer, loop: loop, context: context) else { return nil }
                state.sessions[id] = session
                return session
            }
            guard let session else {
                _ = close(fd)
                return
            }
            session.start()
        })
        logger.info("listening", metadata: ["listen": "\(configuration.listen.host):\(port)",
                                            "event_loops": "\(loops.loops.count)"])
    }

    public var openSessions: Int { state.withLock { $0.sessions.count } }

    /// Once the last session is gone and none came for a moment, freed session memory goes
    /// back to the system, so RSS falls back after a wave of clients instead of staying at
    /// its peak (`Allocator`). At most once per `trimDelay`.
    private static func returnMemoryWhenStillIdle(_ state: SessionTable) {
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + trimDelay) {
            let idle = state.withLock { state in
                state.trimScheduled = false
                return state.sessions.isEmpty
            }
            if idle { Allocator.returnFreeMemory() }
        }
    }

    static let trimDelay: DispatchTimeInterval = .seconds(2)

    /// Socket events served per Dispatch wake-up, over all loops.
    public var loopStatistics: LoopStatistics { loops.statistics }

    /// Stops accepting, waits for sessions to end on their own for up to `drainTimeout`, then
    /// ends the rest. Calls `completion` when no session is left.
    public func shutdown(drainTimeout: Duration, completion: @escaping @Sendable () -> Void) {
        let idle: Bool = state.withLock { state in
            state.accepting = false
            if state.sessions.isEmpty { return true }
            state.drained.append(completion)
            return false
        }
        listener.stop()
        logger.info("shutting down", metadata: ["open_sessions": "\(openSessions)",
                                                "drain_timeout_s": "\(drainTimeout.seconds)"])
        if idle { completion(); return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(drainTimeout.nanoseconds)) { [self] in
            let remaining = state.withLock { Array($0.sessions.values) }
            for session in remaining {
                session.loop.execute { session.shutdown() }
            }
        }
    }
}
