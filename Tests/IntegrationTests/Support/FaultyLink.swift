import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP link to one of the stack's services that a test can slow, freeze or cut,
/// for the clients it points through the link and no one else: tests run in parallel, and
/// stopping or SIGSTOP-ing the shared Redis or MongoDB failed other suites' tests meanwhile.
///
/// - `delayReplies`: what the service sends is held that long from its arrival (a late
///   service: congested, starved of CPU), without throttling.
/// - `freeze` / `thaw`: nothing passes either way, connections are still accepted (a
///   SIGSTOP-ed service); thawing passes what was held, in order.
/// - `cut` / `restore`: every connection is closed and new ones are refused (a stopped
///   service); restoring listens again on the same port.
final class FaultyLink: @unchecked Sendable {
    let port: Int
    private let targetPort: Int
    private let lock = NSCondition()
    private var listener: Int32 = -1          // guarded by lock
    private var pipes: [Pipe] = []            // guarded by lock
    private var replyDelay: Duration = .zero  // guarded by lock
    private var frozen = false                // guarded by lock
    private var stopped = false               // guarded by lock

    init(toPort targetPort: Int) throws {
        self.targetPort = targetPort
        let (fd, port) = try Self.listen(on: 0)
        self.port = port
        listener = fd
        startAccepting(fd)
    }

    deinit { stop() }

    /// `redis://…` or `mongodb://…` through the link.
    func url(scheme: String, path: String = "") -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    func delayReplies(_ delay: Duration) { lock.withLock { replyDelay = delay } }

    func freeze() { lock.withLock { frozen = true } }

    func thaw() {
        lock.withLock { frozen = false }
        for pipe in lock.withLock({ pipes }) { pipe.wake() }
    }

    func cut() {
        let (fd, open) = lock.withLock { () -> (Int32, [Pipe]) in
            defer {
                listener = -1
                pipes = []
            }
            return (listener, pipes)
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
        for pipe in open { pipe.close() }
    }

    func restore() throws {
        let (fd, _) = try Self.listen(on: port)
        lock.withLock { listener = fd }
        startAccepting(fd)
    }

    func stop() {
        guard lock.withLock({ () -> Bool in defer { stopped = true }; return !stopped }) else { return }
        cut()
    }

    // MARK: Plumbing

    private static func listen(on port: Int) throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound, Glibc.listen(fd, 256) == 0 else {
            close(fd)
            throw TestFailure("faulty link: cannot listen on 127.0.0.1:\(port)")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    private func startAccepting(_ fd: Int32) {
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return  // cut or stopped
                }
                guard let server = connectToTarget() else {
                    Glibc.close(client)
                    continue
                }
                let toServer = Pipe(from: client, to: server, link: self, replies: false)
                let toClient = Pipe(from: server, to: client, link: self, replies: true)
                let kept = lock.withLock { () -> Bool in
                    guard listener == fd else { return false }
                    pipes += [toServer, toClient]
                    return true
                }
                guard kept else {
                    toServer.close()
                    toClient.close()
                    return
                }
                toServer.start()
                toClient.start()
            }
        }
    }

    private func connectToTarget() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(targetPort).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            Glibc.close(fd)
            return nil
        }
        return fd
    }

    fileprivate var isFrozen: Bool { lock.withLock { frozen } }

    /// One direction of one connection: a reader that timestamps chunks and a writer that
    /// sends each once it is due and the link is not frozen.
    private final class Pipe: @unchecked Sendable {
        private let source: Int32
        private let destination: Int32
        private unowned let link: FaultyLink
        private let replies: Bool
        private let condition = NSCondition()
        private var chunks: [(arrived: ContinuousClock.Instant, delay: Duration, bytes: [UInt8])] = []  // guarded
        private var ended = false                                                                   // guarded
        private var closed = false                                                                  // guarded

        init(from source: Int32, to destination: Int32, link: FaultyLink, replies: Bool) {
            self.source = source
            self.destination = destination
            self.link = link
            self.replies = replies
        }

        func start() {
            Thread.detachNewThread { [self] in read() }
            Thread.detachNewThread { [self] in write() }
        }

        func wake() { condition.withLock { condition.broadcast() } }

        /// Shuts both sockets down, which ends both directions. The descriptors stay open (a
        /// few per test): closing one while the other direction's threads still use it could
        /// hand its number to another socket under them.
        func close() {
            let first = condition.withLock { () -> Bool in
                defer { closed = true; condition.broadcast() }
                return !closed
            }
            guard first else { return }
            shutdown(source, Int32(SHUT_RDWR))
            shutdown(destination, Int32(SHUT_RDWR))
        }

        private func read() {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = recv(source, &buffer, buffer.count, 0)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                let delay = replies ? link.lock.withLock { link.replyDelay } : .zero
                condition.withLock {
                    chunks.append((.now, delay, Array(buffer[0..<count])))
                    condition.broadcast()
                }
            }
            condition.withLock {
                ended = true
                condition.broadcast()
            }
        }

        private func write() {
            while true {
                var next: [UInt8]?
                condition.withLock {
                    while true {
                        if closed { return }
                        if let head = chunks.first, !link.isFrozen {
                            let due = head.arrived + head.delay
                            if due <= .now {
                                next = chunks.removeFirst().bytes
                                return
                            }
                            condition.wait(until: Date(timeIntervalSinceNow: Double((due - .now) / .milliseconds(1)) / 1000 + 0.001))
                        } else if chunks.isEmpty && ended {
                            return
                        } else {
                            condition.wait(until: Date(timeIntervalSinceNow: 0.05))
                        }
                    }
                }
                guard let bytes = next else { break }
                var offset = 0
                while offset < bytes.count {
                    let sent = bytes[offset...].withUnsafeBytes { send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if sent < 0 && errno == EINTR { continue }
                    if sent <= 0 { return close() }
                    offset += sent
                }
            }
            // The source ended and everything it sent went out: pass the end on.
            shutdown(destination, Int32(SHUT_WR))
        }
    }
}
