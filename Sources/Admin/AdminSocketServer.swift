import Dispatch
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The admin console on a Unix domain socket (issue 5): `socat - UNIX-CONNECT:PATH` or
/// `tiergate admin --socket PATH COMMAND...`.
///
/// Guarantees:
/// - The socket is created with mode 0600 (umask while binding, then chmod): only its owner
///   (and root) can connect, since the commands change what every client is allowed.
/// - Starting refuses when PATH is a socket another process is listening on (a second
///   TierGate with the same flags), and replaces a stale socket left by a crashed one.
///   Anything at PATH that is not a socket is refused, never deleted.
/// - Each connection runs its commands one at a time on its own serial queue (commands may
///   block on MongoDB/Redis), so replies come back in the order of the lines.
public final class AdminSocketServer: @unchecked Sendable {
    public let path: String
    private let backend: any AdminBackend
    private let logger: Logger
    private let lineLimit: Int
    private let listenFD: Int32
    private let acceptQueue = DispatchQueue(label: "tiergate.admin.accept")
    private let source: DispatchSourceRead
    private let connections = NSLock()
    private var open: [ObjectIdentifier: AdminConnection] = [:]  // guarded by `connections`

    public init(path: String, backend: any AdminBackend, lineLimit: Int = 4096, logger: Logger) throws(AdminSocketError) {
        self.path = path
        self.backend = backend
        self.logger = logger
        self.lineLimit = lineLimit
        listenFD = try Self.bindListening(path: path)
        source = DispatchSource.makeReadSource(fileDescriptor: listenFD, queue: acceptQueue)
    }

    public func start() {
        let fd = listenFD
        source.setEventHandler { [weak self] in self?.acceptAll() }
        source.setCancelHandler { _ = close(fd) }
        source.resume()
        logger.info("admin socket listening", metadata: ["admin_socket": "\(path)"])
    }

    /// Stops accepting and removes the socket file.
    public func stop() {
        source.cancel()
        unlink(path)
    }

    private func acceptAll() {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    logger.error("admin accept failed", metadata: ["errno": "\(errno)"])
                }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            // Replies are written blocking, with a bound: a client that stops reading is
            // dropped after 5 s instead of holding its queue forever.
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let connection = AdminConnection(fd: fd, backend: backend, lineLimit: lineLimit, logger: logger) { [weak self] ended in
                guard let self else { return }
                connections.withLock { _ = open.removeValue(forKey: ObjectIdentifier(ended)) }
            }
            connections.withLock { open[ObjectIdentifier(connection)] = connection }
            connection.start()
        }
    }

    /// Binds PATH as a listening, non-blocking Unix socket with mode 0600.
    static func bindListening(path: String) throws(AdminSocketError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw AdminSocketError(path: path, reason: "path must be 1 to \(capacity - 1) bytes long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        try removeStale(path: path, address: address)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AdminSocketError(path: path, reason: "socket: \(String(cString: strerror(errno)))") }
        // The umask makes the socket 0600 from the moment it exists: chmod after bind alone
        // would leave a window in which anyone could connect.
        let previous = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let bindErrno = errno
        umask(previous)
        guard bound == 0 else {
            close(fd)
            throw AdminSocketError(path: path, reason: "bind: \(String(cString: strerror(bindErrno)))")
        }
        chmod(path, 0o600)
        guard listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(path)
            throw AdminSocketError(path: path, reason: "listen: \(reason)")
        }
        return fd
    }

    /// A socket nobody listens on (ECONNREFUSED) is a leftover and is removed; a live one,
    /// or anything that is not a socket, stops the start.
    private static func removeStale(path: String, address: sockaddr_un) throws(AdminSocketError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw AdminSocketError(path: path, reason: "exists and is not a socket; not touching it")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        defer { close(probe) }
        var address = address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 || errno == EAGAIN {
            throw AdminSocketError(path: path, reason: "another process is listening on it (is another TierGate running?)")
        }
        guard errno == ECONNREFUSED else {
            throw AdminSocketError(path: path, reason: "cannot tell whether it is in use: \(String(cString: strerror(errno)))")
        }
        unlink(path)
    }
}

public struct AdminSocketError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "admin socket \(path): \(reason)" }
}

/// One admin client: reads on a Dispatch read source, runs commands in line order on its
/// own serial queue, writes one JSON line per command.
final class AdminConnection: @unchecked Sendable {
    private let fd: Int32
    private let backend: any AdminBackend
    private let logger: Logger
    private let queue = DispatchQueue(label: "tiergate.admin.connection")
    private let source: DispatchSourceRead
    private var conversation: AdminConversation  // used on `queue` only
    private var closed = false                    // used on `queue` only
    private let onClose: (AdminConnection) -> Void

    init(fd: Int32, backend: any AdminBackend, lineLimit: Int, logger: Logger, onClose: @escaping (AdminConnection) -> Void) {
        self.fd = fd
        self.backend = backend
        self.logger = logger
        self.onClose = onClose
        conversation = AdminConversation(lineLimit: lineLimit)
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
    }

    func start() {
        source.setEventHandler { [self] in readAvailable() }
        source.setCancelHandler { [fd] in _ = close(fd) }
        source.resume()
    }

    private func readAvailable() {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n == 0 { finish(); return }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            finish()
            return
        }
        for step in conversation.receive(buffer[0..<n]) {
            guard !closed else { return }
            let reply: AdminReply
            switch step {
            case .reply(let ready):
                reply = ready
            case .run(let command):
                reply = backend.execute(command)
                logger.info("admin command", metadata: ["command": "\(command)", "ok": "\(reply.ok)"])
            }
            write(reply.line)
        }
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                finish()
                return
            }
            bytes = bytes.dropFirst(n)
        }
    }

    private func finish() {
        guard !closed else { return }
        closed = true
        source.cancel()
        onClose(self)
    }
}
