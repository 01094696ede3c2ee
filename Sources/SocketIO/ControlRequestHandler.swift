/// A request/response protocol served by a `ControlServer` (the /metrics endpoint, the admin
/// console): how its requests are framed and bounded, and the answer to each.
///
/// `respond` is called on the server's loop, one request at a time, in the order the requests
/// arrived, and never while an earlier request's work is still running; it must not block.
/// Work that may block goes into `ControlResponse.work`.
public protocol ControlRequestHandler: Sendable {
    /// A fresh framer for a new connection: its delimiter, limit and overflow rule.
    func makeFramer() -> RequestFramer

    /// The answer to one request, or to one that was too large.
    func respond(to frame: RequestFramer.Frame) -> ControlResponse
}

/// What a connection does with one request: write bytes at once, or run work off the loop and
/// write what it returns; then either read the next request or close.
public struct ControlResponse: Sendable {
    public enum Body: Sendable {
        case ready([UInt8])
        /// Runs on the server's work queue (it may block on a database); its bytes are written
        /// back on the loop, before anything answering a later request.
        case work(@Sendable () -> [UInt8])
    }

    public var body: Body
    /// Close the connection once the reply is written (HTTP's `Connection: close`, an
    /// oversized request whose end cannot be found).
    public var thenClose: Bool

    public init(body: Body, thenClose: Bool) {
        self.body = body
        self.thenClose = thenClose
    }

    public static func reply(_ bytes: [UInt8], thenClose: Bool = false) -> ControlResponse {
        ControlResponse(body: .ready(bytes), thenClose: thenClose)
    }

    public static func work(thenClose: Bool = false, _ produce: @escaping @Sendable () -> [UInt8]) -> ControlResponse {
        ControlResponse(body: .work(produce), thenClose: thenClose)
    }
}
