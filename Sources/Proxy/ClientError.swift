import PostgresWire

/// Every refusal a client can see, and its SQLSTATE, in one place. Messages follow Postgres'
/// style (lower case, no trailing period) so they read naturally in psql and driver logs.
public enum ClientError: Error, Sendable, Equatable {
    case noUserName
    case upstreamUnreachable(upstream: String, reason: String)
    case loginTimeout(seconds: Double)
    case authenticationTimeout(seconds: Double)
    case shuttingDown
    case custom(ErrorResponse)

    public var sqlState: String {
        switch self {
        case .noUserName: return "28000"              // invalid_authorization_specification
        case .upstreamUnreachable: return "08006"     // connection_failure
        case .loginTimeout, .authenticationTimeout: return "08P01"  // protocol_violation
        case .shuttingDown: return "57P01"            // admin_shutdown
        case .custom(let response): return response.sqlState ?? "XX000"
        }
    }

    public var errorResponse: ErrorResponse {
        switch self {
        case .noUserName:
            return fatal("no PostgreSQL user name specified in startup packet")
        case .upstreamUnreachable(let upstream, let reason):
            return fatal("TierGate could not connect to the database server at \(upstream)",
                         detail: reason, hint: "The server may be down or not accepting TCP/IP connections.")
        case .loginTimeout(let seconds):
            return fatal("startup packet not received within \(format(seconds)) s (login timeout)")
        case .authenticationTimeout(let seconds):
            return fatal("authentication not completed within \(format(seconds)) s (tier connection timeout)")
        case .shuttingDown:
            return fatal("terminating connection because TierGate is shutting down")
        case .custom(let response):
            return response
        }
    }

    private func fatal(_ message: String, detail: String? = nil, hint: String? = nil) -> ErrorResponse {
        ErrorResponse(severity: .fatal, sqlState: sqlState, message: message, detail: detail, hint: hint)
    }

    private func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

extension ClientError {
    /// Postgres' own wording for idle_session_timeout (57P05), with the tier that sets it.
    static func idleSessionTimeout(seconds: Double, tier: String?) -> ClientError {
        let owner = tier.map { " of tier \($0)" } ?? ""
        return .custom(ErrorResponse(
            severity: .fatal, sqlState: "57P05",
            message: "terminating connection due to idle-session timeout",
            detail: "The session was idle for \(Int(seconds)) s, the idle timeout\(owner).",
            hint: tier.map { _ in "Reconnect when needed, or upgrade to PRO for sessions that never time out." }))
    }
}

extension ClientError {
    /// The startup user has no `.orgId` suffix (28000, like an unknown role).
    static func orgMissing(user: String, reason: String) -> ClientError {
        .custom(ErrorResponse(
            severity: .fatal, sqlState: "28000",
            message: "user name \"\(user)\" does not name an org",
            detail: reason,
            hint: "Connect as <role>.<orgId>, for example \"app.org_acme\"."))
    }

    static func unknownOrg(_ org: String) -> ClientError {
        .custom(ErrorResponse(severity: .fatal, sqlState: "28000",
                              message: "org \"\(org)\" does not exist"))
    }

    /// The org's record cannot be used: nothing the client can fix, so it says whom to ask.
    static func invalidOrg(_ org: String, reason: String) -> ClientError {
        .custom(ErrorResponse(severity: .fatal, sqlState: "28000",
                              message: "org \"\(org)\" cannot be admitted: its tier record is invalid",
                              detail: reason, hint: "Contact support: the org's billing record needs fixing."))
    }

    /// MongoDB is down and no cache knows the org (57P03 cannot_connect_now: retry).
    static func tierUnavailable(_ org: String) -> ClientError {
        .custom(ErrorResponse(severity: .fatal, sqlState: "57P03",
                              message: "the tier of org \"\(org)\" cannot be determined right now",
                              hint: "Retry in a few seconds."))
    }
}

extension ClientError {
    /// Seed 4.2: after a downgrade below current use and its grace period, the newest excess
    /// sessions are closed (53300, as for a refused connection over the ceiling).
    /// `burstEndedFrom`: the burst tier, when the ceiling fell because a burst ended rather
    /// than because billing changed the tier.
    static func downgradeExcess(org: String, tier: String, ceiling: Int, open: Int, graceSeconds: Int,
                                burstEndedFrom: String? = nil) -> ClientError {
        let cause = burstEndedFrom.map { "'s burst to \($0) ended; its tier \(tier) has a ceiling of \(ceiling) connections" }
            ?? " was downgraded to \(tier), whose ceiling is \(ceiling) connections"
        return .custom(ErrorResponse(
            severity: .fatal, sqlState: "53300",
            message: "terminating connection: org \"\(org)\"\(cause)",
            detail: "\(open) sessions were open when the \(graceSeconds) s grace period ended; the newest \(open - ceiling) are closed.",
            hint: "Keep at most \(ceiling) connections open, or upgrade the org's tier."))
    }
}
