import TierModel

/// Why an org's tier could not be had. Each case maps to one client-facing SQLSTATE in the
/// proxy; the resolver never guesses a tier instead.
public enum TierLookupError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No such org in the source of truth.
    case unknownOrg(OrgId)
    /// The org exists but its document cannot be used (no tier, unknown tier, ...).
    case invalidOrg(OrgId, reason: String)
    /// The source of truth is down and no cache knows the org.
    case unavailable(OrgId, reason: String)

    public var description: String {
        switch self {
        case .unknownOrg(let org): "org \"\(org)\" does not exist"
        case .invalidOrg(_, let reason): reason
        case .unavailable(let org, let reason): "tier of org \"\(org)\" unavailable: \(reason)"
        }
    }
}
