import TierModel

/// One command of the admin socket's line protocol: one command per line, words
/// separated by spaces or tabs, the verb case-insensitive, org ids as written.
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

    /// The verbs, for the error that lists them.
    public static let usage = "PING, INVALIDATE <orgId>, INVALIDATE *, SHOW ORG <orgId>, SHOW ORGS, SHOW STATS, RELOAD, PGBOUNCER, BURST START <orgId>, BURST OFF <orgId>, BURST ON <orgId>"

    /// Parses one line (without its newline). Never throws anything but `AdminCommandError`,
    /// whose text is what the client sees in `{"ok":false,"error":...}`.
    public static func parse(_ line: String) throws(AdminCommandError) -> AdminCommand {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard let verb = words.first?.uppercased() else { throw .empty }
        let arguments = Array(words.dropFirst())
        switch verb {
        case "PING":
            try expectCount(arguments, 0, verb)
            return .ping
        case "INVALIDATE":
            try expectCount(arguments, 1, verb, usage: "INVALIDATE <orgId> or INVALIDATE *")
            return arguments[0] == "*" ? .invalidateAll : .invalidate(try orgId(arguments[0]))
        case "SHOW":
            guard let what = arguments.first?.uppercased() else {
                throw .badArguments(command: "SHOW", reason: "expected SHOW ORG <orgId>, SHOW ORGS or SHOW STATS")
            }
            switch what {
            case "ORG":
                try expectCount(Array(arguments.dropFirst()), 1, "SHOW ORG", usage: "SHOW ORG <orgId>")
                return .showOrg(try orgId(arguments[1]))
            case "ORGS":
                try expectCount(Array(arguments.dropFirst()), 0, "SHOW ORGS")
                return .showOrgs
            case "STATS":
                try expectCount(Array(arguments.dropFirst()), 0, "SHOW STATS")
                return .showStats
            default:
                throw .badArguments(command: "SHOW", reason: "unknown SHOW \(what.debugQuoted); expected ORG, ORGS or STATS")
            }
        case "RELOAD":
            try expectCount(arguments, 0, verb)
            return .reload
        case "PGBOUNCER":
            try expectCount(arguments, 0, verb)
            return .pgbouncer
        case "BURST":
            let usage = "BURST START <orgId>, BURST OFF <orgId> or BURST ON <orgId>"
            try expectCount(arguments, 2, verb, usage: usage)
            switch arguments[0].uppercased() {
            case "OFF": return .burstOff(try orgId(arguments[1]))
            case "ON": return .burstOn(try orgId(arguments[1]))
            case "START": return .burstStart(try orgId(arguments[1]))
            default: throw .badArguments(command: "BURST", reason: "usage: \(usage)")
            }
        default:
            throw .unknownCommand(String(words[0].prefix(64)))
        }
    }

    private static func expectCount(_ arguments: [String], _ count: Int, _ command: String,
                                    usage: String? = nil) throws(AdminCommandError) {
        guard arguments.count != count else { return }
        let expected = usage.map { "usage: \($0)" } ?? "takes no arguments"
        throw .badArguments(command: command, reason: expected)
    }

    private static func orgId(_ text: String) throws(AdminCommandError) -> OrgId {
        do {
            return try OrgId(text)
        } catch {
            throw .badArguments(command: "org id", reason: "\(String(text.prefix(64)).debugQuoted): \(error)")
        }
    }
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
