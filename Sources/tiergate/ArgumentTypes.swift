import ArgumentParser
import Logging
import PostgresWire
import Proxy
import Telemetry
import TierModel
import TierStore

// The option values the CLI reads, as the types the server uses: each is parsed once by
// ArgumentParser, so a bad value is refused before the start (exit 64, naming the option)
// and nothing later re-parses a string.

extension Endpoint: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public var defaultValueDescription: String { description }
}

extension RedisURL: ExpressibleByArgument {
    public init?(argument: String) {
        guard let url = try? RedisURL(parsing: argument) else { return nil }
        self = url
    }
    public var defaultValueDescription: String { description }
}

extension ServerNameOrgDomain: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension ClientTLSMode: ExpressibleByArgument {}
extension UpstreamTLSMode: ExpressibleByArgument {}
extension OrgLabelMode: ExpressibleByArgument {}

/// A MongoDB connection string: `mongodb://` or `mongodb+srv://` and something after it.
/// The driver parses the rest (hosts, options) when it connects; this only turns a value
/// that cannot be a URI at all into a usage error rather than a failed start.
struct MongoURI: ExpressibleByArgument, CustomStringConvertible, Sendable {
    let text: String

    init?(argument: String) {
        guard let scheme = ["mongodb://", "mongodb+srv://"].first(where: argument.hasPrefix),
              argument.count > scheme.count else { return nil }
        text = argument
    }

    /// The URI may hold a password: `description` never prints it.
    var description: String { "MongoDB URI" }
}
