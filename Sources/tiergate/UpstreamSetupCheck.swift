import Logging
import PostgresClient
import PostgresWire

/// The Postgres-side setup TierGate relies on, checked once when `serve` starts.
///
/// - UPDATE on `pg_settings` must not be granted to PUBLIC: `UPDATE pg_settings SET
///   setting = ...` is set_config by another name (Postgres docs, "pg_settings"). The grant
///   is per database (the view is in each database's catalog), so every database is
///   checked; template1 matters too, since new databases are copied from it.
/// - When the matrix injects temp_file_limit (superuser-only, PGC_SUSET), some ordinary role
///   must hold `SET` on it (Postgres 15+), or every session of a role without it fails at
///   startup with "permission denied to set parameter".
///
/// The proxy holds no credentials of its own and never runs SQL on a client's session, so
/// the check connects with `--upstream-check-conninfo`: any role that can log in will do,
/// since it only reads catalogs and privileges open to PUBLIC (`pg_database`,
/// `pg_parameter_acl`, `has_table_privilege`). Host and port default to `--upstream`'s.
/// It checks every database that accepts connections and that the role may connect to, up
/// to `maximumDatabases`; the rest are reported as not checked. Blocking: run it off the
/// I/O loops. Findings are warnings, never a reason to refuse to start.
struct UpstreamSetupCheck {
    /// Databases checked at most, one connection each, so a cluster with thousands of org
    /// databases does not cost thousands of connections at every start.
    static let maximumDatabases = 200

    let options: ConnectionOptions
    let injectsTempFileLimit: Bool

    init(conninfo: String, upstream: Endpoint, injectsTempFileLimit: Bool) throws(PostgresError) {
        var options = try ConnectionOptions(parsing: conninfo)
        if options["host"] == nil && options["hostaddr"] == nil { options["host"] = upstream.host }
        if options["port"] == nil { options["port"] = String(upstream.port) }
        if options["connect_timeout"] == nil { options["connect_timeout"] = "5" }
        if options["application_name"] == nil { options["application_name"] = "tiergate-upstream-check" }
        self.options = options
        self.injectsTempFileLimit = injectsTempFileLimit
    }

    struct Findings: Equatable {
        /// Databases where PUBLIC may still UPDATE pg_settings.
        var grantingUpdate: [String] = []
        var checked: [String] = []
        /// Databases the role may not connect to, that failed, or beyond `maximumDatabases`.
        var notChecked: [String] = []
        /// Whether a non-superuser role (or PUBLIC) holds SET on temp_file_limit; nil when not
        /// asked (the matrix does not inject it).
        var tempFileLimitGranted: Bool?
        /// `server_version_num`.
        var serverVersion: Int = 0
    }

    /// Connects, reads what the check needs, and returns it; throws only when the first
    /// connection or its queries fail.
    func run() throws(PostgresError) -> Findings {
        var findings = Findings()
        let first = try PostgresConnection(conninfo: options.conninfo)
        let here = try first.query(
            "SELECT current_database(), current_setting('server_version_num')::int, "
                + "has_table_privilege('public', 'pg_catalog.pg_settings', 'UPDATE')")
        guard let row = here.rows.first, let current = row[0] else { return findings }
        findings.serverVersion = row[1].flatMap { Int($0) } ?? 0
        record(current, grantsUpdate: row[2] == "t", in: &findings)

        if injectsTempFileLimit && findings.serverVersion < 150_000 {
            findings.tempFileLimitGranted = false  // before 15 only superusers may set it
        } else if injectsTempFileLimit {
            let granted = try first.query("""
                SELECT EXISTS (SELECT FROM pg_parameter_acl p CROSS JOIN LATERAL aclexplode(p.paracl) a
                               LEFT JOIN pg_roles r ON r.oid = a.grantee
                               WHERE p.parname = 'temp_file_limit' AND a.privilege_type = 'SET'
                                 AND NOT coalesce(r.rolsuper, false))
                """)
            findings.tempFileLimitGranted = granted.rows.first?.first == "t"
        }

        let databases = try first.query(
            "SELECT datname, has_database_privilege(datname, 'CONNECT') FROM pg_database "
                + "WHERE datallowconn ORDER BY datname")
        for row in databases.rows {
            guard let name = row[0], name != current else { continue }
            guard row[1] == "t", findings.checked.count < Self.maximumDatabases else {
                findings.notChecked.append(name)
                continue
            }
            var other = options
            other["dbname"] = name
            do {
                let connection = try PostgresConnection(conninfo: other.conninfo)
                let granted = try connection.query(
                    "SELECT has_table_privilege('public', 'pg_catalog.pg_settings', 'UPDATE')").rows.first?.first
                record(name, grantsUpdate: granted == "t", in: &findings)
            } catch {
                findings.notChecked.append(name)
            }
        }
        return findings
    }

    private func record(_ database: String, grantsUpdate: Bool, in findings: inout Findings) {
        findings.checked.append(database)
        if grantsUpdate { findings.grantingUpdate.append(database) }
    }

    /// Runs the check and logs what it found: a warning per problem, else one info line.
    func runAndLog(logger: Logger) {
        let findings: Findings
        do {
            findings = try run()
        } catch {
            logger.warning("upstream setup not checked: cannot query the upstream with --upstream-check-conninfo",
                           metadata: ["error": "\(error)"])
            return
        }
        let notChecked: Logger.Metadata = findings.notChecked.isEmpty ? [:]
            : ["databases_not_checked": "\(Self.list(findings.notChecked))"]
        if !findings.grantingUpdate.isEmpty {
            logger.warning(
                "upstream Postgres still grants UPDATE on pg_settings to PUBLIC: a client can change its tier's settings with UPDATE pg_settings",
                metadata: ["databases": "\(Self.list(findings.grantingUpdate))",
                           "fix": "REVOKE UPDATE ON pg_catalog.pg_settings FROM PUBLIC in each database and in template1"]
                    .merging(notChecked) { $1 })
        }
        if findings.tempFileLimitGranted == false {
            let fix = findings.serverVersion >= 150_000
                ? "GRANT SET ON PARAMETER temp_file_limit TO PUBLIC (or to each role TierGate's sessions use)"
                : "set tempFileLimit to null in --tiers: before Postgres 15 only superusers may set it"
            logger.warning(
                "upstream Postgres grants SET on temp_file_limit to no ordinary role: sessions of non-superuser roles will fail at startup with 42501",
                metadata: ["fix": "\(fix)"])
        }
        if findings.grantingUpdate.isEmpty && findings.tempFileLimitGranted != false {
            logger.info("upstream setup checked",
                        metadata: ["databases_checked": "\(findings.checked.count)"].merging(notChecked) { $1 })
        }
    }

    /// At most ten names, then how many more.
    static func list(_ names: [String]) -> String {
        let shown = names.prefix(10).joined(separator: ", ")
        return names.count > 10 ? "\(shown) (+\(names.count - 10) more)" : shown
    }
}
