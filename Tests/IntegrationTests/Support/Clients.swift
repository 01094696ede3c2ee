import Foundation

/// Runs the real command-line clients (psql, pgbench) as users would.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Command {
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    stdin: URL? = nil, stdout: URL? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let outPipe = Pipe()
        let errPipe = Pipe()
        if let stdout {
            FileManager.default.createFile(atPath: stdout.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: stdout)
        } else {
            process.standardOutput = outPipe
        }
        process.standardError = errPipe
        if let stdin { process.standardInput = try FileHandle(forReadingFrom: stdin) }
        try process.run()
        // Drain both pipes concurrently so a chatty client cannot block on a full pipe.
        nonisolated(unsafe) var out = Data()
        nonisolated(unsafe) var err = Data()
        let group = DispatchGroup()
        if stdout == nil {
            group.enter()
            DispatchQueue.global().async { out = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        }
        group.enter()
        DispatchQueue.global().async { err = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        process.waitUntilExit()
        group.wait()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: out, as: UTF8.self),
                             stderr: String(decoding: err, as: UTF8.self))
    }

    /// psql against `port` as `user` with `password`, quiet, unaligned, tuples only.
    static func psql(port: Int, user: String = "app", database: String = "tiergate_test",
                     password: String = "app_pw", _ sql: String, extra: [String] = []) throws -> CommandResult {
        try run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                         "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", database, "-c", sql] + extra,
                environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"])
    }
}
