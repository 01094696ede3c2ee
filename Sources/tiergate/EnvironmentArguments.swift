import Foundation

/// Turns `TIERGATE_*` environment variables into command-line options for the subcommand
/// being run, unless the option is already on the command line.
enum EnvironmentArguments {
    /// Options that take a value, per subcommand.
    static let options: [String: [String]] = [
        "serve": ["listen", "upstream", "upstream-check-conninfo", "login-timeout", "drain-timeout", "log-level", "event-loops",
                  "max-message-size", "mongo", "mongo-database", "mongo-collection", "redis", "tiers",
                  "orgs", "local-cache-ttl", "upstream-pgbouncer", "admin-socket", "downgrade-grace", "metrics",
                  "pgbouncer-output", "pgbouncer-reload-admin", "pgbouncer-catch-all", "subscription-grace",
                  "metrics-org-labels", "instance-id", "lease-wait-ms", "cancel-rate",
                  "upstream-max-connections"],
        "admin": ["socket"],
        "pgbouncer-config": ["mongo", "mongo-database", "mongo-collection", "orgs", "tiers", "template",
                             "output", "upstream", "catch-all", "reload-admin"],
    ]

    /// Flags (no value), per subcommand: set by `TIERGATE_<NAME>=1` (or true, yes, on).
    static let flags: [String: [String]] = [
        "serve": ["queue"],
    ]

    static func merge(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        guard let subcommand = arguments.first, let names = options[subcommand] else { return arguments }
        var merged = arguments
        for name in names {
            let key = "TIERGATE_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            guard let value = environment[key], !value.isEmpty else { continue }
            let given = arguments.contains { $0 == "--\(name)" || $0.hasPrefix("--\(name)=") }
            if !given { merged += ["--\(name)", value] }
        }
        for name in flags[subcommand] ?? [] {
            let key = "TIERGATE_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            guard let value = environment[key], ["1", "true", "yes", "on"].contains(value.lowercased()) else { continue }
            if !arguments.contains("--\(name)") { merged.append("--\(name)") }
        }
        return merged
    }
}
