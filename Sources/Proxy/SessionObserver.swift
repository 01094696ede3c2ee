/// What the proxy reports about sessions that metrics (or anything else) may count: the
/// refusals that happen before any admission policy is asked, and upstream failures of
/// admitted sessions. Called on a loop queue: implementations must be quick.
public protocol SessionObserver: Sendable {
    func refusedBeforeAdmission(_ reason: EarlyRefusal)
    func upstreamFailed(_ failure: UpstreamFailure, admission: AdmittedSession)
}

/// Why a client was refused before its startup message reached the admitter.
public enum EarlyRefusal: Sendable, Equatable {
    case protocolViolation
    case loginTimeout
}

/// Why an admitted session never reached its upstream.
public enum UpstreamFailure: Sendable, Equatable {
    case unreachable
    case authenticationTimeout
}
