/// An error reported by libpq or by the server, with the server's diagnostic fields.
///
/// Server errors carry the fields of the ErrorResponse message (Postgres docs, "Error and
/// Notice Message Fields"), so tests can assert on the SQLSTATE a client really sees and on
/// the hint a refusal carries, not on message text. Errors libpq raises itself (connection
/// refused, connection lost) have no SQLSTATE.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which step failed; the same SQLSTATE means different things at connect time and in a
    /// query (a refused connection versus a cancelled statement).
    public enum Kind: Sendable, Equatable {
        /// Establishing the session failed: network, authentication, or a FATAL during startup.
        case connection
        /// A statement failed, or the connection broke while one ran.
        case query
        /// Sending a cancel request failed (the cancelled statement reports its own 57014).
        case cancel
    }

    public var kind: Kind
    /// The five-character SQLSTATE (field `C`), e.g. `42601` for a syntax error.
    public var sqlState: String?
    /// The severity as sent (field `S`, possibly localized): `ERROR`, `FATAL`, `PANIC`.
    public var severity: String?
    /// The primary message (field `M`), or libpq's own message when the server sent none.
    public var message: String
    /// Field `D`.
    public var detail: String?
    /// Field `H`: for TierGate's refusals, the upgrade suggestion.
    public var hint: String?
    /// Field `W`: where the error arose (a PL/pgSQL line, an SQL function), as psql prints
    /// after `CONTEXT:`.
    public var context: String?

    public init(kind: Kind, sqlState: String? = nil, severity: String? = nil, message: String,
                detail: String? = nil, hint: String? = nil, context: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.severity = severity
        self.message = message
        self.detail = detail
        self.hint = hint
        self.context = context
    }

    public var description: String {
        var text = [severity, sqlState].compactMap { $0 }.joined(separator: " ")
        text += text.isEmpty ? message : ": \(message)"
        if let detail { text += " (detail: \(detail))" }
        if let hint { text += " (hint: \(hint))" }
        return text
    }
}
