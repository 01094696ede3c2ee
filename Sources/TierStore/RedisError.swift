/// Why a Redis call failed. The cases separate what a caller does next: an invalid URL is a
/// configuration error; `connectFailed`, `timeout` and `io` mean "treat the cache as down and
/// reconnect later" (docs/design.md#tier-source: MongoDB stays the source of truth); `server` is Redis
/// refusing one command, after which the connection is still usable.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `redis://` URL could not be parsed.
    case invalidURL(String, reason: String)
    /// No connection could be made (refused, unreachable, DNS, or connect timeout).
    case connectFailed(host: String, port: Int, message: String)
    /// A command did not complete within the command timeout. The connection is broken.
    case timeout(String)
    /// Reading or writing failed, or the server closed the connection. The connection is broken.
    case io(String)
    /// Redis answered with an error reply (`-ERR ...`, `-WRONGTYPE ...`), given verbatim.
    case server(String)
    /// Redis answered with a reply of a type the command never returns (a protocol mix-up).
    case unexpectedReply(command: String, reply: String)
    /// A command was issued on a connection already broken by an earlier failure.
    case connectionBroken

    public var description: String {
        switch self {
        case let .invalidURL(url, reason): "invalid Redis URL '\(url)': \(reason)"
        case let .connectFailed(host, port, message): "cannot connect to Redis at \(host):\(port): \(message)"
        case let .timeout(message): "Redis timeout: \(message)"
        case let .io(message): "Redis I/O error: \(message)"
        case let .server(message): "Redis error reply: \(message)"
        case let .unexpectedReply(command, reply): "unexpected Redis reply to \(command): \(reply)"
        case .connectionBroken: "Redis connection is broken; reconnect"
        }
    }
}
