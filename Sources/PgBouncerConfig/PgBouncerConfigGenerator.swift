import TierModel

/// Builds PgBouncer's configuration from the orgs and the tier matrix (seed 3.1, layer 3).
///
/// Pure: no clock, no file system, no environment. The same input gives the same bytes:
/// orgs are sorted by id and the header says where the input came from, never when.
/// Every value is checked before anything is rendered, so a hostile or broken org document
/// fails the whole generation with an error naming the org and the field; a partial file
/// is never produced.
public struct PgBouncerConfigGenerator: Sendable {
    /// Where an org without `postgres.host`/`postgres.port` lives.
    public struct Upstream: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `HOST:PORT` (`[::1]:5432` for IPv6).
        public init?(_ text: String) {
            var host: Substring
            let port: Substring
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                host = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                guard rest.hasPrefix(":") else { return nil }
                port = rest.dropFirst()
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                host = text[..<colon]
                port = text[text.index(after: colon)...]
            }
            guard !host.isEmpty, let number = Int(port), (1...65535).contains(number) else { return nil }
            self.host = String(host)
            self.port = number
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Where the input came from, for the header (no credentials: the header is not secret).
    public struct Provenance: Sendable, Equatable {
        /// `MongoDB dynabase.organizations`, `file orgs.json`.
        public var orgSource: String
        /// `built-in (seed Appendix A)` or the matrix file's path.
        public var tierMatrix: String

        public init(orgSource: String, tierMatrix: String) {
            self.orgSource = orgSource
            self.tierMatrix = tierMatrix
        }
    }

    public var matrix: TierMatrix
    public var upstream: Upstream
    /// nil: only the `[databases]` file that the stack's pgbouncer.ini `%include`s.
    public var template: PgBouncerTemplate?
    /// A `*` entry after the orgs, sending every other database name to this server (what
    /// the stack's default file does). Off by default: in production a name that is not an
    /// org should not get a pool.
    public var catchAll: Upstream?
    public var provenance: Provenance

    public init(matrix: TierMatrix, upstream: Upstream, template: PgBouncerTemplate? = nil,
                catchAll: Upstream? = nil, provenance: Provenance) {
        self.matrix = matrix
        self.upstream = upstream
        self.template = template
        self.catchAll = catchAll
        self.provenance = provenance
    }

    /// The entries, sorted by org id, after checking every value.
    public func databases(for orgs: [OrgDocument]) throws(PgBouncerConfigError) -> [PgBouncerDatabase] {
        var seen: Set<String> = []
        var entries: [PgBouncerDatabase] = []
        for org in orgs.sorted(by: { $0.orgId.rawValue < $1.orgId.rawValue }) {
            let id = org.orgId.rawValue
            guard seen.insert(id).inserted else { throw .duplicateOrg(id) }
            guard let tier = Tier(rawValue: org.tier) else { throw .unknownTier(org: id, value: org.tier) }
            let host = org.postgres.host ?? upstream.host
            let port = org.postgres.port ?? upstream.port
            try check(id, field: "orgId", value: id, extra: [], maximumBytes: OrgId.maximumLength)
            try check(id, field: org.postgres.host == nil ? "upstream host" : "postgres.host", value: host,
                      extra: [".", ":", "/"], maximumBytes: 255)
            guard (1...65535).contains(port) else {
                throw .unsafeValue(org: id, field: org.postgres.host == nil ? "upstream port" : "postgres.port",
                                   value: String(port), reason: "not a TCP port (1-65535)")
            }
            try check(id, field: "postgres.database", value: org.postgres.database, extra: ["."],
                      maximumBytes: OrgId.maximumLength)
            let limits = matrix[tier].postgres
            entries.append(PgBouncerDatabase(
                alias: id, host: host, port: port, dbname: org.postgres.database,
                poolSize: limits.poolMax, minPoolSize: limits.poolMin, maxDBConnections: limits.maxConnections,
                connectQuery: PgBouncerDatabase.connectQuery(for: SessionSettings(limits: matrix[tier])),
                tier: tier))
        }
        if let catchAll {
            try check("*", field: "catch-all host", value: catchAll.host, extra: [".", ":", "/"], maximumBytes: 255)
        }
        return entries
    }

    /// The whole file: header, the template's `[pgbouncer]` section when there is a
    /// template, then `[databases]`. Ends with a newline.
    public func generate(orgs: [OrgDocument]) throws(PgBouncerConfigError) -> String {
        let entries = try databases(for: orgs)
        var lines = [
            ";; Generated by `tiergate pgbouncer-config`. Do not edit: the next run overwrites it.",
            ";; Orgs: \(provenance.orgSource) (\(entries.count) \(entries.count == 1 ? "org" : "orgs")). Tier matrix: \(provenance.tierMatrix).",
            ";; Template: \(template.map { "\($0.path) ([pgbouncer] section)" } ?? "none (this is the [databases] file that pgbouncer.ini includes)").",
            ";; Orgs without postgres.host/port go to \(upstream).",
            ";; One pool per org (alias = orgId): pool_size = tier poolMax, min_pool_size = poolMin,",
            ";; max_db_connections = maxConnections; connect_query applies the tier's session settings.",
            "",
        ]
        if let template {
            lines += template.section
            lines.append("")
        }
        lines.append("[databases]")
        for entry in entries {
            lines.append(";; \(entry.alias): \(entry.tier)")
            lines.append(entry.line)
        }
        if let catchAll {
            lines.append(";; Every other database name: the same name on \(catchAll), no tier.")
            lines.append("* = host=\(catchAll.host) port=\(catchAll.port)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func check(_ org: String, field: String, value: String, extra: Set<Character>,
                       maximumBytes: Int) throws(PgBouncerConfigError) {
        if let reason = PgBouncerSyntax.problem(in: value, extra: extra, maximumBytes: maximumBytes) {
            throw .unsafeValue(org: org, field: field, value: value, reason: reason)
        }
    }
}
