import Proxy
import Telemetry
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

extension UpstreamFailure {
    /// The `reason` label of `tiergate_upstream_failures_total`.
    var reason: UpstreamFailureReason {
        switch self {
        case .unreachable: .unreachable
        case .authenticationTimeout: .authenticationTimeout
        }
    }
}
