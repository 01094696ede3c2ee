/// The rows of one statement, copied out of libpq's `PGresult` in text format.
///
/// Values are kept as the server's text representation (`nil` for SQL NULL): the callers are
/// tests and PgBouncer's admin console, which compare and print values, never compute on them.
public struct QueryResult: Sendable, Equatable {
    /// Column names in order (`PQfname`).
    public var columns: [String]
    /// One array per row, one element per column.
    public var rows: [[String?]]
    /// The command tag (`PQcmdStatus`), e.g. `SELECT 1`, `UPDATE 3`, `RELOAD`.
    public var commandTag: String

    public init(columns: [String], rows: [[String?]], commandTag: String) {
        self.columns = columns
        self.rows = rows
        self.commandTag = commandTag
    }

    /// The value in `row` under the column named `column`, or nil if either is absent.
    /// Convenient for `SHOW DATABASES`, whose column order differs between PgBouncer versions.
    public func value(row: Int, column: String) -> String? {
        guard rows.indices.contains(row), let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }
}
