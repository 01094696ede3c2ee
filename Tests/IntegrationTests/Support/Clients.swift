import Foundation

/// Runs the real command-line clients (psql, pgbench) as users would.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Command {
    /// Runs `executable` to completion (at most `timeout` seconds, then it is killed and
    /// the status is 137). `stdout`, when given, receives the output instead of the result.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    stdin: URL? = nil, stdout: URL? = nil, timeout: TimeInterval = 300) throws -> CommandResult {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cmd-\(UUID().uuidString)")
        let outPath = stdout?.path ?? scratch.path + ".out"
        let errPath = scratch.path + ".err"
        defer {
            if stdout == nil { try? FileManager.default.removeItem(atPath: outPath) }
            try? FileManager.default.removeItem(atPath: errPath)
        }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        let child = try ChildProcess([executable] + arguments, environment: env, stdin: stdin?.path ?? "/dev/null",
                                     stdout: outPath, stderr: errPath)
        var status = child.wait(timeout: timeout)
        if status == nil {
            child.signal(SIGKILL)
            status = child.wait(timeout: 10)
        }
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return CommandResult(status: status ?? 137, stdout: stdout == nil ? read(outPath) : "", stderr: read(errPath))
    }

    /// psql against `port` as `user` with `password`, quiet, unaligned, tuples only.
    static func psql(port: Int, user: String = "app", database: String = "tiergate_test",
                     password: String = "app_pw", _ sql: String, extra: [String] = []) throws -> CommandResult {
        try run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                         "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", database, "-c", sql] + extra,
                environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"])
    }
}

/// Clients/startup_client.py: a startup packet exactly as given (names may repeat), SCRAM,
/// one simple query; for drivers this machine does not have and for hostile packets.
enum StartupClient {
    struct Reply: Decodable {
        /// The server asked for a password: a backend had started.
        var authRequested: Bool
        /// Protocol options the server did not recognise (NegotiateProtocolVersion).
        var negotiated: [String]
        var parameters: [String: String]
        var rows: [[String?]]
        /// Error fields by code: C (SQLSTATE), M (message), S (severity).
        var error: [String: String]?
        /// With `tls`: what was negotiated, or why not.
        var tls: TLSInfo?
        var tlsError: String?

        var sqlState: String? { error?["C"] }
    }

    struct TLSInfo: Decodable {
        var version: String
        var alpn: String?
    }

    /// How the client encrypts: after an SSLRequest or from its first byte (direct), with
    /// this SNI, verified against `caFile` when given, offering `alpn` ("" offers none).
    struct TLS {
        var direct = false
        var serverName: String?
        var caFile: String?
        var alpn = "postgresql"

        var arguments: [String] {
            var arguments = ["--tls", direct ? "direct" : "request", "--alpn", alpn]
            if let serverName { arguments += ["--server-name", serverName] }
            if let caFile { arguments += ["--cafile", caFile] }
            return arguments
        }
    }

    static func run(port: Int, password: String = "app_pw", query: String? = nil, version: String = "3.0",
                    tls: TLS? = nil, cancelAfter: Double? = nil, _ parameters: [(String, String)]) throws -> Reply {
        let script = Stack.repoRoot.appendingPathComponent("Tests/IntegrationTests/Clients/startup_client.py").path
        var arguments = [script, "--port", "\(port)", "--password", password, "--version", version] + (tls?.arguments ?? [])
        if let query { arguments += ["--query", query] }
        if let cancelAfter { arguments += ["--cancel-after", "\(cancelAfter)"] }
        arguments += parameters.map { "\($0.0)=\($0.1)" }
        let result = try Command.run("python3", arguments, timeout: 60)
        guard result.status == 0 else { throw TestFailure("startup_client.py failed (\(result.status)): \(result.stderr)") }
        return try JSONDecoder().decode(Reply.self, from: Data(result.stdout.utf8))
    }
}

/// pgjdbc (Debian's libpostgresql-jdbc-java, installed by scripts/stack.sh) running
/// Clients/JdbcProbe.java: rows as `a|b`, or `ERROR <sqlstate> <message>`.
enum JDBC {
    static let jar = "/usr/share/java/postgresql.jar"

    static func query(port: Int, database: String, user: String, password: String, _ sql: String,
                      properties: String = "") throws -> CommandResult {
        let probe = Stack.repoRoot.appendingPathComponent("Tests/IntegrationTests/Clients/JdbcProbe.java").path
        let url = "jdbc:postgresql://127.0.0.1:\(port)/\(database)\(properties.isEmpty ? "" : "?" + properties)"
        return try Command.run("java", ["-cp", jar, probe, url, user, password, sql], timeout: 120)
    }
}
