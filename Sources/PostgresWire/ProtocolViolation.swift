/// A client (or server) broke a protocol rule; the session ends with a FATAL ErrorResponse
/// carrying `sqlState`. Kept to the two codes the rules need: 08P01 protocol_violation, and
/// 0A000 feature_not_supported for a protocol version we cannot speak.
public struct ProtocolViolation: Error, Equatable, Sendable {
    public var sqlState: SQLState
    public var message: String

    public init(sqlState: SQLState = .protocolViolation, _ message: String) {
        self.sqlState = sqlState
        self.message = message
    }

    public var errorResponse: ErrorResponse {
        ErrorResponse(severity: .fatal, sqlState: sqlState, message: message)
    }
}
