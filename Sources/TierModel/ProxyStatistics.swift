/// What SHOW STATS shows: admissions, refusals by reason (the metrics' reason names),
/// cache layers, lookups, the cluster and client TLS. Counts only; the admin socket
/// renders them.
public struct ProxyStatistics: Sendable, Equatable {
    /// Client TLS: sessions open now, handshakes and failed handshakes by reason.
    public struct TLS: Sendable, Equatable {
        public var sessions = 0
        public var handshakes = 0
        public var directHandshakes = 0
        public var handshakeFailures = 0
        public var handshakeFailuresByReason: [String: Int] = [:]
        public init() {}
    }

    public var uptimeSeconds = 0
    public var admitted = 0
    public var open = 0
    public var loginsInProgress = 0
    public var queued = 0
    /// By refusal reason, as /metrics names them.
    public var refused: [String: Int] = [:]
    public var closedByDowngrade = 0
    /// Nil without shared session leases.
    public var cluster: ClusterStatistics?
    /// Where tier lookups were answered, per cache layer and at the source.
    public var lookups = LookupStats()
    /// Nil without client TLS.
    public var tls: TLS?

    public init() {}
}
