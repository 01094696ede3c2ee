import PostgresWire
import TierModel

/// Everything the client-facing FATAL for an org at its connection ceiling says (docs/design.md#error-shapes).
///
/// The proxy sends it as an ErrorResponse with `sqlState`, `message`, `detail` and `hint`;
/// this type is the one source of their text, so logs, metrics and the wire agree.
public struct ConnectionRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// `too_many_connections`: what Postgres itself reports when max_connections is reached,
    /// so pools and drivers treat the refusal as "too many connections" and back off.
    public static let sqlState = SQLState.tooManyConnections
    /// The DETAIL object's `error` field.
    public static let errorCode = "connection_limit_exceeded"

    public let org: OrgId
    public let tier: Tier
    /// Sessions the org held when refused.
    public let current: Int
    /// The ceiling in effect.
    public let max: Int
    public let suggestion: UpgradeHint

    public init(org: OrgId, tier: Tier, current: Int, max: Int, suggestion: UpgradeHint) {
        self.org = org
        self.tier = tier
        self.current = current
        self.max = max
        self.suggestion = suggestion
    }

    /// `connection limit exceeded for org "org_acme": 5 of 5 (tier FREE)`.
    public var message: String {
        "connection limit exceeded for org \"\(org)\": \(current) of \(max) (tier \(tier))"
    }

    /// The DETAIL object as compact JSON, keys in the order docs/design.md#error-shapes shows, for clients
    /// and dashboards that parse it:
    /// `{"error":"connection_limit_exceeded","tier":"FREE","current":5,"max":5,"suggestion":"..."}`.
    public var detail: String {
        JSONValue.object([
            "error": .string(Self.errorCode),
            "tier": .string(tier.rawValue),
            "current": .integer(current),
            "max": .integer(max),
            "suggestion": .string(suggestion.text),
        ]).serialized
    }

    /// The upgrade suggestion, shown by psql as `HINT:`.
    public var hint: String { suggestion.text }

    public var description: String { message }
}
