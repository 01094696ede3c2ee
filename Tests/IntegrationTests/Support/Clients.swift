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
