import CLibPQ
import Foundation

/// One libpq connection (`PGconn`), the only code in TierGate that calls libpq.
///
/// Blocking by design: its callers are integration tests and PgBouncer's admin console
/// (`RELOAD`, `SHOW DATABASES`), never the proxy's I/O queues. Statements use the simple query
/// protocol (`PQexec`), the only one PgBouncer's console accepts, unless parameters are given.
///
/// Thread safety: every use of the `PGconn` is serialized by an internal lock, so one thread
/// can run a statement while another calls `cancel()`. `cancel()` never touches the `PGconn`:
/// it uses a `PGcancel` taken once after connecting, which libpq documents as usable from a
/// thread other than the one manipulating the connection (libpq docs, "Canceling Queries in
/// Progress"). That is why the class is `@unchecked Sendable`.
public final class PostgresConnection: @unchecked Sendable {
    private let connection: OpaquePointer          // PGconn*; guarded by `lock`
    private let cancelRequest: OpaquePointer?      // PGcancel*; immutable, thread-safe by contract
    private let lock = NSLock()
    private let notices: NoticeLog                 // outlives `connection`: freed after deinit

    /// The server process serving this session (`PQbackendPID`). Through a proxy or PgBouncer
    /// this is whatever BackendKeyData the proxy sent.
    public let backendPID: Int32

    /// Opens a connection described by a libpq conninfo string or URI.
    ///
    /// `connect_timeout` in `conninfo` bounds the whole attempt; without it the attempt gives
    /// up after 30 seconds, so a hung server fails a test instead of hanging it. A FATAL sent
    /// during startup is returned with its SQLSTATE, detail and hint (see `ConnectionErrorText`).
    public init(conninfo: String) throws(PostgresError) {
        let notices = NoticeLog()
        connection = try ConnectionAttempt.establish(conninfo: conninfo, notices: notices)
        self.notices = notices
        // Verbose text was only needed to recover startup errors; statements read PGresult fields.
        PQsetErrorVerbosity(connection, PQERRORS_DEFAULT)
        cancelRequest = PQgetCancel(connection)
        backendPID = PQbackendPID(connection)
    }

    deinit {
        if let cancelRequest { PQfreeCancel(cancelRequest) }
        PQfinish(connection)
    }

    /// Whether libpq still considers the session usable; false after the server closed it.
    public var isConnected: Bool {
        lock.lock()
        defer { lock.unlock() }
        return PQstatus(connection) == CONNECTION_OK
    }

    /// Runs `sql` with the simple query protocol and returns the last statement's rows.
    ///
    /// Several statements separated by `;` run in one implicit transaction, as with `psql -c`;
    /// only the last result is returned.
    public func query(_ sql: String) throws(PostgresError) -> QueryResult {
        lock.lock()
        defer { lock.unlock() }
        return try collect(PQexec(connection, sql))
    }

    /// Runs one statement with `$1`, `$2`, … bound to `parameters` in text format, through the
    /// extended query protocol (Parse/Bind/Execute), which PgBouncer's console does not support.
    public func query(_ sql: String, parameters: [String?]) throws(PostgresError) -> QueryResult {
        let copies: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.flatMap { strdup($0) } }
        defer { copies.forEach { free($0) } }
        let values = copies.map { $0.map { UnsafePointer($0) } }
        lock.lock()
        defer { lock.unlock() }
        let result = values.withUnsafeBufferPointer { buffer in
            PQexecParams(connection, sql, Int32(buffer.count), nil, buffer.baseAddress, nil, nil, 0)
        }
        return try collect(result)
    }

    /// Runs `sql` for its effect and returns the command tag (`CREATE TABLE`, `RELOAD`, ...).
    @discardableResult
    public func execute(_ sql: String) throws(PostgresError) -> String {
        try query(sql).commandTag
    }

    /// Asks the server to cancel the statement running on this connection, if any.
    ///
    /// Safe to call from any thread while another thread is inside `query`: it opens a separate
    /// connection carrying the backend key (protocol "Canceling Requests in Progress"). Success
    /// only means the request was sent; the running statement then fails with SQLSTATE 57014.
    public func cancel() throws(PostgresError) {
        guard let cancelRequest else {
            throw PostgresError(kind: .cancel, message: "no cancel key for this connection")
        }
        var errorBuffer = [CChar](repeating: 0, count: 256)
        let sent = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            PQcancel(cancelRequest, buffer.baseAddress, Int32(buffer.count))
        }
        if sent != 1 {
            let message = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw PostgresError(kind: .cancel, message: message)
        }
    }

    /// A parameter the server reported with ParameterStatus (`server_version`, `TimeZone`,
    /// `application_name`, ...), as last received.
    public func parameterStatus(_ name: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return PQparameterStatus(connection, name).map { String(cString: $0) }
    }

    /// Returns the notices received since the last call (the first call includes those sent
    /// during startup), oldest first, and forgets them.
    public func takeNotices() -> [PostgresNotice] {
        notices.take()
    }

    /// Checks whether a server accepts connections, without authenticating (`PQping`).
    public static func ping(conninfo: String) -> PostgresPingResult {
        switch PQping(conninfo) {
        case PQPING_OK: .ok
        case PQPING_REJECT: .rejected
        case PQPING_NO_ATTEMPT: .noAttempt
        default: .noResponse
        }
    }

    // MARK: - Results

    /// Turns a `PGresult` into values or an error and frees it. Called with `lock` held.
    private func collect(_ result: OpaquePointer?) throws(PostgresError) -> QueryResult {
        guard let result else {
            // NULL only when libpq could not even allocate a result.
            throw PostgresError(kind: .query, message: String(cString: PQerrorMessage(connection)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            return Self.rows(of: result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            abandonCopy()
            throw PostgresError(kind: .query, message: "COPY is not supported by PostgresConnection")
        default:
            throw Self.error(from: result)
        }
    }

    private static func rows(of result: OpaquePointer) -> QueryResult {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        let rows = (0..<rowCount).map { row in
            (0..<columnCount).map { column -> String? in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            }
        }
        return QueryResult(columns: columns, rows: rows, commandTag: String(cString: PQcmdStatus(result)))
    }

    private static func error(from result: OpaquePointer) -> PostgresError {
        let fields = DiagnosticFields(result)
        // Without a primary message the error came from libpq itself (e.g. connection lost).
        let message = fields.message ?? DiagnosticFields.errorMessage(result)
        return PostgresError(kind: .query, sqlState: fields.sqlState, severity: fields.severity,
                             message: message, detail: fields.detail, hint: fields.hint, context: fields.context)
    }

    /// Leaves COPY mode so the connection stays usable: refuse COPY FROM STDIN, drain COPY TO
    /// STDOUT, then consume the final results.
    private func abandonCopy() {
        _ = PQputCopyEnd(connection, "COPY is not supported by this client")
        var buffer: UnsafeMutablePointer<CChar>?
        while PQgetCopyData(connection, &buffer, 0) > 0 {
            PQfreemem(buffer)
        }
        while let next = PQgetResult(connection) {
            PQclear(next)
        }
    }
}
