/// What `PQping` learned about a server, without authenticating (libpq docs, `PQpingParams`).
///
/// Used to wait for a freshly started Postgres or PgBouncer: `.rejected` already means the
/// server is up (for example, still starting, or refusing this role), unlike `.noResponse`.
public enum PostgresPingResult: Sendable, Equatable {
    /// The server accepts connections.
    case ok
    /// The server is alive but refuses connections (starting up, shutting down, too many clients).
    case rejected
    /// Nothing answered: not listening, or unreachable.
    case noResponse
    /// The conninfo string itself is invalid; no attempt was made.
    case noAttempt
}
