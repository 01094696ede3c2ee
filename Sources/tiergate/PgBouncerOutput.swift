import Foundation
import PgBouncerConfig
import TierModel
import TierStore
import PostgresWire

/// How `pgbouncer-config` and `serve` build one PgBouncer regeneration (load the orgs,
/// generate, write atomically, RELOAD), so both write the same file for the same input.
struct PgBouncerOutput {
    var output: String
    var upstream: Endpoint
    var catchAll: Endpoint?
    var template: String?
    var reloadAdmin: String?

    /// `sourceName` goes into the generated header; never a URI (it may hold a password).
    func regeneration(source: any OrgSource, sourceName: String, matrix: TierMatrix,
                      tiersPath: String?) throws -> PgBouncerRegeneration {
        let templateValue = try template.map { path in
            try PgBouncerTemplate(path: path, text: try String(contentsOfFile: path, encoding: .utf8))
        }
        let generator = PgBouncerConfigGenerator(
            matrix: matrix, upstream: upstream, template: templateValue,
            catchAll: catchAll,
            provenance: .init(orgSource: sourceName, tierMatrix: tiersPath ?? "built-in (seed Appendix A)"))
        return PgBouncerRegeneration(loadOrgs: { try source.allOrganizations() }, generator: generator,
                                     outputPath: output, adminConninfo: reloadAdmin)
    }
}

struct PgBouncerOutputError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
