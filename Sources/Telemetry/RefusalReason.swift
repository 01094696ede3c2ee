/// Why a connection was refused, as the `reason` label of `tiergate_connections_refused_total`.
///
/// A closed set, so the label's values are known when the counters are created (one handle
/// per tier and reason, made once; nothing is formatted per connection).
public enum RefusalReason: String, Sendable, CaseIterable {
    /// The org is at its tier's ceiling (53300).
    case connectionLimit = "connection_limit"
    /// No org document (28000).
    case unknownOrg = "unknown_org"
    /// The org's document cannot be used (28000).
    case invalidOrg = "invalid_org"
    /// MongoDB is down and no cache knows the org (57P03).
    case tierUnavailable = "tier_unavailable"
    /// The startup user names no org (28000).
    case noOrg = "no_org"
    /// The org's document does not list the role among those that may connect for it (28000).
    case roleNotAllowed = "role_not_allowed"
    /// The client asked for a database the org's document does not list (3D000).
    case unknownDatabase = "unknown_database"
    /// The startup packet broke the protocol (08P01).
    case `protocol` = "protocol"
    /// No startup packet within the login timeout (08P01).
    case loginTimeout = "login_timeout"
    /// A login in progress displaced by a newer one of the same org before it authenticated (53300).
    case loginDisplaced = "login_displaced"
    /// The org opened connections faster than its tier's connect rate (53300).
    case connectRate = "connect_rate"
    /// The upstream had no connection left for the tier (53300).
    case upstreamCapacity = "upstream_capacity"
}

/// Why an admitted session failed before relaying, as the `reason` label of
/// `tiergate_upstream_failures_total`.
public enum UpstreamFailureReason: String, Sendable, CaseIterable {
    /// The org's Postgres (or PgBouncer) could not be reached (08006).
    case unreachable = "upstream_unreachable"
    /// Upstream authentication did not finish within the tier's connection timeout (08P01).
    case authenticationTimeout = "authentication_timeout"
}
