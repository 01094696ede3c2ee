import PostgresWire

/// What the admitter may ask of an open session from outside its loop, through the
/// session's `SessionMailbox`.
public enum SessionCommand: Sendable {
    /// New rules and timeouts for the rest of the session (a new tier, say).
    case update(SessionUpdate)
    /// End the session with this FATAL.
    case terminate(ErrorResponse)
}

/// New terms for an open session. The rules, idle timeout and log fields apply from the
/// next message on; the settings statement waits for the session's next idle point
/// (`SettingsInjection`), so a running query keeps the limits it started with.
public struct SessionUpdate: Sendable {
    public var rules: (any SessionRules)?
    public var idleTimeout: IdleTimeout?
    /// For statements that start from now on (a running one keeps the timeout it began with).
    public var statementTimeout: StatementTimeout?
    /// Fields added to, or replacing, the session's log metadata.
    public var logMetadata: [String: String]
    /// A statement the proxy runs itself at the next idle point, its replies kept from the
    /// client (`SET work_mem = ...; SET ...`); nil: none.
    public var settingsStatement: String?

    public init(rules: (any SessionRules)?, idleTimeout: IdleTimeout?, statementTimeout: StatementTimeout? = nil,
                logMetadata: [String: String] = [:], settingsStatement: String? = nil) {
        self.rules = rules
        self.idleTimeout = idleTimeout
        self.statementTimeout = statementTimeout
        self.logMetadata = logMetadata
        self.settingsStatement = settingsStatement
    }
}
