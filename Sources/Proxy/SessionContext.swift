import Logging
import Telemetry

/// What every session of one proxy shares: the admission policy, the cancel-key registry,
/// the logger, limits. Immutable, so sessions on different loops read it without locks.
final class SessionContext: Sendable {
    let admitter: any SessionAdmitter
    let cancelRegistry: CancelRegistry
    let logger: Logger
    let loginTimeout: Duration
    let maxInspectedMessage: Int
    let sessionEnded: @Sendable (_ id: UInt64) -> Void
    /// Refusals before admission (protocol, login timeout) and upstream failures (issue 8).
    let metrics: TierGateMetrics?

    init(admitter: any SessionAdmitter, cancelRegistry: CancelRegistry, logger: Logger,
         loginTimeout: Duration, maxInspectedMessage: Int, metrics: TierGateMetrics? = nil,
         sessionEnded: @escaping @Sendable (UInt64) -> Void) {
        self.metrics = metrics
        self.admitter = admitter
        self.cancelRegistry = cancelRegistry
        self.logger = logger
        self.loginTimeout = loginTimeout
        self.maxInspectedMessage = maxInspectedMessage
        self.sessionEnded = sessionEnded
    }
}

