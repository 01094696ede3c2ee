import PostgresWire
import TierModel

/// The client-facing FATAL when the upstream server has no connection left for the
/// connection's tier. It says the server is at capacity and never blames the org's own
/// ceiling (the org may be far below it); the tier is in DETAIL, in the shape of the
/// ceiling refusal. 53300, as Postgres says "sorry, too many clients already".
public struct UpstreamCapacityRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public static let sqlState = ConnectionRefusal.sqlState
    public static let errorCode = "server_at_capacity"

    public let org: OrgId
    public let tier: Tier
    public let inUse: Int
    /// Sessions the tier may hold on this upstream.
    public let tierLimit: Int
    public let capacity: Int
    public let suggestion: UpgradeHint

    public init(org: OrgId, tier: Tier, inUse: Int, tierLimit: Int, capacity: Int, suggestion: UpgradeHint) {
        self.org = org
        self.tier = tier
        self.inUse = inUse
        self.tierLimit = tierLimit
        self.capacity = capacity
        self.suggestion = suggestion
    }

    public var message: String {
        "the database server is at capacity: no connection is free for this tier"
    }

    /// `{"error":"server_at_capacity","tier":"FREE","inUse":7,"tierLimit":7,"capacity":10,"suggestion":"..."}`.
    public var detail: String {
        JSONValue.object([
            "error": .string(Self.errorCode),
            "tier": .string(tier.rawValue),
            "inUse": .integer(inUse),
            "tierLimit": .integer(tierLimit),
            "capacity": .integer(capacity),
            "suggestion": .string(suggestion.text),
        ]).serialized
    }

    public var hint: String { suggestion.text }

    public var description: String { "\(message) (org \(org), tier \(tier))" }
}
