/// A client (or server) broke a protocol rule; the session ends with a FATAL ErrorResponse
/// carrying `sqlState`. Kept to the two codes the rules need: 08P01 protocol_violation, and
/// 0A000 feature_not_supported for a protocol version we cannot speak.
public struct ProtocolViolation: Error, Equatable, Sendable {
    public var sqlState: String
    public var message: String

    public init(sqlState: String = SQLState.protocolViolation, _ message: String) {
        self.sqlState = sqlState
        self.message = message
    }

    public var errorResponse: ErrorResponse {
        ErrorResponse(severity: .fatal, sqlState: sqlState, message: message)
    }
}

/// The SQLSTATE codes the wire layer itself produces (Postgres Appendix A, "Error Codes").
public enum SQLState {
    public static let protocolViolation = "08P01"
    public static let featureNotSupported = "0A000"
    public static let programLimitExceeded = "54000"
}
