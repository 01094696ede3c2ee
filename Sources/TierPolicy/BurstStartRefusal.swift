import TierModel

/// Why BURST START did not ask the shared ledger for a burst.
public enum BurstStartRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The org's tier could not be looked up.
    case lookup(String)
    /// No enabled `burst_scaling` add-on above the org's tier: nothing to burst to, and
    /// nothing the org would be billed for.
    case noAddon(Tier)
    /// No Redis configured, or unreachable: the burst state lives there.
    case unavailable

    public var description: String {
        switch self {
        case .lookup(let reason): reason
        case .noAddon(let tier): "the org (\(tier)) has no enabled burst_scaling add-on to a higher tier"
        case .unavailable: "bursts unavailable (they need --redis, and Redis must be reachable)"
        }
    }
}
