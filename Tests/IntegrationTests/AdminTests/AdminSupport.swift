import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A client of the admin socket speaking its line protocol by hand, as socat would.
final class AdminSocketClient {
    let fd: Int32
    private var pending: [UInt8] = []

    init(path: String, receiveTimeout: Int = 30) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw TestFailure("connect to admin socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var rest = bytes[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            rest = rest.dropFirst(n)
        }
    }

    /// The next reply line, parsed; throws on timeout or close.
    func readReply() throws -> [String: Any] {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !pending.contains(UInt8(ascii: "\n")) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw TestFailure("admin socket closed or timed out") }
            pending += buffer[0..<n]
        }
        let end = pending.firstIndex(of: UInt8(ascii: "\n"))!
        let line = Array(pending[..<end])
        pending.removeFirst(end + 1)
        guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw TestFailure("reply is not a JSON object: \(String(decoding: line, as: UTF8.self))")
        }
        return object
    }

    func command(_ line: String) throws -> [String: Any] {
        send(Array((line + "\n").utf8))
        return try readReply()
    }
}

enum AdminProxy {
    static func socketPath() -> String {
        // sun_path holds 108 bytes: a short path under /tmp, not the test's temp directory.
        "/tmp/tg-admin-\(UUID().uuidString.prefix(8)).sock"
    }

    /// A gating proxy on the stack with an admin socket; the long local cache TTL makes a
    /// missed invalidation visible instead of hidden by a 5 s expiry.
    static func start(socket: String = socketPath(), extra: [String] = [],
                      redis: String = Stack.redisURL) throws -> (TierGateProcess, String) {
        let proxy = try TierGateProcess(arguments: [
            "--upstream", "127.0.0.1:\(Stack.postgresPort)", "--mongo", Stack.mongoURL, "--redis", redis,
            "--local-cache-ttl", "600", "--admin-socket", socket] + extra)
        try waitFor("subscribed to tier invalidations", in: proxy)
        return (proxy, socket)
    }

    static func waitFor(_ text: String, in proxy: TierGateProcess, timeout: TimeInterval = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if proxy.log.contains(text) { return }
            usleep(20_000)
        }
        throw TestFailure("\"\(text)\" not logged within \(timeout) s:\n\(proxy.log)")
    }
}

/// Polls `body` until it returns true or `timeout` passes; returns whether it did.
func eventually(timeout: TimeInterval = 5, _ body: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try body() { return true }
        usleep(20_000)
    }
    return try body()
}
