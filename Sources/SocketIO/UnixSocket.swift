#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Binds `path` as a listening, non-blocking, close-on-exec Unix stream socket that only
    /// its owner (and root) can connect to. The one place TierGate binds Unix sockets.
    ///
    /// Guarantees:
    /// - The socket is mode 0600 from the moment it exists: the umask is set while binding
    ///   (a chmod after bind alone would leave a window in which anyone could connect), then
    ///   chmod makes it explicit.
    /// - A socket at `path` that another process listens on is refused (a second TierGate
    ///   with the same flags); a stale one (nobody listening: ECONNREFUSED) is replaced.
    /// - Anything at `path` that is not a socket is refused and never deleted.
    ///
    /// Known limits: the umask is process-wide, so a file another thread creates during the
    /// bind gets it too.
    public static func listen(unixPath path: String, backlog: Int32 = 16) throws(SocketError) -> Int32 {
        let address = try unixAddress(path)
        try removeStale(path: path, address: address)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw unixError(path, "socket", errno: errno) }
        let previous = umask(0o177)
        let bound = withSockaddr(address) { bind(fd, $0, $1) }
        let bindErrno = errno
        umask(previous)
        guard bound == 0 else {
            close(fd)
            throw unixError(path, "bind", errno: bindErrno)
        }
        chmod(path, 0o600)
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = unixError(path, "listen", errno: errno)
            close(fd)
            unlink(path)
            throw error
        }
        return fd
    }

    private static func unixAddress(_ path: String) throws(SocketError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw unixError(path, "path must be 1 to \(capacity - 1) bytes long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        return address
    }

    private static func withSockaddr<R>(_ address: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// A socket nobody listens on (ECONNREFUSED) is a leftover of a process that died and is
    /// removed; a live one, or anything that is not a socket, stops the start.
    private static func removeStale(path: String, address: sockaddr_un) throws(SocketError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw unixError(path, "exists and is not a socket; not touching it")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw unixError(path, "socket", errno: errno) }
        defer { close(probe) }
        let connected = withSockaddr(address) { connect(probe, $0, $1) }
        // EAGAIN: a listener whose backlog is full is still a listener.
        if connected == 0 || errno == EAGAIN {
            throw unixError(path, "another process is listening on it (is another TierGate running?)")
        }
        guard errno == ECONNREFUSED else {
            throw unixError(path, "cannot tell whether it is in use: \(String(cString: strerror(errno)))")
        }
        unlink(path)
    }

    /// The operation names the path; the message is what an operator reads about it.
    private static func unixError(_ path: String, _ reason: String) -> SocketError {
        SocketError(operation: "listen on unix socket \(path)", message: reason)
    }

    private static func unixError(_ path: String, _ call: String, errno code: Int32) -> SocketError {
        unixError(path, "\(call): \(String(cString: strerror(code)))")
    }
}
