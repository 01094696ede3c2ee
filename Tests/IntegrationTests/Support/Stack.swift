import Foundation

/// Where the services of `scripts/stack.sh` listen. The script exports these variables;
/// the defaults are the script's own fixed loopback ports, so a test run from an editor
/// after `scripts/stack.sh up` finds them too.
enum Stack {
    static let host = "127.0.0.1"
    static var postgresPort: Int { port("TIERGATE_PG_PORT", 25432) }
    static var pgbouncerPort: Int { port("TIERGATE_PGBOUNCER_PORT", 26432) }
    static var redisPort: Int { port("TIERGATE_REDIS_PORT", 26379) }
    static var mongoPort: Int { port("TIERGATE_MONGO_PORT", 27117) }

    static var redisURL: String { "redis://\(host):\(redisPort)" }
    /// Redis database `n` of the stack's Redis, for a suite whose instances must not meet
    /// other suites' (live-instance counts, who bills a burst minute): running in parallel,
    /// every TierGate on database 0 joins in.
    static func redisURL(database: Int) -> String { "\(redisURL)/\(database)" }
    static var mongoURL: String { "mongodb://\(host):\(mongoPort)" }

    /// Superuser (trust on loopback) for set-up work inside tests.
    static var adminConninfo: String { "host=\(host) port=\(postgresPort) user=postgres dbname=postgres" }

    /// The repository root, so tests can call `scripts/stack.sh` for outage tests.
    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private static func port(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? fallback
    }
}
