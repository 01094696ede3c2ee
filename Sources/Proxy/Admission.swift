import PostgresWire

/// The seam between the proxy's I/O and the policy that decides who may connect where.
/// Foundation: `DirectAdmission` sends everyone to one upstream. Tier gating plugs in here.
public protocol SessionAdmitter: Sendable {
    /// Decides on a session. May complete on any queue; must complete exactly once.
    func admit(_ request: AdmissionRequest, completion: @escaping @Sendable (AdmissionOutcome) -> Void)
}

public struct AdmissionRequest: Sendable {
    public var startup: StartupMessage
    public var peer: String
    /// The SNI host name the client sent in its TLS handshake; nil without TLS or SNI.
    public var serverName: String?
    /// Signals that the client left before the answer (for admitters that make it wait).
    public var cancellation: AdmissionCancellation

    public init(startup: StartupMessage, peer: String, serverName: String? = nil,
                cancellation: AdmissionCancellation = AdmissionCancellation()) {
        self.startup = startup
        self.peer = peer
        self.serverName = serverName
        self.cancellation = cancellation
    }
}

public enum AdmissionOutcome: Sendable {
    case admitted(AdmittedSession)
    case refused(ErrorResponse)
}

/// What an admitted session needs to run: where to go, what to send there, its timeouts,
/// and what to do when it ends.
public struct AdmittedSession: Sendable {
    public var upstream: Endpoint
    /// The startup message as it goes upstream (user, database, options may be rewritten).
    public var startup: StartupMessage
    /// Deadline for the upstream authentication to finish; nil keeps the login timeout.
    public var authenticationTimeout: Duration?
    /// Close the session after this long without a client statement; nil means never.
    public var idleTimeout: IdleTimeout?
    /// Cancel a statement that runs longer than this, whatever the session's settings; nil: never.
    public var statementTimeout: StatementTimeout?
    /// Per-message rules applied while relaying.
    public var rules: (any SessionRules)?
    /// Extra fields for the session's log lines (org, tier).
    public var logMetadata: [String: String]
    /// Called exactly once when the session ends, however it ends (frees a gate slot).
    public var onEnd: @Sendable () -> Void
    /// Called when the upstream cannot be reached or does not authenticate in time, before
    /// `onEnd`; nil: not reported.
    public var onUpstreamFailure: (@Sendable (UpstreamFailure) -> Void)?
    /// How the admitter reaches the open session later (`SessionCommand`); nil: it never does.
    public var mailbox: SessionMailbox?
    /// Called once on the session's loop, when the upstream tells the client it authenticated
    /// (AuthenticationOk), before the client sees it: nil lets the session go on, an error
    /// ends it there. What lets an admitter count only authenticated sessions against a
    /// ceiling. Must be quick and must not block (bookkeeping under a lock).
    public var confirmLogin: (@Sendable () -> ErrorResponse?)?
    /// Called when a settings check found settings raised and restored them (their names).
    public var onSettingsRestored: (@Sendable ([String]) -> Void)?

    public init(upstream: Endpoint, startup: StartupMessage, authenticationTimeout: Duration? = nil,
                idleTimeout: IdleTimeout? = nil, statementTimeout: StatementTimeout? = nil,
                rules: (any SessionRules)? = nil,
                logMetadata: [String: String] = [:], mailbox: SessionMailbox? = nil,
                onUpstreamFailure: (@Sendable (UpstreamFailure) -> Void)? = nil,
                confirmLogin: (@Sendable () -> ErrorResponse?)? = nil,
                onSettingsRestored: (@Sendable ([String]) -> Void)? = nil,
                onEnd: @escaping @Sendable () -> Void = {}) {
        self.mailbox = mailbox
        self.confirmLogin = confirmLogin
        self.onSettingsRestored = onSettingsRestored
        self.onUpstreamFailure = onUpstreamFailure
        self.upstream = upstream
        self.startup = startup
        self.authenticationTimeout = authenticationTimeout
        self.idleTimeout = idleTimeout
        self.statementTimeout = statementTimeout
        self.rules = rules
        self.logMetadata = logMetadata
        self.onEnd = onEnd
    }
}

/// Rules a session applies to individual messages while relaying. Called on the session's
/// loop queue; implementations must be quick and must not block.
public protocol SessionRules: Sendable {
    /// Message types from the client that the rules want to see whole.
    var inspectedFrontendMessages: [UInt8] { get }
    /// A client message: forward it, or answer it without involving the server.
    func filterFrontend(id: UInt8, payload: ArraySlice<UInt8>) -> FrontendVerdict
    /// An ErrorResponse from the server, possibly rewritten (e.g. an upgrade hint added).
    func decorate(error: ErrorResponse) -> ErrorResponse
    /// Whether a client message may change settings in ways its text does not show (a DO
    /// block, a function call, text the rules cannot read): the proxy then checks the
    /// settings at the session's next idle point with `settingsCheck`.
    func mayChangeSettingsUnseen(id: UInt8, payload: ArraySlice<UInt8>) -> Bool
    /// The check; nil: these rules check nothing.
    var settingsCheck: SettingsCheck? { get }
}

extension SessionRules {
    public func mayChangeSettingsUnseen(id: UInt8, payload: ArraySlice<UInt8>) -> Bool { false }
    public var settingsCheck: SettingsCheck? { nil }
}

/// How a session's settings are checked at an idle point: one statement the proxy runs
/// itself (its replies never reach the client) that puts back every setting above the
/// session's value and returns one row per setting it put back (its name first). One
/// statement, so no client query can run between the check and the restore.
public struct SettingsCheck: Sendable, Equatable {
    public var statement: String

    public init(statement: String) { self.statement = statement }
}

public enum FrontendVerdict: Sendable {
    case forward
    /// Send these bytes upstream instead (a whole message). Refusals are rewritten into a
    /// statement that makes Postgres raise the error itself, so the protocol's error
    /// sequence (transaction abort, extended-protocol skip-until-Sync) stays Postgres' own.
    case replace([UInt8])
    /// Do not forward; send these bytes to the client instead (an ErrorResponse and a
    /// ReadyForQuery, for a refused simple query).
    case answer([UInt8])
}

/// Everyone goes to one upstream, unchanged: the transparent proxy.
public struct DirectAdmission: SessionAdmitter {
    public var upstream: Endpoint

    public init(upstream: Endpoint) { self.upstream = upstream }

    public func admit(_ request: AdmissionRequest, completion: @escaping @Sendable (AdmissionOutcome) -> Void) {
        completion(.admitted(AdmittedSession(upstream: upstream, startup: request.startup)))
    }
}
