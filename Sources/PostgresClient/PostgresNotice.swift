/// A NoticeResponse the server (or a proxy in front of it) sent: a warning that did not fail
/// the statement (Postgres docs, "Asynchronous Operations" / "Notice Processing").
///
/// Kept so tests can check warnings a proxy adds (for example, nearing a tier's limit),
/// which libpq would otherwise print to stderr.
public struct PostgresNotice: Sendable, Equatable {
    /// `WARNING`, `NOTICE`, `INFO`, ... (field `S`).
    public var severity: String?
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?

    public init(severity: String?, sqlState: String?, message: String, detail: String?, hint: String?) {
        self.severity = severity
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
    }
}
