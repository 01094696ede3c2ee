import Foundation
import PostgresWire
import TierModel

/// How `pgbouncer-config` and `serve` build one PgBouncer regeneration (load the orgs,
/// generate, write atomically, RELOAD), so both write the same file for the same input.
public struct PgBouncerOutput: Sendable {
    public var output: String
    public var upstream: Endpoint
    public var catchAll: Endpoint?
    public var template: String?
    public var reloadAdmin: String?

    public init(output: String, upstream: Endpoint, catchAll: Endpoint? = nil, template: String? = nil,
                reloadAdmin: String? = nil) {
        self.output = output
        self.upstream = upstream
        self.catchAll = catchAll
        self.template = template
        self.reloadAdmin = reloadAdmin
    }

    /// `sourceName` goes into the generated header; never a URI (it may hold a password).
    /// `loadOrgs` reads every org from the org source.
    public func regeneration(loadOrgs: @escaping @Sendable () throws -> [OrgDocument], sourceName: String,
                             matrix: TierMatrix, tiersPath: String?) throws -> PgBouncerRegeneration {
        let templateValue = try template.map { path in
            try PgBouncerTemplate(path: path, text: try String(contentsOfFile: path, encoding: .utf8))
        }
        let generator = PgBouncerConfigGenerator(
            matrix: matrix, upstream: upstream, template: templateValue,
            catchAll: catchAll,
            provenance: .init(orgSource: sourceName, tierMatrix: tiersPath ?? "built-in (seed Appendix A)"))
        return PgBouncerRegeneration(loadOrgs: loadOrgs, generator: generator,
                                     outputPath: output, adminConninfo: reloadAdmin)
    }
}
