import Metrics

/// Client TLS metrics: handshakes by kind, handshake failures by reason, TLS sessions open.
/// Every handle is made once, from closed label sets given at start (the reasons are the
/// TLS layer's own closed set); the figures are pulled from the proxy's counters at scrape
/// time (`update`), as deltas for the counters.
public final class TLSMetrics: Sendable {
    public enum Name {
        public static let handshakes = "tiergate_tls_handshakes_total"
        public static let handshakeFailures = "tiergate_tls_handshake_failures_total"
        public static let sessions = "tiergate_tls_sessions"
    }

    /// `kind`: "negotiated" (after an SSLRequest) or "direct".
    private let negotiated: Counter
    private let direct: Counter
    private let failures: [String: Counter]
    private let sessions: Meter

    public init(failureReasons: [String], factory: any MetricsFactory = MetricsSystem.factory) {
        negotiated = Counter(label: Name.handshakes, dimensions: [("kind", "negotiated")], factory: factory)
        direct = Counter(label: Name.handshakes, dimensions: [("kind", "direct")], factory: factory)
        failures = Dictionary(uniqueKeysWithValues: failureReasons.map {
            ($0, Counter(label: Name.handshakeFailures, dimensions: [("reason", $0)], factory: factory))
        })
        sessions = Meter(label: Name.sessions, dimensions: [], factory: factory)
    }

    /// Adds what happened since the last call; `openSessions` is the current count.
    public func update(negotiatedHandshakes: Int, directHandshakes: Int, failures newFailures: [String: Int], openSessions: Int) {
        if negotiatedHandshakes > 0 { negotiated.increment(by: negotiatedHandshakes) }
        if directHandshakes > 0 { direct.increment(by: directHandshakes) }
        for (reason, count) in newFailures where count > 0 { failures[reason]?.increment(by: count) }
        sessions.set(openSessions)
    }
}
