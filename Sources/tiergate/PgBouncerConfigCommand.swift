import ArgumentParser
import Foundation
import PgBouncerConfig
import TierModel
import TierStore
import PostgresWire

/// `tiergate pgbouncer-config`: writes PgBouncer's per-org pools (docs/design.md#pgbouncer-layer) and
/// asks PgBouncer to RELOAD. See pgbouncer/README.md for the file layout.
struct PgBouncerConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgbouncer-config",
        abstract: "Write PgBouncer's [databases] (one pool per org, sized by tier) and RELOAD it.",
        discussion: """
            Without --template the output is the [databases] file that pgbouncer.ini %includes \
            (the stack's .stack/pgbouncer/databases.ini). With --template it is a complete \
            pgbouncer.ini: the template's [pgbouncer] section, then [databases].
            """)

    @OptionGroup var orgSource: OrgSourceOptions

    @Option(help: "A rendered pgbouncer.ini whose [pgbouncer] section heads the output (omit to write only [databases]). Env: TIERGATE_TEMPLATE.")
    var template: String?

    @Option(help: "File to replace atomically. Env: TIERGATE_OUTPUT.")
    var output: String

    @Option(help: ArgumentHelp("Postgres server for orgs without postgres.host/port (HOST:PORT). Env: TIERGATE_UPSTREAM.", valueName: "host:port"))
    var upstream = Endpoint(host: "127.0.0.1", port: 5432)

    @Option(help: ArgumentHelp("Also send database names that are not orgs to this server (a '*' entry, HOST:PORT). Env: TIERGATE_CATCH_ALL.", valueName: "host:port"))
    var catchAll: Endpoint?

    @Option(help: "libpq conninfo of PgBouncer's admin console, to RELOAD after writing (\"host=127.0.0.1 port=6432 user=postgres dbname=pgbouncer\"). Env: TIERGATE_RELOAD_ADMIN.")
    var reloadAdmin: String?

    func validate() throws {
        guard orgSource.hasSource else { throw ValidationError("give an org source: --mongo or --orgs") }
    }

    func run() throws {
        do {
            let report = try makeRegeneration().run()
            print(report)
        } catch {
            FileHandle.standardError.write(Data("tiergate pgbouncer-config: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func makeRegeneration() throws -> PgBouncerRegeneration {
        guard let (source, sourceName) = try orgSource.makeSource() else {
            throw ValidationError("give an org source: --mongo or --orgs")
        }
        return try PgBouncerOutput(output: output, upstream: upstream, catchAll: catchAll, template: template,
                                   reloadAdmin: reloadAdmin)
            .regeneration(loadOrgs: { try source.allOrganizations() }, sourceName: sourceName,
                          matrix: try orgSource.loadMatrix(), tiersPath: orgSource.tiers)
    }
}
