import TierModel

/// One row of the admin command table: the words that name a command, the argument it
/// takes, how it reads as usage, and the `command` label it is counted under in
/// `tiergate_admin_commands_total`.
///
/// The socket's commands are this table and nothing else, as PgBouncer's admin.c keeps its
/// command list: the parser, the usage text and the metric labels are all read from it, so
/// a command cannot be added to one and forgotten in another.
public struct AdminCommandSpec: Sendable {
    public enum Argument: Sendable, Equatable {
        case none
        /// One org id.
        case org
        /// The literal `*`.
        case all
    }

    /// Upper case, one or two words ("PING", "SHOW ORG").
    public let words: [String]
    public let argument: Argument
    public let metricLabel: String
    fileprivate let make: @Sendable (OrgId?) -> AdminCommand

    /// As the usage text and the README write it.
    public var usage: String {
        let name = words.joined(separator: " ")
        switch argument {
        case .none: return name
        case .org: return name + " <orgId>"
        case .all: return name + " *"
        }
    }

    fileprivate init(_ words: String, _ argument: Argument, metric: String,
                     _ make: @escaping @Sendable (OrgId?) -> AdminCommand) {
        self.words = words.split(separator: " ").map(String.init)
        self.argument = argument
        self.metricLabel = metric
        self.make = make
    }
}

extension AdminCommand {
    /// Every command, in the order the usage text lists them.
    public static let table: [AdminCommandSpec] = [
        AdminCommandSpec("PING", .none, metric: "ping") { _ in .ping },
        AdminCommandSpec("INVALIDATE", .org, metric: "invalidate") { .invalidate($0!) },
        AdminCommandSpec("INVALIDATE", .all, metric: "invalidate_all") { _ in .invalidateAll },
        AdminCommandSpec("SHOW ORG", .org, metric: "show_org") { .showOrg($0!) },
        AdminCommandSpec("SHOW ORGS", .none, metric: "show_orgs") { _ in .showOrgs },
        AdminCommandSpec("SHOW STATS", .none, metric: "show_stats") { _ in .showStats },
        AdminCommandSpec("RELOAD", .none, metric: "reload") { _ in .reload },
        AdminCommandSpec("PGBOUNCER", .none, metric: "pgbouncer") { _ in .pgbouncer },
        AdminCommandSpec("BURST START", .org, metric: "burst_start") { .burstStart($0!) },
        AdminCommandSpec("BURST OFF", .org, metric: "burst_off") { .burstOff($0!) },
        AdminCommandSpec("BURST ON", .org, metric: "burst_on") { .burstOn($0!) },
    ]

    /// The `command` label of anything the table does not name.
    public static let otherMetricLabel = "other"

    /// Every `command` label, `other` last: the series `tiergate_admin_commands_total` has.
    public static let metricLabels = table.map(\.metricLabel) + [otherMetricLabel]

    /// The verbs, for the error that lists them.
    public static let usage = table.map(\.usage).joined(separator: ", ")

    /// The table's row for this command.
    public var spec: AdminCommandSpec {
        let words: [String]
        let argument: AdminCommandSpec.Argument
        switch self {
        case .ping: (words, argument) = (["PING"], .none)
        case .invalidate: (words, argument) = (["INVALIDATE"], .org)
        case .invalidateAll: (words, argument) = (["INVALIDATE"], .all)
        case .showOrg: (words, argument) = (["SHOW", "ORG"], .org)
        case .showOrgs: (words, argument) = (["SHOW", "ORGS"], .none)
        case .showStats: (words, argument) = (["SHOW", "STATS"], .none)
        case .reload: (words, argument) = (["RELOAD"], .none)
        case .pgbouncer: (words, argument) = (["PGBOUNCER"], .none)
        case .burstStart: (words, argument) = (["BURST", "START"], .org)
        case .burstOff: (words, argument) = (["BURST", "OFF"], .org)
        case .burstOn: (words, argument) = (["BURST", "ON"], .org)
        }
        return Self.table.first { $0.words == words && $0.argument == argument }!
    }

    /// The `command` label this command is counted under.
    public var metricLabel: String { spec.metricLabel }

    /// Parses one line (without its newline) by the table. Never throws anything but
    /// `AdminCommandError`, whose text is what the client sees in `{"ok":false,"error":...}`.
    public static func parse(_ line: String) throws(AdminCommandError) -> AdminCommand {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard let verb = words.first?.uppercased() else { throw .empty }
        var arguments = Array(words.dropFirst())
        var rows = table.filter { $0.words[0] == verb }
        guard !rows.isEmpty else { throw .unknownCommand(String(words[0].prefix(64))) }
        var name = verb
        if rows[0].words.count == 2 {
            // A verb with sub-commands (SHOW ORG, BURST OFF): the second word picks one.
            let choices = rows.map { $0.words[1] }
            guard let what = arguments.first?.uppercased() else {
                throw .badArguments(command: verb, reason: "expected \(listed(rows.map(\.usage)))")
            }
            rows = rows.filter { $0.words[1] == what }
            guard !rows.isEmpty else {
                throw .badArguments(command: verb, reason: "unknown \(verb) \(what.debugQuoted); expected \(listed(choices))")
            }
            name += " " + what
            arguments.removeFirst()
        }
        // Rows left share their words and differ in their argument (INVALIDATE <orgId> or *).
        let usage = rows.map(\.usage).joined(separator: " or ")
        if rows.allSatisfy({ $0.argument == .none }) {
            guard arguments.isEmpty else { throw .badArguments(command: name, reason: "takes no arguments") }
            return rows[0].make(nil)
        }
        guard arguments.count == 1 else { throw .badArguments(command: name, reason: "usage: \(usage)") }
        if arguments[0] == "*", let all = rows.first(where: { $0.argument == .all }) {
            return all.make(nil)
        }
        guard let byOrg = rows.first(where: { $0.argument == .org }) else {
            throw .badArguments(command: name, reason: "usage: \(usage)")
        }
        return byOrg.make(try orgId(arguments[0]))
    }

    /// "A, B or C".
    private static func listed(_ items: [String]) -> String {
        items.count < 2 ? items.joined() : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }

    private static func orgId(_ text: String) throws(AdminCommandError) -> OrgId {
        do {
            return try OrgId(text)
        } catch {
            throw .badArguments(command: "org id", reason: "\(String(text.prefix(64)).debugQuoted): \(error)")
        }
    }
}
