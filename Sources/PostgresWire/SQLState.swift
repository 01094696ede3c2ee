/// A SQLSTATE: the five-character code an ErrorResponse carries in its 'C' field, which
/// drivers branch on (retry on 57P03, back off on 53300, ...).
///
/// Every code TierGate sends, or recognizes in what the server sends, is named here, so a
/// refusal cannot carry a mistyped code and a reader finds each code's meaning in one place
/// (Postgres Appendix A, "Error Codes"). Codes from elsewhere (a server's reply) are
/// accepted through `init?(rawValue:)`, which checks only the shape.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Five characters, each a digit or an upper-case ASCII letter; nil otherwise.
    public init?(rawValue: String) {
        let bytes = Array(rawValue.utf8)
        guard bytes.count == 5, bytes.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) }) else {
            return nil
        }
        self.rawValue = rawValue
    }

    private init(named rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    /// 08006 connection_failure: the upstream could not be reached.
    public static let connectionFailure = SQLState(named: "08006")
    /// 08P01 protocol_violation.
    public static let protocolViolation = SQLState(named: "08P01")
    /// 0A000 feature_not_supported (a protocol version TierGate cannot speak).
    public static let featureNotSupported = SQLState(named: "0A000")
    /// 28000 invalid_authorization_specification (an unknown org or role).
    public static let invalidAuthorizationSpecification = SQLState(named: "28000")
    /// 3D000 invalid_catalog_name (a database the org does not list).
    public static let invalidCatalogName = SQLState(named: "3D000")
    /// 42501 insufficient_privilege (a setting beyond the tier's limits).
    public static let insufficientPrivilege = SQLState(named: "42501")
    /// 53300 too_many_connections (over a ceiling, a connect rate or upstream capacity).
    public static let tooManyConnections = SQLState(named: "53300")
    /// 54000 program_limit_exceeded (a message longer than the framer accepts).
    public static let programLimitExceeded = SQLState(named: "54000")
    /// 57014 query_canceled (statement timeout or a cancel request).
    public static let queryCanceled = SQLState(named: "57014")
    /// 57P01 admin_shutdown.
    public static let adminShutdown = SQLState(named: "57P01")
    /// 57P03 cannot_connect_now: the client should retry.
    public static let cannotConnectNow = SQLState(named: "57P03")
    /// 57P05 idle_session_timeout.
    public static let idleSessionTimeout = SQLState(named: "57P05")
}
