import ArgumentParser

@main
struct TierGateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiergate",
        abstract: "A connection-gating proxy for PostgreSQL.",
        discussion: "Every option of a subcommand can also be set through an environment variable: --login-timeout is TIERGATE_LOGIN_TIMEOUT. A flag on the command line wins.",
        subcommands: [ServeCommand.self, PgBouncerConfigCommand.self, AdminSubcommand.self, TiersCommand.self])

    /// ArgumentParser knows no environment variables; they are merged into argv before
    /// parsing so that validation and `--help` treat both sources alike.
    static func main() {
        let arguments = EnvironmentArguments.merge(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
