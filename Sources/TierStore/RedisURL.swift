/// Where a Redis server listens: `redis://HOST[:PORT][/DB]`, the form the CLI and
/// `scripts/stack.sh` use. Parsed once at start-up so a typo fails with a clear message
/// instead of an opaque connection error at the first lookup.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The logical database selected after connecting (`SELECT`), 0 by default.
    public var database: Int

    public init(host: String, port: Int = 6379, database: Int = 0) {
        self.host = host
        self.port = port
        self.database = database
    }

    /// Parses `redis://HOST[:PORT][/DB]`; IPv6 hosts go in brackets (`redis://[::1]:6379`).
    /// User names, passwords, TLS (`rediss://`) and query options are rejected rather than
    /// silently ignored.
    public init(parsing text: String) throws(RedisError) {
        func invalid(_ reason: String) -> RedisError { .invalidURL(text, reason: reason) }
        let scheme = "redis://"
        guard text.hasPrefix(scheme) else { throw invalid("expected redis://HOST[:PORT][/DB]") }
        var rest = Substring(text.dropFirst(scheme.count))
        if rest.contains("@") { throw invalid("credentials are not supported") }
        if rest.contains("?") { throw invalid("query options are not supported") }

        var databaseText: Substring?
        if let slash = rest.firstIndex(of: "/") {
            databaseText = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }

        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unclosed '[' in host") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after ']'") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        if host.isEmpty { throw invalid("missing host") }

        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw invalid("port must be a number from 1 to 65535")
            }
            port = value
        } else {
            port = 6379
        }

        if let databaseText, !databaseText.isEmpty {
            guard let value = Int(databaseText), value >= 0 else {
                throw invalid("database must be a non-negative number")
            }
            database = value
        } else {
            database = 0
        }
    }

    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "redis://\(hostPart):\(port)" + (database == 0 ? "" : "/\(database)")
    }
}
