import Telemetry
import TierModel
import TierStore

extension TierLookupError {
    /// The `reason` label of `tiergate_connections_refused_total` for a failed lookup.
    var refusalReason: RefusalReason {
        switch self {
        case .unknownOrg: .unknownOrg
        case .invalidOrg: .invalidOrg
        case .unavailable: .tierUnavailable
        }
    }
}

extension AdmittedSession {
    /// The tier the session was admitted under, from its log metadata; nil without tiers.
    /// Read only on failure paths.
    var tier: Tier? {
        logMetadata["tier"].flatMap(Tier.init(rawValue:))
    }
}
