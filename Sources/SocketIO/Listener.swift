import PostgresWire
import CLinux
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket served by the loops themselves: each loop holds it in its epoll set
/// (EPOLLEXCLUSIVE, so one connection wakes one loop) and accepts into itself, so a new
/// connection starts on the loop that will serve it with no thread hop.
public final class Listener: Sendable {
    public let fd: Int32
    /// The TCP port bound; 0 for a Unix socket.
    public let port: UInt16
    /// The Unix socket's path, removed by `stop`; nil for TCP.
    public let unixPath: String?
    private let group: EventLoopGroup
    private let stopped = Mutex(false)
    private let acceptors = Mutex<[Acceptor]>([])

    /// Called on the accepting loop's queue for every accepted connection.
    public typealias AcceptHandler = @Sendable (_ fd: Int32, _ peer: String, _ loop: EventLoop) -> Void

    /// Connections accepted per readiness event before other sockets of the loop get a turn.
    static let acceptBatch = 32

    public init(endpoint: Endpoint, group: EventLoopGroup, backlog: Int32 = 1024) throws(SocketError) {
        fd = try Socket.listen(on: endpoint, backlog: backlog)
        port = Socket.localPort(fd) ?? endpoint.port
        unixPath = nil
        self.group = group
    }

    /// Listens on a Unix socket at `path`, mode 0600 (see `Socket.listen(unixPath:)`).
    public init(unixPath path: String, group: EventLoopGroup, backlog: Int32 = 16) throws(SocketError) {
        fd = try Socket.listen(unixPath: path, backlog: backlog)
        port = 0
        unixPath = path
        self.group = group
    }

    /// Starts accepting on every loop of the group.
    public func start(onError: @escaping @Sendable (Int32) -> Void, onAccept: @escaping AcceptHandler) {
        for loop in group.loops {
            let acceptor = Acceptor(listenFD: fd, loop: loop, onAccept: onAccept, onError: onError)
            acceptors.withLock { $0.append(acceptor) }
            // Registered on the loop's queue: the loop's tables are touched only there.
            loop.execute { acceptor.register() }
        }
    }

    /// Stops accepting on every loop, then closes the socket; a Unix socket's path is removed
    /// at once, so a successor can bind it. `completion` runs after.
    public func stop(completion: @escaping @Sendable () -> Void = {}) {
        guard !stopped.withLock({ was in defer { was = true }; return was }) else { return completion() }
        if let unixPath { unlink(unixPath) }
        let done = DispatchGroup()
        let fd = fd
        for acceptor in acceptors.withLock({ $0 }) {
            done.enter()
            acceptor.loop.execute {
                acceptor.stop()
                done.leave()
            }
        }
        done.notify(queue: .global()) {
            _ = Glibc.close(fd)
            completion()
        }
    }
}

private final class Acceptor: ReadinessHandler, TimerOwner, @unchecked Sendable {
    let listenFD: Int32
    let loop: EventLoop
    let onAccept: Listener.AcceptHandler
    let onError: @Sendable (Int32) -> Void
    private var stopped = false
    private var pauseTimer: LoopTimers.ID?
    static let interest = EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue
    /// After an accept error (out of descriptors, say), this loop stops accepting for this
    /// long instead of spinning on a socket that stays readable.
    static let pauseAfterError: Duration = .milliseconds(100)

    init(listenFD: Int32, loop: EventLoop, onAccept: @escaping Listener.AcceptHandler,
         onError: @escaping @Sendable (Int32) -> Void) {
        self.listenFD = listenFD
        self.loop = loop
        self.onAccept = onAccept
        self.onError = onError
    }

    func handle(events: UInt32) {
        for _ in 0..<Listener.acceptBatch {
            switch Socket.accept(listenFD) {
            case .wouldBlock:
                return
            case .failed(let code):
                // EMFILE and friends: connections wait in the backlog meanwhile.
                onError(code)
                pause()
                return
            case .accepted(let fd, let peer):
                onAccept(fd, peer, loop)
            }
        }
    }

    func register() {
        guard !stopped else { return }
        _ = loop.register(listenFD, interest: Self.interest, handler: self)
    }

    func stop() {
        stopped = true
        loop.deregister(listenFD)
        if let pauseTimer { loop.releaseTimer(pauseTimer) }
    }

    private func pause() {
        // EPOLLEXCLUSIVE registrations cannot be modified: remove and add again later.
        loop.deregister(listenFD)
        let timer = pauseTimer ?? loop.makeTimer(owner: self)
        pauseTimer = timer
        loop.schedule(timer, after: Self.pauseAfterError)
    }

    func timerFired() {
        register()
    }
}
