import PostgresWire

/// Every refusal a client can see, and its SQLSTATE, in one place. Messages follow Postgres'
/// style (lower case, no trailing period) so they read naturally in psql and driver logs.
public enum ClientError: Error, Sendable, Equatable {
    case noUserName
    case upstreamUnreachable(upstream: String, reason: String)
    case loginTimeout(seconds: Double)
    case authenticationTimeout(seconds: Double)
    case shuttingDown
    case idleSessionTimeout(seconds: Double)
    /// `--client-tls require` and a StartupMessage in plain text.
    case tlsRequired
    /// Bytes behind an SSLRequest or GSSENCRequest, sent before the answer (in plain text,
    /// whatever the answer): possibly injected by a man in the middle.
    case unencryptedDataAfterEncryptionRequest
    /// Direct TLS without ALPN "postgresql": Postgres 17 refuses it, lest a TLS connection
    /// meant for another protocol be taken for Postgres.
    case directTLSWithoutALPN

    public var sqlState: SQLState {
        switch self {
        case .noUserName: .invalidAuthorizationSpecification
        case .upstreamUnreachable: .connectionFailure
        case .loginTimeout, .authenticationTimeout: .protocolViolation
        case .shuttingDown: .adminShutdown
        case .idleSessionTimeout: .idleSessionTimeout
        case .tlsRequired, .unencryptedDataAfterEncryptionRequest, .directTLSWithoutALPN: .protocolViolation
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
        case .idleSessionTimeout(let seconds):
            // Postgres' own wording for idle_session_timeout.
            return fatal("terminating connection due to idle-session timeout",
                         detail: "The session was idle for \(Int(seconds)) s, the idle timeout.")
        case .tlsRequired:
            return fatal("TLS required", detail: "This server accepts only encrypted connections.",
                         hint: "Connect with sslmode=require (or verify-full).")
        case .unencryptedDataAfterEncryptionRequest:
            // Postgres' own wording.
            return fatal("received unencrypted data after SSL request",
                         detail: "This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.")
        case .directTLSWithoutALPN:
            return fatal("received direct SSL connection request without ALPN protocol negotiation extension")
        }
    }

    private func fatal(_ message: String, detail: String? = nil, hint: String? = nil) -> ErrorResponse {
        ErrorResponse(severity: .fatal, sqlState: sqlState, message: message, detail: detail, hint: hint)
    }

    private func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
