import PostgresWire
import Proxy

/// Every error tier policy shows a client, and its SQLSTATE, in one place (the proxy's own,
/// tier-free ones are `ClientError`). Messages follow Postgres' style (lower case, no
/// trailing period).
public enum TierClientError: Error, Sendable, Equatable {
    /// The startup user has no `.orgId` suffix (28000, like an unknown role).
    case orgMissing(user: String, reason: String)
    case unknownOrg(String)
    /// The TLS server name names one org and the user name another.
    case orgConflict(user: String, serverNameOrg: String)
    /// The org's record cannot be used: nothing the client can fix, so it says whom to ask.
    case invalidOrg(String, reason: String)
    /// The org's document does not list this role among those that may connect for it:
    /// refused before any backend starts, as Postgres refuses a role it does not know.
    case roleNotAllowed(role: String, org: String)
    /// A database the org's document does not list, in Postgres' own words.
    case databaseDoesNotExist(String)
    /// MongoDB is down and no cache knows the org (57P03 cannot_connect_now: retry).
    case tierUnavailable(String)
    /// After a downgrade below current use and its grace period, the newest excess sessions
    /// are closed (53300, as for a refused connection over the ceiling). `burstEndedFrom`:
    /// the burst tier, when the ceiling fell because a burst ended rather than because
    /// billing changed the tier.
    case downgradeExcess(org: String, tier: String, ceiling: Int, open: Int, graceSeconds: Int,
                         burstEndedFrom: String? = nil)
    /// Postgres' idle_session_timeout (57P05), naming the tier that sets it.
    case idleSessionTimeout(seconds: Double, tier: String)
    /// A newer login of the org (from the same address, or over the org's bound) took this
    /// login's place before it authenticated.
    case loginDisplaced(org: String, loginsInProgress: Int)

    public var sqlState: SQLState {
        switch self {
        case .orgMissing, .orgConflict, .unknownOrg, .invalidOrg, .roleNotAllowed: .invalidAuthorizationSpecification
        case .databaseDoesNotExist: .invalidCatalogName
        case .tierUnavailable: .cannotConnectNow
        case .downgradeExcess, .loginDisplaced: .tooManyConnections
        case .idleSessionTimeout: .idleSessionTimeout
        }
    }

    public var errorResponse: ErrorResponse {
        switch self {
        case .orgMissing(let user, let reason):
            return fatal("user name \"\(user)\" does not name an org", detail: reason,
                         hint: "Connect as <role>.<orgId>, for example \"app.org_acme\".")
        case .unknownOrg(let org):
            return fatal("org \"\(org)\" does not exist")
        case .orgConflict(let user, let org):
            return fatal("user name \"\(user)\" names another org than the TLS server name (\"\(org)\")",
                         hint: "Connect as <role> or <role>.\(org) to this host name.")
        case .invalidOrg(let org, let reason):
            return fatal("org \"\(org)\" cannot be admitted: its tier record is invalid",
                         detail: reason, hint: "Contact support: the org's billing record needs fixing.")
        case .roleNotAllowed(let role, let org):
            return fatal("role \"\(role)\" may not connect for org \"\(org)\"",
                         hint: "Connect as one of the org's roles: <role>.\(org).")
        case .databaseDoesNotExist(let database):
            return fatal("database \"\(database)\" does not exist")
        case .tierUnavailable(let org):
            return fatal("the tier of org \"\(org)\" cannot be determined right now", hint: "Retry in a few seconds.")
        case .downgradeExcess(let org, let tier, let ceiling, let open, let graceSeconds, let burstEndedFrom):
            let cause = burstEndedFrom.map { "'s burst to \($0) ended; its tier \(tier) has a ceiling of \(ceiling) connections" }
                ?? " was downgraded to \(tier), whose ceiling is \(ceiling) connections"
            return fatal("terminating connection: org \"\(org)\"\(cause)",
                         detail: "\(open) sessions were open when the \(graceSeconds) s grace period ended; the newest \(open - ceiling) are closed.",
                         hint: "Keep at most \(ceiling) connections open, or upgrade the org's tier.")
        case .loginDisplaced(let org, let logins):
            return fatal("too many logins in progress for org \"\(org)\": this one was the oldest",
                         detail: "At most \(logins) logins may be in progress at once; a newer one took this one's place.",
                         hint: "Complete the login promptly (send the password when asked), or open fewer connections at once.")
        case .idleSessionTimeout(let seconds, let tier):
            var error = ClientError.idleSessionTimeout(seconds: seconds).errorResponse
            error[.detail] = "The session was idle for \(Int(seconds)) s, the idle timeout of tier \(tier)."
            error[.hint] = "Reconnect when needed, or upgrade to PRO for sessions that never time out."
            return error
        }
    }

    private func fatal(_ message: String, detail: String? = nil, hint: String? = nil) -> ErrorResponse {
        ErrorResponse(severity: .fatal, sqlState: sqlState, message: message, detail: detail, hint: hint)
    }
}
