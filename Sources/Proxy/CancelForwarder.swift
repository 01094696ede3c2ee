import Dispatch
import Logging
import SocketIO
import PostgresWire
#if canImport(Glibc)
import Glibc
#endif

/// Delivers a CancelRequest to the upstream that owns the key. Cancels are rare and carry no
/// reply, so a short-lived blocking socket on a global queue (never a loop queue) is enough.
enum CancelForwarder {
    static func send(_ request: CancelRequest, to upstream: Endpoint, logger: Logger) {
        DispatchQueue.global().async {
            do {
                guard let address = try upstream.numericAddress() ?? upstream.resolve().first else { return }
                let fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
                guard fd >= 0 else { return }
                defer { close(fd) }
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
                    throw SocketError(operation: "connect to \(upstream)", errno: errno)
                }
                let packet = request.encoded()
                _ = packet.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            } catch {
                logger.warning("could not forward cancel request", metadata: [
                    "upstream": "\(upstream)", "error": "\(error)"])
            }
        }
    }
}
