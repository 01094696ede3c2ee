import PostgresWire
import TierModel

/// Everything the client-facing FATAL for an org over its connect rate says, in the shape
/// of the ceiling refusal (`ConnectionRefusal`): one message, DETAIL as compact JSON, the
/// upgrade suggestion as HINT. SQLSTATE 53300 too, so pools and drivers back off as they do
/// for "too many connections".
public struct ConnectRateRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public static let sqlState = ConnectionRefusal.sqlState
    /// The DETAIL's `error` field.
    public static let errorCode = "connection_rate_exceeded"

    public let org: OrgId
    public let tier: Tier
    /// Connections per second, and at once, the tier allows.
    public let rate: Double
    public let burst: Int
    /// When the next connection may succeed.
    public let retryAfter: Duration
    public let suggestion: UpgradeHint

    public init(org: OrgId, tier: Tier, rate: Double, burst: Int, retryAfter: Duration, suggestion: UpgradeHint) {
        self.org = org
        self.tier = tier
        self.rate = rate
        self.burst = burst
        self.retryAfter = retryAfter
        self.suggestion = suggestion
    }

    /// `connection rate exceeded for org "org_acme": more than 10 at once or 5 per second (tier FREE)`.
    public var message: String {
        "connection rate exceeded for org \"\(org)\": more than \(burst) at once or \(PostgresUnits.real(rate)) per second (tier \(tier))"
    }

    /// `{"error":"connection_rate_exceeded","tier":"FREE","rate":5,"burst":10,"retryAfterMs":200,"suggestion":"..."}`.
    public var detail: String {
        JSONValue.object([
            "error": .string(Self.errorCode),
            "tier": .string(tier.rawValue),
            "rate": rate == rate.rounded() && abs(rate) < 1e15 ? .integer(Int(rate)) : .double(rate),
            "burst": .integer(burst),
            "retryAfterMs": .integer(Int((retryAfter.seconds * 1000).rounded(.up))),
            "suggestion": .string(suggestion.text),
        ]).serialized
    }

    public var hint: String { suggestion.text }

    public var description: String { message }
}
