import TierModel

/// The connection-level timeouts a tier imposes, as durations for the proxy's timers.
/// (statement_timeout is enforced by Postgres itself through `SessionSettings`.)
public struct TimeoutRules: Sendable, Equatable {
    /// How long a client may take from accept to finished authentication
    /// (`postgres.connectionTimeout`; FREE 5s ... ENTERPRISE 30s, docs/design.md#tier-matrix).
    public let login: Duration
    /// How long a session may sit without traffic before it is closed
    /// (`lifecycle.idleTimeout`; FREE 5 min, STARTER 15 min); nil = never (PRO, ENTERPRISE).
    public let idle: Duration?

    public init(login: Duration, idle: Duration?) {
        self.login = login
        self.idle = idle
    }

    public init(limits: TierLimits) {
        login = .milliseconds(limits.postgres.connectionTimeout)
        idle = limits.lifecycle.idleTimeout.map { .milliseconds($0) }
    }

    /// When a client accepted at `acceptedAt` must have finished logging in.
    public func loginDeadline<Instant: InstantProtocol>(acceptedAt: Instant) -> Instant
    where Instant.Duration == Duration {
        acceptedAt.advanced(by: login)
    }

    /// When a session last active at `lastActivity` is idle-closed; nil when never.
    public func idleDeadline<Instant: InstantProtocol>(lastActivity: Instant) -> Instant?
    where Instant.Duration == Duration {
        idle.map { lastActivity.advanced(by: $0) }
    }
}
