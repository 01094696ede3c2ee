import PostgresWire

/// How long an established session may stay quiet, and the FATAL it ends with then. A
/// session with a query in flight is busy, not idle, however long the query runs.
public struct IdleTimeout: Sendable {
    public var duration: Duration
    /// Postgres' own idle_session_timeout error (57P05) unless the admitter words its own
    /// (naming whose limit it is, say).
    public var error: ErrorResponse

    public init(_ duration: Duration, error: ErrorResponse? = nil) {
        self.duration = duration
        self.error = error ?? ClientError.idleSessionTimeout(seconds: duration.seconds).errorResponse
    }
}
