import Logging

/// What every session of one proxy shares: the admission policy, the cancel-key registry,
/// the logger, limits. Immutable, so sessions on different loops read it without locks.
final class SessionContext: Sendable {
    let admitter: any SessionAdmitter
    let cancelRegistry: CancelRegistry
    let logger: Logger
    let loginTimeout: Duration
    let maxInspectedMessage: Int
    let sessionEnded: @Sendable (_ id: UInt64) -> Void
    /// Told of refusals before admission (protocol, login timeout).
    let observer: (any SessionObserver)?
    /// The certificate clients see, nil without TLS; `clientTLS` says what clients may do.
    let tlsCredentials: TLSCredentials?
    let clientTLS: ClientTLSMode
    let tlsStatistics: TLSStatistics
    /// TLS towards the upstream; nil: plain text.
    let upstreamTLS: UpstreamTLS?

    init(admitter: any SessionAdmitter, cancelRegistry: CancelRegistry, logger: Logger,
         loginTimeout: Duration, maxInspectedMessage: Int, observer: (any SessionObserver)? = nil,
         tlsCredentials: TLSCredentials? = nil, clientTLS: ClientTLSMode = .disable,
         tlsStatistics: TLSStatistics = TLSStatistics(), upstreamTLS: UpstreamTLS? = nil,
         sessionEnded: @escaping @Sendable (UInt64) -> Void) {
        self.observer = observer
        self.tlsCredentials = tlsCredentials
        self.clientTLS = tlsCredentials == nil ? .disable : clientTLS
        self.tlsStatistics = tlsStatistics
        self.upstreamTLS = upstreamTLS?.mode == .disable ? nil : upstreamTLS
        self.admitter = admitter
        self.cancelRegistry = cancelRegistry
        self.logger = logger
        self.loginTimeout = loginTimeout
        self.maxInspectedMessage = maxInspectedMessage
        self.sessionEnded = sessionEnded
    }
}

