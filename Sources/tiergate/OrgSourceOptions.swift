import ArgumentParser
import Foundation
import TierModel
import TierStore

/// Where the orgs and the tier matrix come from: the options `serve` and
/// `pgbouncer-config` share, so both read the same orgs the same way.
struct OrgSourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("MongoDB URI of the org source of truth (mongodb://HOST:PORT). Env: TIERGATE_MONGO.", valueName: "mongodb://HOST:PORT"))
    var mongo: MongoURI?

    @Option(help: "MongoDB database holding the orgs. Env: TIERGATE_MONGO_DATABASE.")
    var mongoDatabase: String = OrganizationCollection.defaultDatabase

    @Option(help: "MongoDB collection holding the orgs. Env: TIERGATE_MONGO_COLLECTION.")
    var mongoCollection: String = OrganizationCollection.defaultCollection

    @Option(help: "JSON file of org documents: the embedded mode, without MongoDB. Env: TIERGATE_ORGS.")
    var orgs: String?

    @Option(help: "JSON file overriding the tier matrix (the shape of docs/design.md#matrix-file). Env: TIERGATE_TIERS.")
    var tiers: String?

    var hasSource: Bool { mongo != nil || orgs != nil }

    func validate() throws {
        if mongo != nil && orgs != nil { throw ValidationError("--mongo and --orgs are exclusive: pick one org source") }
    }

    /// The configured source and a name for logs and generated headers (never the URI: it
    /// may hold a password); nil without one.
    func makeSource() throws -> (source: any OrgSource, name: String)? {
        if let mongo {
            let collection = try OrganizationCollection(uri: mongo.text, database: mongoDatabase, collection: mongoCollection)
            return (MongoOrgSource(collection: collection), "MongoDB \(mongoDatabase).\(mongoCollection)")
        }
        if let orgs {
            let source = try FileOrgSource(path: orgs)
            return (source, source.name)
        }
        return nil
    }

    /// The built-in matrix, or the --tiers file (refused with path, field and reason).
    func loadMatrix() throws -> TierMatrix {
        guard let tiers else { return .builtIn }
        return try TierMatrix.load(json: try Data(contentsOf: URL(fileURLWithPath: tiers)), path: tiers)
    }
}
