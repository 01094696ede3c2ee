import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP relay to a server that passes what the client sends at once and holds
/// what the server sends for `delay` before passing it on: a server that answers, late (a
/// congested link, a server starved of CPU). Each chunk is held `delay` from its arrival,
/// so the relay delays without throttling.
final class DelayingRelay: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let targetPort: Int
    private let delay: Mutex<Duration>
    private let sockets = Mutex<[Int32]>([])
    private let stopped = Mutex(false)

    init(toPort targetPort: Int, delay: Duration = .zero) throws {
        let (fd, port) = try FreePort.bindLoopback()
        guard listen(fd, 128) == 0 else {
            close(fd)
            throw TestFailure("relay: listen failed")
        }
        listener = fd
        self.port = port
        self.targetPort = targetPort
        self.delay = Mutex(delay)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Applies to chunks that arrive from now on.
    func setDelay(_ delay: Duration) { self.delay.withLock { $0 = delay } }

    /// Closes the listener and every relayed connection.
    func stop() {
        guard stopped.withLock({ stopped in defer { stopped = true }; return !stopped }) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in sockets.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    private func acceptLoop() {
        while !stopped.withLock({ $0 }) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            guard let server = connectToTarget() else {
                close(client)
                continue
            }
            sockets.withLock { $0 += [client, server] }
            let held = DispatchQueue(label: "relay.held")
            Thread.detachNewThread { [self] in copy(from: client, to: server, hold: nil) }
            Thread.detachNewThread { [self] in copy(from: server, to: client, hold: held) }
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
            close(fd)
            return nil
        }
        return fd
    }

    /// Copies until either side closes; with `hold`, each chunk goes out `delay` after it came.
    private func copy(from source: Int32, to destination: Int32, hold: DispatchQueue?) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(source, &buffer, buffer.count)
            guard count > 0 else { break }
            let chunk = Array(buffer[0..<count])
            if let hold {
                let wait = delay.withLock { $0 }
                hold.asyncAfter(deadline: .now() + .nanoseconds(Int(wait / .nanoseconds(1)))) {
                    Self.writeAll(chunk, to: destination)
                }
            } else if !Self.writeAll(chunk, to: destination) {
                break
            }
        }
        if let hold { hold.sync {} }
        shutdown(destination, Int32(SHUT_WR))
    }

    @discardableResult
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
