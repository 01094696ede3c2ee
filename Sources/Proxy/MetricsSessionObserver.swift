import Telemetry

/// Counts the proxy's early refusals and upstream failures in TierGate's metrics.
struct MetricsSessionObserver: SessionObserver {
    let metrics: TierGateMetrics

    func refusedBeforeAdmission(_ reason: EarlyRefusal) {
        switch reason {
        case .protocolViolation: metrics.refused(.protocol, tier: nil)
        case .loginTimeout: metrics.refused(.loginTimeout, tier: nil)
        }
    }

    func upstreamFailed(_ failure: UpstreamFailure, admission: AdmittedSession) {
        guard let tier = admission.tier else { return }
        switch failure {
        case .unreachable: metrics.upstreamFailed(.unreachable, tier: tier)
        case .authenticationTimeout: metrics.upstreamFailed(.authenticationTimeout, tier: tier)
        }
    }
}
