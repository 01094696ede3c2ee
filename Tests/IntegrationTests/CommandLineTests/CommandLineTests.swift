import Foundation
import Testing

/// The binary's options as an operator meets them: typed values refused before the start,
/// each option's environment variable derived from its name and named in `--help`.
struct CommandLineTests {
    /// Runs `tiergate` with no inherited `TIERGATE_*` variable (the stack's ports would
    /// otherwise look like configuration), plus `environment`.
    private static func tiergate(_ arguments: [String], environment: [String: String] = [:],
                                 timeout: TimeInterval = 30) throws -> CommandResult {
        var unset: [String: String] = [:]
        for key in ProcessInfo.processInfo.environment.keys where key.hasPrefix("TIERGATE_") { unset[key] = "" }
        return try Command.run(TierGateBinary.url.path, arguments, environment: unset.merging(environment) { $1 },
                               timeout: timeout)
    }

    /// Every option and flag of each subcommand, from ArgumentParser's own description.
    private static func arguments(of subcommand: String) throws -> [(names: [String], kind: String, help: String)] {
        let result = try tiergate([subcommand, "--experimental-dump-help"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let command = try #require(json?["command"] as? [String: Any])
        let arguments = try #require(command["arguments"] as? [[String: Any]])
        var found: [(names: [String], kind: String, help: String)] = []
        for argument in arguments {
            let kind = argument["kind"] as? String ?? ""
            let names = (argument["names"] as? [[String: Any]] ?? [])
                .filter { $0["kind"] as? String == "long" }.compactMap { $0["name"] as? String }
            guard kind != "positional", !names.isEmpty, !names.contains("help") else { continue }
            let help = argument["abstract"] as? String ?? ""
            // A flag with its inversion (--x, --no-x) is described twice with one help text.
            if let last = found.last, last.kind == "flag", kind == "flag", last.help == help {
                found[found.count - 1].names += names
            } else {
                found.append((names, kind, help))
            }
        }
        return found
    }

    @Test(arguments: ["serve", "pgbouncer-config", "admin", "tiers"])
    func everyOption_namesItsEnvironmentVariable_derivedFromItsName(subcommand: String) throws {
        let options = try Self.arguments(of: subcommand)
        #expect(!options.isEmpty)
        for option in options {
            let variables = option.names.map { "TIERGATE_" + $0.uppercased().replacingOccurrences(of: "-", with: "_") }
            #expect(variables.contains { option.help.contains("Env: \($0)") },
                    "--\(option.names[0]) of \(subcommand): help says \"\(option.help)\", expected one of \(variables)")
        }
    }

    /// `tiergate tiers` prints a complete matrix file: the built-in one loads as it is, and a
    /// file with one value changed loads and comes back completed with that value.
    @Test func tiers_printsACompleteMatrixFile_thatServeAccepts() throws {
        let builtIn = try Self.tiergate(["tiers"])
        #expect(builtIn.status == 0, "\(builtIn.stderr)")
        var matrix = try #require(try JSONSerialization.jsonObject(with: Data(builtIn.stdout.utf8)) as? [String: Any])
        #expect(Set(matrix.keys) == ["FREE", "STARTER", "PRO", "ENTERPRISE"])
        var free = try #require(matrix["FREE"] as? [String: Any])
        var postgres = try #require(free["postgres"] as? [String: Any])
        #expect(postgres["maxConnections"] as? Int == 5)
        postgres["maxConnections"] = 7
        postgres["connectRate"] = nil  // optional: the built-in value comes back
        free["postgres"] = postgres
        matrix["FREE"] = free
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiers-\(UUID().uuidString).json").path
        try JSONSerialization.data(withJSONObject: matrix).write(to: URL(fileURLWithPath: path))
        let completed = try Self.tiergate(["tiers", "--tiers", path])
        #expect(completed.status == 0, "\(completed.stderr)")
        let reread = try JSONSerialization.jsonObject(with: Data(completed.stdout.utf8)) as? [String: Any]
        let rereadPostgres = (reread?["FREE"] as? [String: Any])?["postgres"] as? [String: Any]
        #expect(rereadPostgres?["maxConnections"] as? Int == 7)
        #expect(rereadPostgres?["connectRate"] as? Double == 5)
        // A partial file is refused with the reason, as serve refuses it.
        try Data(#"{"ENTERPRISE": {}}"#.utf8).write(to: URL(fileURLWithPath: path))
        let partial = try Self.tiergate(["tiers", "--tiers", path])
        #expect(partial.status == 1)
        #expect(partial.stderr.contains("tier missing"), "\(partial.stderr)")
    }

    @Test func environmentVariable_isReadUnderTheOptionsName_andTheCommandLineWins() throws {
        let bad = try Self.tiergate(["serve"], environment: ["TIERGATE_LOGIN_TIMEOUT": "soon"])
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("'soon' is invalid for '--login-timeout"), "\(bad.stderr)")
        // A TLS option, read from the environment like the others.
        let tls = try Self.tiergate(["serve"], environment: ["TIERGATE_CLIENT_TLS": "sometimes"])
        #expect(tls.status == 64, "\(tls.stderr)")
        #expect(tls.stderr.contains("--client-tls"), "\(tls.stderr)")
        #expect(tls.stderr.contains("'disable', 'allow' or 'require'"), "\(tls.stderr)")
        // The command line's value is used: the environment's bad one is never parsed.
        let proxy = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)", "--login-timeout", "5"],
                                        environment: ["TIERGATE_LOGIN_TIMEOUT": "soon"])
        #expect(proxy.process.isRunning)
    }

    @Test(arguments: [
        (["--listen", "localhost"], "--listen <host:port>"),
        (["--upstream", "127.0.0.1:0"], "--upstream <host:port>"),
        (["--metrics", "127.0.0.1:99999"], "--metrics <host:port>"),
        (["--redis", "http://127.0.0.1:6379"], "--redis <redis://HOST:PORT[/DB]>"),
        (["--mongo", "127.0.0.1:27017"], "--mongo <mongodb://HOST:PORT>"),
        (["--drain-timeout", "1x"], "--drain-timeout <duration>"),
        (["--downgrade-grace", "15 minutes"], "--downgrade-grace <duration>"),
        (["--log-level", "loud"], "--log-level <log-level>"),
        (["--upstream-tls", "always"], "--upstream-tls <upstream-tls>"),
        (["--metrics-org-labels", "secret"], "--metrics-org-labels <metrics-org-labels>"),
    ])
    func badValue_isRefusedBeforeTheStart_namingTheOption(arguments: [String], option: String) throws {
        let result = try Self.tiergate(["serve"] + arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("The value '\(arguments[1])' is invalid for '\(option)'"), "\(result.stderr)")
    }

    @Test func duration_takesAUnit() throws {
        let proxy = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)", "--login-timeout", "300ms"])
        let connection = try RawConnection(port: proxy.port)
        let started = Date()
        let errors = ReceivedMessages.errors(connection.readToEnd())
        #expect(errors.first?[.sqlState] == "08P01")
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.25 && waited < 5, "closed after \(waited) s")
    }
}
