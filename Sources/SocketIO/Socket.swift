import CLinux
import PostgresWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin, non-blocking POSIX socket calls. Every descriptor made here is O_NONBLOCK and
/// close-on-exec; every call reports "would block" as a value, never by blocking.
public enum Socket {
    public enum IOResult: Equatable {
        case bytes(Int)
        case wouldBlock
        case closed
        case failed(Int32)
    }

    public static func listen(on endpoint: Endpoint, backlog: Int32 = 1024) throws(SocketError) -> Int32 {
        let addresses = try endpoint.resolve()
        var lastError = SocketError(operation: "listen on \(endpoint)", message: "no address")
        for address in addresses {
            let fd = makeSocket(family: address.family)
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = address.withSockaddr { bind(fd, $0, $1) }
            if bound == 0 && Glibc.listen(fd, backlog) == 0 { return fd }
            lastError = SocketError(operation: "listen on \(endpoint)", errno: errno)
            close(fd)
        }
        throw lastError
    }

    /// The port actually bound (for `:0` listeners in tests).
    public static func localPort(_ fd: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { ptr -> UInt16 in
            if family == AF_INET6 {
                return ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return ptr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    public enum AcceptResult {
        case accepted(Int32, peer: String)
        case wouldBlock
        case failed(Int32)
    }

    public static func accept(_ listener: Int32) -> AcceptResult {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        // accept4 sets non-blocking and close-on-exec in the same call: two syscalls fewer
        // per connection than accept + fcntl.
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                clinux_accept4(listener, $0, &length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            }
        }
        if fd < 0 {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock : .failed(errno)
        }
        setNoDelay(fd)
        let peer = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: length).text }
        }
        return .accepted(fd, peer: peer)
    }

    public enum ConnectStart {
        case inProgress(Int32)
        case connected(Int32)
        case failed(SocketError)
    }

    /// Starts a non-blocking connect; completion is signalled by writability, then `connectResult`.
    public static func startConnect(to address: SocketAddress) -> ConnectStart {
        let fd = makeSocket(family: address.family)
        guard fd >= 0 else { return .failed(SocketError(operation: "socket", errno: errno)) }
        setNoDelay(fd)
        let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return .connected(fd) }
        if errno == EINPROGRESS { return .inProgress(fd) }
        let error = SocketError(operation: "connect to \(address.text)", errno: errno)
        close(fd)
        return .failed(error)
    }

    /// After a non-blocking connect reports writable: 0 on success, else the errno.
    public static func connectResult(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }

    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if n > 0 { return .bytes(n) }
        if n == 0 { return .closed }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock
        default: return .failed(errno)
        }
    }

    /// MSG_NOSIGNAL: a peer that went away must be an error value, not a SIGPIPE.
    public static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> IOResult {
        let n = send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
        if n >= 0 { return .bytes(n) }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock
        case EPIPE, ECONNRESET: return .closed
        default: return .failed(errno)
        }
    }

    /// Writes several buffers in one call (sendmsg, so MSG_NOSIGNAL applies as for `write`).
    /// At most `maxBuffers` are taken; the result counts bytes over all of them.
    public static func write(_ fd: Int32, _ buffers: UnsafeMutableBufferPointer<iovec>) -> IOResult {
        var message = msghdr()
        message.msg_iov = buffers.baseAddress
        message.msg_iovlen = buffers.count
        let n = sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
        if n >= 0 { return .bytes(n) }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock
        case EPIPE, ECONNRESET: return .closed
        default: return .failed(errno)
        }
    }

    /// Sets SO_LINGER to zero, so `close` resets the connection instead of a graceful FIN.
    public static func setResetOnClose(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    private static func makeSocket(family: Int32) -> Int32 {
        socket(family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
    }

    /// Postgres messages are small and latency-bound; Nagle would hold them back.
    private static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}
