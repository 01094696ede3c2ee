import Proxy
import Telemetry

/// Counts the proxy's refusals before admission in `tiergate_connections_refused_total`
/// with tier `none` (no tier is known before admission), with or without tier gating.
public struct SessionMetrics: SessionObserver {
    let metrics: TierGateMetrics

    public init(_ metrics: TierGateMetrics) {
        self.metrics = metrics
    }

    public func refusedBeforeAdmission(_ refusal: StartupRefusal) {
        switch refusal {
        case .protocolViolation: metrics.refused(.protocol, tier: nil)
        case .loginTimeout: metrics.refused(.loginTimeout, tier: nil)
        }
    }
}
