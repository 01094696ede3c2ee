import TierModel

/// One command of the admin socket's line protocol: one command per line, words separated
/// by spaces or tabs, the verb case-insensitive, org ids as written. Parsed by the table in
/// `AdminCommandTable.swift`.
public enum AdminCommand: Sendable, Equatable {
    case ping
    /// Drop the org from every cache (in process, Redis, every other instance), re-read it
    /// from MongoDB and apply the result to new and open sessions.
    case invalidate(OrgId)
    /// The same for every org.
    case invalidateAll
    case showOrg(OrgId)
    case showOrgs
    case showStats
    /// Re-read the tiers file; a bad file is refused and the old matrix stays.
    case reload
    /// Regenerate PgBouncer's configuration (when a generator is configured).
    case pgbouncer
    /// The burst kill switch (docs/design.md#bursts): end the org's running burst now, on every
    /// instance, and start none until `BURST ON`.
    case burstOff(OrgId)
    /// Lift the kill switch (a cooldown from a real burst still applies).
    case burstOn(OrgId)
    /// Start a burst now (operator or billing request), whatever the org's use and
    /// `autoTrigger`; the add-on must be enabled, and cooldown and kill switch apply.
    case burstStart(OrgId)
}

/// Why a line is not a command; the connection stays usable after any of these.
public enum AdminCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case unknownCommand(String)
    case badArguments(command: String, reason: String)
    /// A line longer than the limit; it was discarded without being buffered.
    case lineTooLong(limit: Int)
    /// Bytes that are not UTF-8 text.
    case notText

    public var description: String {
        switch self {
        case .empty: "empty command; commands: \(AdminCommand.usage)"
        case .unknownCommand(let verb): "unknown command \(verb.debugQuoted); commands: \(AdminCommand.usage)"
        case .badArguments(let command, let reason): "\(command): \(reason)"
        case .lineTooLong(let limit): "line longer than \(limit) bytes: discarded"
        case .notText: "command is not UTF-8 text"
        }
    }
}

extension String {
    /// The string in double quotes, control characters escaped, for error texts.
    var debugQuoted: String {
        var out = "\""
        for scalar in unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
