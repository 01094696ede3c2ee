import PostgresWire

/// Where cancel keys are shared between proxy instances, so a CancelRequest that a load
/// balancer sends to another instance than the session's still reaches the right Postgres.
/// Each instance publishes the keys it hands its clients, with the backend key and upstream
/// they stand for, for the session's life; any instance finds them.
public protocol CancelKeyDirectory: Sendable {
    /// `clientKey` (the proxy's) cancels `backend` on `upstream` until withdrawn.
    func publish(_ clientKey: BackendKeyData, backend: BackendKeyData, upstream: Endpoint)
    func withdraw(_ clientKey: BackendKeyData)
    /// Looks a key up among every instance's; `completion` runs once on any queue, with nil
    /// when no instance has it (or the directory cannot be reached).
    func find(_ clientKey: BackendKeyData, completion: @escaping @Sendable (CancelTarget?) -> Void)
}

/// What a proxy cancel key stands for: the backend to cancel, and where it runs.
public struct CancelTarget: Sendable, Equatable {
    public var upstream: Endpoint
    public var backend: BackendKeyData

    public init(upstream: Endpoint, backend: BackendKeyData) {
        self.upstream = upstream
        self.backend = backend
    }
}

/// What became of a CancelRequest a client sent (for metrics).
public enum CancelRouting: String, Sendable, CaseIterable {
    /// The key was one of this instance's sessions'.
    case forwardedLocal = "forwarded_local"
    /// Another instance's session's, found in the directory.
    case forwardedShared = "forwarded_shared"
    /// No session has the key: ignored silently, as Postgres does.
    case unknown
    /// Over the per-address rate: ignored silently.
    case rateLimited = "rate_limited"
}
