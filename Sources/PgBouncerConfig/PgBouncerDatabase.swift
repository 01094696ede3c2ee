import TierModel

/// One entry of PgBouncer's `[databases]` section: an org's pool (docs/design.md#pgbouncer-layer).
///
/// `alias = host=... port=... dbname=... pool_size=... min_pool_size=...
/// max_db_connections=... connect_query='...'`. Only `connect_query` is quoted; every other
/// value has been checked to need no quoting (`PgBouncerSyntax`).
public struct PgBouncerDatabase: Sendable, Equatable {
    /// The name clients connect to: the org id.
    public var alias: String
    public var host: String
    public var port: Int
    public var dbname: String
    /// The tier's `poolMax`: server connections per (alias, user) pool.
    public var poolSize: Int
    /// The tier's `poolMin`: kept open even when idle.
    public var minPoolSize: Int
    /// The tier's `maxConnections`: server connections for the alias, all users together.
    public var maxDBConnections: Int
    /// Run by PgBouncer on every new server connection of this pool.
    public var connectQuery: String
    /// Shown in a comment above the entry.
    public var tier: Tier

    /// The tier's session settings as one simple-protocol query, in the injection order:
    /// `SET statement_timeout = '10s'; SET work_mem = '4MB'; ...`.
    ///
    /// These are session values (`SET`), not reset values as with TierGate's startup
    /// `options`: a `RESET` or `DISCARD ALL` on a pooled server connection would fall back
    /// to the server's defaults. TierGate refuses those statements on the PgBouncer route
    /// (`SettingsGuard` in pooled mode), see pgbouncer/README.md.
    public static func connectQuery(for settings: SessionSettings) -> String {
        settings.settings.map(\.sql).joined(separator: "; ")
    }

    /// The entry's line, without a trailing newline.
    public var line: String {
        "\(alias) = host=\(host) port=\(port) dbname=\(dbname) pool_size=\(poolSize) "
            + "min_pool_size=\(minPoolSize) max_db_connections=\(maxDBConnections) "
            + "connect_query=\(PgBouncerSyntax.quote(connectQuery))"
    }
}

/// What PgBouncer 1.18's config reader accepts, and what TierGate chooses to write.
///
/// A `[databases]` value is a connection string read by `loader.c`'s `cstr_get_pair`:
/// `key=value` pairs separated by spaces; a value ends at the first space unless it starts
/// with `'`, in which case it runs to the next lone `'` and `''` stands for one quote.
/// There is no backslash escape. The whole entry is one line of the ini file, so a newline
/// can never be carried. TierGate quotes only the one value that needs spaces
/// (`connect_query`); names, hosts and databases are restricted to characters that need no
/// quoting at all, and anything else is refused rather than escaped.
public enum PgBouncerSyntax {
    /// `'...'` with every `'` doubled (cstr_unquote_value).
    public static func quote(_ value: String) -> String {
        "'" + value.replacing("'", with: "''") + "'"
    }

    /// The reason `value` cannot be written unquoted, or nil when it can. `extra` lists
    /// punctuation allowed beyond letters, digits, `_` and `-`.
    static func problem(in value: String, extra: Set<Character>, maximumBytes: Int) -> String? {
        if value.isEmpty { return "it is empty" }
        if value.utf8.count > maximumBytes { return "it is \(value.utf8.count) bytes long; at most \(maximumBytes) are written" }
        for scalar in value.unicodeScalars {
            let character = Character(scalar)
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", "_", "-": continue
            default:
                if extra.contains(character) { continue }
                let allowed = (["letters", "digits", "'_'", "'-'"] + extra.sorted().map { "'\($0)'" }).joined(separator: ", ")
                return "it contains \(describe(scalar)); only \(allowed) are written"
            }
        }
        return nil
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case " ": "a space"
        case "\n": "a newline"
        case "\r": "a carriage return"
        case "\t": "a tab"
        case "'": "a single quote"
        case "\"": "a double quote"
        case "=": "'='"
        default: scalar.isASCII ? "'\(Character(scalar))'" : "the non-ASCII character U+\(String(scalar.value, radix: 16, uppercase: true))"
        }
    }
}
