import Logging
import PostgresClient
import PostgresWire

/// Learns how many sessions TierGate may hold on the upstream Postgres: `max_connections`
/// less the slots Postgres keeps for superusers (`superuser_reserved_connections`, and
/// `reserved_connections` from Postgres 16), read with one short query through
/// `--upstream-check-conninfo` (any role that can log in may read these settings).
///
/// Blocking: run it off the I/O loops. The probe's own connection is closed before the
/// answer is used, so it never counts against what it measured.
struct UpstreamCapacityProbe {
    let options: ConnectionOptions

    /// - Parameter replacingAddress: use `upstream`'s host and port even where the conninfo
    ///   names its own (which are `--upstream`'s): for the Postgres of an org routed elsewhere.
    init(conninfo: String, upstream: Endpoint, replacingAddress: Bool = false) throws(PostgresError) {
        var options = try ConnectionOptions(parsing: conninfo)
        if replacingAddress {
            options["hostaddr"] = nil
            options["host"] = upstream.host
            options["port"] = String(upstream.port)
        }
        if options["host"] == nil && options["hostaddr"] == nil { options["host"] = upstream.host }
        if options["port"] == nil { options["port"] = String(upstream.port) }
        if options["connect_timeout"] == nil { options["connect_timeout"] = "5" }
        if options["application_name"] == nil { options["application_name"] = "tiergate-capacity-probe" }
        self.options = options
    }

    static let query = """
        SELECT current_setting('max_connections')::int,
               current_setting('superuser_reserved_connections')::int
                 + coalesce(current_setting('reserved_connections', true)::int, 0)
        """

    /// Sessions TierGate may hold there: `max_connections` less the reserved slots.
    static func sessions(maxConnections: Int, reserved: Int) -> Int { max(1, maxConnections - reserved) }

    /// `(max_connections, reserved)`.
    func run() throws(PostgresError) -> (maxConnections: Int, reserved: Int)? {
        let connection = try PostgresConnection(conninfo: options.conninfo)
        let result = try connection.query(Self.query)
        guard let row = result.rows.first, row.count == 2,
              let max = row[0].flatMap({ Int($0) }), let reserved = row[1].flatMap({ Int($0) }) else { return nil }
        return (max, reserved)
    }
}
