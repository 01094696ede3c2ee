import Foundation
import PostgresWire
#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback socket for tests that speak the protocol by hand: malformed packets,
/// timeouts, what exactly the proxy answers.
final class RawConnection {
    /// -1 once `reset()` closed it.
    private(set) var fd: Int32

    init(port: Int, receiveTimeout: TimeInterval = 10) throws {
        fd = try Self.connect(port: port)
        var tv = timeval(tv_sec: Int(receiveTimeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Closes with a TCP reset instead of a FIN (SO_LINGER on with a zero timeout), as a
    /// client does that crashes, is killed with unread data, or loses its network path.
    func reset() {
        guard fd >= 0 else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
        fd = -1
    }

    /// The client's own port: the proxy's logs name a session's peer by it.
    var localPort: Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw TestFailure("connect to \(port): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends `message` over and over until the peer stops taking bytes (a send moved nothing
    /// for `stall` seconds: true) or about `limit` bytes went out (false). A stall means
    /// every buffer between here and the reader is full: whoever reads this socket (the proxy)
    /// has stopped reading it. The stream may end inside a message; reset it afterwards.
    func sendRepeatedlyUntilStalled(_ message: [UInt8], limit: Int, stall: TimeInterval) -> Bool {
        var tv = timeval(tv_sec: Int(stall), tv_usec: Int((stall - stall.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // Many copies per send: one syscall per 36-byte message would be slow.
        let batch = Array([[UInt8]](repeating: message, count: max(1, 64 * 1024 / message.count)).joined())
        var sent = 0
        // Only whole batches before the limit, so the bytes sent are whole messages.
        while sent < limit || sent % batch.count != 0 {
            let n = batch[(sent % batch.count)...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { return errno == EAGAIN || errno == EWOULDBLOCK }
            sent += n
        }
        return false
    }

    /// Reads the server's messages up to and including ReadyForQuery ('Z'), as after a
    /// login or a query; false if the connection closed or timed out first.
    func readUntilReadyForQuery() -> Bool {
        while true {
            let header = readExactly(5)
            guard header.count == 5 else { return false }
            let length = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
            guard length >= 4, readExactly(length - 4).count == length - 4 else { return false }
            if header[0] == UInt8(ascii: "Z") { return true }
        }
    }

    /// Reads until the peer closes (or the timeout), returning everything received.
    func readToEnd() -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return all }
            all += buffer[0..<n]
        }
    }

    func readExactly(_ count: Int) -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: count)
        while all.count < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - all.count, 0) }
            if n <= 0 { break }
            all += buffer[0..<n]
        }
        return all
    }

    /// True when the peer has closed: a read returns 0 bytes.
    var peerClosed: Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }
}

/// Splits the messages a server (or the proxy) sent and decodes the ErrorResponses.
enum ReceivedMessages {
    static func split(_ bytes: [UInt8]) -> [(id: UInt8, payload: ArraySlice<UInt8>)] {
        var messages: [(UInt8, ArraySlice<UInt8>)] = []
        var i = 0
        while i + 5 <= bytes.count {
            let length = Int(UInt32(bytes[i + 1]) << 24 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 8 | UInt32(bytes[i + 4]))
            guard length >= 4, i + 1 + length <= bytes.count else { break }
            messages.append((bytes[i], bytes[(i + 5)..<(i + 1 + length)]))
            i += 1 + length
        }
        return messages
    }

    static func errors(_ bytes: [UInt8]) -> [ErrorResponse] {
        split(bytes).compactMap { $0.id == 69 ? ErrorResponse.decode(payload: $0.payload) : nil }
    }
}
