import Logging
import SocketIO

/// The admin console on a Unix domain socket: `socat - UNIX-CONNECT:PATH` or
/// `tiergate admin --socket PATH COMMAND...`. A line protocol served by the control plane's
/// socket layer (`ControlServer`).
///
/// Guarantees:
/// - The socket is created with mode 0600: only its owner (and root) can connect, since the
///   commands change what every client is allowed.
/// - Starting refuses when PATH is a socket another process is listening on (a second
///   TierGate with the same flags), and replaces a stale socket left by a crashed one.
///   Anything at PATH that is not a socket is refused, never deleted.
/// - Commands may block on MongoDB/Redis, so they run off the socket's loop, one at a time
///   per connection: replies come back in the order of the lines.
/// - A line over `lineLimit` bytes is answered with an error and discarded unread; the
///   connection stays usable. A client that does not take its replies for 5 s is dropped;
///   an idle console stays open.
public final class AdminSocketServer: Sendable {
    public let path: String
    private let logger: Logger
    private let server: ControlServer

    /// A client that stops reading its replies is dropped after this long.
    public static let writeTimeout: Duration = .seconds(5)

    public init(path: String, backend: any AdminBackend, lineLimit: Int = 4096, logger: Logger) throws(AdminSocketError) {
        self.path = path
        self.logger = logger
        let console = AdminConsole(conversation: AdminConversation(lineLimit: lineLimit), backend: backend, logger: logger)
        do {
            server = try ControlServer(unixPath: path, handler: console,
                                       configuration: .init(idleTimeout: nil, writeTimeout: Self.writeTimeout))
        } catch {
            throw AdminSocketError(path: path, reason: error.message)
        }
    }

    public func start() {
        server.start { [logger] code in logger.error("admin accept failed", metadata: ["errno": "\(code)"]) }
        logger.info("admin socket listening", metadata: ["admin_socket": "\(path)"])
    }

    /// Stops accepting, removes the socket file and closes every open connection.
    public func stop(completion: @escaping @Sendable () -> Void = {}) {
        server.stop(completion: completion)
    }
}

public struct AdminSocketError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "admin socket \(path): \(reason)" }
}

/// The admin line protocol on one connection: each line answered with one JSON line, a
/// command's line by running it on the backend off the loop.
private struct AdminConsole: ControlRequestHandler {
    let conversation: AdminConversation
    let backend: any AdminBackend
    let logger: Logger

    func makeFramer() -> RequestFramer {
        AdminLineBuffer.framer(limit: conversation.lineLimit)
    }

    func respond(to frame: RequestFramer.Frame) -> ControlResponse {
        switch conversation.step(for: AdminLineBuffer.line(frame)) {
        case .reply(let reply):
            return .reply(Array(reply.line.utf8))
        case .run(let command):
            return .work { [backend, logger] in
                let reply = backend.execute(command)
                logger.info("admin command", metadata: ["command": "\(command)", "ok": "\(reply.ok)"])
                return Array(reply.line.utf8)
            }
        }
    }
}
