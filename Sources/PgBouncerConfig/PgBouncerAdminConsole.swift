import PostgresClient

/// PgBouncer's admin console (the `pgbouncer` pseudo-database), through libpq.
///
/// The console speaks the simple query protocol only, which is what
/// `PostgresConnection.query(_:)` uses. Blocking: call it off any I/O queue.
public final class PgBouncerAdminConsole: Sendable {
    public let conninfo: String
    private let connection: PostgresConnection

    /// `conninfo`: e.g. `host=127.0.0.1 port=6432 user=postgres dbname=pgbouncer`; a
    /// `connect_timeout` is added when missing, so an absent PgBouncer fails in seconds.
    public init(conninfo: String) throws(PgBouncerAdminError) {
        self.conninfo = conninfo
        let withTimeout = conninfo.contains("connect_timeout") ? conninfo : conninfo + " connect_timeout=5"
        do {
            connection = try PostgresConnection(conninfo: withTimeout)
        } catch {
            throw PgBouncerAdminError(command: "connect", conninfo: conninfo, error: error)
        }
    }

    /// `RELOAD`: PgBouncer re-reads its configuration (and the files it includes). Open
    /// clients keep their connections; pools are resized to the new values.
    public func reload() throws(PgBouncerAdminError) -> PgBouncerReloadAnswer {
        _ = connection.takeNotices()  // startup's, not RELOAD's
        do {
            let tag = try connection.execute("RELOAD")
            return PgBouncerReloadAnswer(commandTag: tag, notices: connection.takeNotices().map(\.message))
        } catch {
            throw PgBouncerAdminError(command: "RELOAD", conninfo: conninfo, error: error)
        }
    }

    /// `SHOW DATABASES`, one row per configured database.
    public func databases() throws(PgBouncerAdminError) -> [PgBouncerDatabaseStatus] {
        let result: QueryResult
        do {
            result = try connection.query("SHOW DATABASES")
        } catch {
            throw PgBouncerAdminError(command: "SHOW DATABASES", conninfo: conninfo, error: error)
        }
        return result.rows.indices.map { row in
            let value = { (column: String) in result.value(row: row, column: column) }
            return PgBouncerDatabaseStatus(
                name: value("name") ?? "", host: value("host"), port: value("port").flatMap { Int($0) },
                database: value("database"), poolSize: value("pool_size").flatMap { Int($0) },
                minPoolSize: value("min_pool_size").flatMap { Int($0) },
                maxConnections: value("max_connections").flatMap { Int($0) },
                currentConnections: value("current_connections").flatMap { Int($0) })
        }
    }
}

/// What PgBouncer answered to `RELOAD`.
public struct PgBouncerReloadAnswer: Sendable, Equatable, CustomStringConvertible {
    /// `RELOAD` on success.
    public let commandTag: String
    /// Notices sent with the answer (PgBouncer 1.18 sends none; kept for later versions).
    public let notices: [String]

    public var description: String {
        ([commandTag] + notices.map { "NOTICE: \($0)" }).joined(separator: "; ")
    }
}

/// A row of `SHOW DATABASES` (PgBouncer 1.18 columns).
public struct PgBouncerDatabaseStatus: Sendable, Equatable {
    public let name: String
    public let host: String?
    public let port: Int?
    public let database: String?
    public let poolSize: Int?
    public let minPoolSize: Int?
    /// The `max_connections` column: the entry's `max_db_connections`.
    public let maxConnections: Int?
    public let currentConnections: Int?
}

public struct PgBouncerAdminError: Error, Sendable, CustomStringConvertible {
    public let command: String
    public let conninfo: String
    public let error: PostgresError

    public var description: String { "PgBouncer admin console (\(conninfo)): \(command) failed: \(error)" }
}
