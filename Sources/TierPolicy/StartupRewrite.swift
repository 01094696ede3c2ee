import PostgresWire
import TierModel

/// The startup message as it goes upstream for an admitted org: the role without the org
/// suffix, the org's own database, and the tier's session settings in `options`.
///
/// Why `options` and not a `SET` after authentication: values from the startup packet are
/// the session's reset values (source "client"), so `RESET ALL`, `RESET work_mem`,
/// `SET work_mem TO DEFAULT` and `DISCARD ALL` all return to the tier's value instead of the
/// server's default; they are in force before the first query with no extra round trip and
/// no replies to absorb. (PgBouncer drops `options`; that path uses connect_query instead.)
enum StartupRewrite {
    static func rewrite(_ startup: StartupMessage, identity: OrgIdentity, route: PostgresRoute,
                        settings: SessionSettings) -> StartupMessage {
        var message = startup
        message["user"] = identity.role
        message["database"] = route.database
        message["options"] = options(client: startup["options"], settings: settings)
        // Postgres applies the startup packet's other parameters after `options` (postinit.c,
        // `process_startup_options`), so a tier GUC sent as a parameter of its own
        // (`work_mem=1GB`, `sort_mem=1GB`) would override the tier's value: one the tier does
        // not allow becomes the tier's.
        for (i, parameter) in message.parameters.enumerated() where !["user", "database", "options"].contains(parameter.name) {
            guard let guc = SessionSettings.Parameter(gucName: parameter.name),
                  settings[guc].limit.allows(clientValue: parameter.value) != true else { continue }
            message.parameters[i].value = settings[guc].value
        }
        return message
    }

    /// For PgBouncer: the role without the org suffix, the org's alias (its id) as
    /// the database, so PgBouncer's per-org pool applies, and no `options`: PgBouncer ignores
    /// them (`ignore_startup_parameters`), and the pool's connect_query sets the tier's values.
    static func rewriteForPgBouncer(_ startup: StartupMessage, identity: OrgIdentity) -> StartupMessage {
        var message = startup
        message["user"] = identity.role
        message["database"] = identity.org.rawValue
        message["options"] = nil
        return message
    }

    /// The client's own options with the tier's settings after them. Postgres applies
    /// `-c` options in order, so the last value of a GUC wins; a client's value for a
    /// tier-controlled GUC is kept only if it is within the tier (a lower work_mem, say).
    static func options(client: String?, settings: SessionSettings) -> String {
        var kept: [String] = []
        var lowered: [SessionSettings.Parameter: String] = [:]
        let words = OptionWords.split(client ?? "")
        var i = 0
        while i < words.count {
            let word = words[i]
            var assignment: String?
            if word == "-c", i + 1 < words.count {
                assignment = words[i + 1]
                i += 2
            } else if word.hasPrefix("-c") && word.count > 2 {
                assignment = String(word.dropFirst(2))
                i += 1
            } else if word.hasPrefix("--"), word.contains("=") {
                assignment = String(word.dropFirst(2))
                i += 1
            } else {
                kept.append(word)
                i += 1
                continue
            }
            guard let assignment, let eq = assignment.firstIndex(of: "=") else { continue }
            let name = String(assignment[..<eq]).replacingOccurrences(of: "-", with: "_")
            let value = String(assignment[assignment.index(after: eq)...])
            if let parameter = SessionSettings.Parameter(gucName: name) {
                if settings[parameter].limit.allows(clientValue: value) == true { lowered[parameter] = value }
            } else {
                kept += ["-c", "\(name)=\(value)"]
            }
        }
        for setting in settings.settings {
            kept += ["-c", "\(setting.name)=\(lowered[setting.parameter] ?? setting.value)"]
        }
        return kept.map(OptionWords.escape).joined(separator: " ")
    }
}
