import Foundation
import PostgresWire
#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback socket for tests that speak the protocol by hand: malformed packets,
/// timeouts, what exactly the proxy answers.
final class RawConnection {
    let fd: Int32

    init(port: Int, receiveTimeout: TimeInterval = 10) throws {
        fd = try Self.connect(port: port)
        var tv = timeval(tv_sec: Int(receiveTimeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

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
