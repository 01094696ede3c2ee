import PostgresWire

/// Which startup parameters a client may send, and the startup message the proxy builds
/// from them: nothing goes upstream that was not read and checked here.
///
/// Postgres reads the startup packet this way (backend/tcop/backend_startup.c,
/// `ProcessStartupPacket`; backend/utils/init/postinit.c, `process_startup_options`): `user`,
/// `database`, `options` and `replication` are keywords; `_pq_.` names are protocol options;
/// every other name sets the configuration parameter (GUC) of that name, matched without
/// regard to case, applied after the `-c` settings in `options`. A packet may repeat a name
/// and the last one wins, which a proxy rewriting the first would not see.
///
/// Guarantees:
/// - A name given twice (keywords exactly; parameters case-insensitively, an alias such as
///   `sort_mem` counting as `work_mem`) is refused: 08P01.
/// - `options` may only hold `-c name=value`/`--name=value` for the parameters below
///   (`StartupOptions`); any other switch is refused: 08P01.
/// - A parameter outside the lists below is refused (08P01), except the few that drivers
///   send with no effect, which are dropped (`dropped`).
/// - `replication` is refused (0A000) unless it says false, and then dropped.
/// - `_pq_.` protocol options are forwarded as sent: the server answers the ones it does not
///   know with NegotiateProtocolVersion, which the client must see (protocol docs,
///   "Protocol versions").
/// - Session-limit parameters sent as keys (node-postgres sends `statement_timeout`,
///   `lock_timeout`, `idle_in_transaction_session_timeout`; Npgsql sends its `Options` as
///   keys) move into `options` after the client's own settings, keeping Postgres' order,
///   where an admission policy sees all of them in one place and may cap them.
public enum StartupAllowlist {
    /// Sent as startup keys by psql/libpq (`application_name`, `client_encoding`, and from
    /// PGDATESTYLE, PGTZ, PGGEQO: `datestyle`, `timezone`, `geqo`), pgjdbc (`client_encoding`,
    /// `DateStyle`, `TimeZone`, `extra_float_digits`, `application_name`, `search_path`),
    /// psycopg (libpq), node-postgres, Npgsql (`TimeZone`, `search_path`) and pgbench;
    /// forwarded as keys (PgBouncer tracks several of them by key).
    public static let clientParameters: Set<String> = [
        "application_name", "client_encoding", "datestyle", "timezone", "intervalstyle",
        "extra_float_digits", "search_path", "geqo",
    ]

    /// Parameters that bound what a session may use; always carried in `options`.
    public static let sessionLimitParameters: Set<String> = [
        "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
        "work_mem", "temp_buffers", "max_parallel_workers_per_gather",
        "hash_mem_multiplier", "maintenance_work_mem", "max_parallel_maintenance_workers", "temp_file_limit",
    ]

    /// Sent by drivers with no effect, dropped rather than refused: older Npgsql sends
    /// `ssl_renegotiation_limit=0`, a parameter that does nothing since Postgres 9.5.
    public static let dropped: Set<String> = ["ssl_renegotiation_limit"]

    /// The name Postgres looks a parameter up by (`GUCName`).
    public static func canonicalName(_ name: String) -> String {
        GUCName.canonical(name)
    }

    /// The checked startup message: `user`, `database` when given, `options` with the
    /// checked settings when there are any, then the forwarded keys in the client's order.
    public static func check(_ message: StartupMessage) -> Result<StartupMessage, ProtocolViolation> {
        var seen: Set<String> = []
        var user: String?
        var database: String?
        var settings: [StartupOptions.Setting] = []
        var movedToOptions: [StartupOptions.Setting] = []
        var forwarded: [(name: String, value: String)] = []
        for (name, value) in message.parameters {
            // Keywords and protocol options as spelled; parameters by the name Postgres looks
            // up, in a namespace of their own (a parameter "USER" is no keyword).
            let key: String
            switch name {
            case "user", "database", "options", "replication": key = name
            case _ where name.hasPrefix("_pq_."): key = name
            default: key = "parameter " + canonicalName(name)
            }
            guard seen.insert(key).inserted else {
                return .failure(ProtocolViolation("duplicate startup parameter \(StartupOptions.quoted(name))"))
            }
            switch name {
            case "user":
                user = value
            case "database":
                database = value
            case "options":
                switch StartupOptions.parse(value) {
                case .failure(let violation): return .failure(violation)
                case .success(let given):
                    for setting in given {
                        let canonical = canonicalName(setting.name)
                        if dropped.contains(canonical) { continue }
                        guard clientParameters.contains(canonical) || sessionLimitParameters.contains(canonical) else {
                            return .failure(ProtocolViolation(
                                "parameter \(StartupOptions.quoted(setting.name)) may not be set in startup options"))
                        }
                        settings.append(.init(name: canonical, value: setting.value))
                    }
                }
            case "replication":
                guard ["false", "off", "no", "0"].contains(value.lowercased()) else {
                    return .failure(ProtocolViolation(sqlState: .featureNotSupported,
                                                      "replication connections are not supported"))
                }
            case _ where name.hasPrefix("_pq_."):
                forwarded.append((name, value))
            default:
                let parameter = canonicalName(name)
                if dropped.contains(parameter) { continue }
                if clientParameters.contains(parameter) {
                    forwarded.append((name, value))
                } else if sessionLimitParameters.contains(parameter) {
                    movedToOptions.append(.init(name: parameter, value: value))
                } else {
                    return .failure(ProtocolViolation("startup parameter \(StartupOptions.quoted(name)) is not allowed"))
                }
            }
        }
        var parameters: [(name: String, value: String)] = []
        if let user { parameters.append(("user", user)) }
        if let database { parameters.append(("database", database)) }
        settings += movedToOptions
        if !settings.isEmpty { parameters.append(("options", StartupOptions.encode(settings))) }
        return .success(StartupMessage(protocolVersion: message.protocolVersion, parameters: parameters + forwarded))
    }
}
