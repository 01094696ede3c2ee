import PostgresWire
import TierModel

/// The startup message as it goes upstream for an admitted org: the role without the org
/// suffix, the org database the client asked for (or the org's default), and the tier's
/// session settings in `options`. Its input is the proxy's checked startup message
/// (`StartupAllowlist`): `options` holds only `-c name=value` settings of allowed parameters.
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
        message["database"] = route.database(requested: startup["database"], startupUser: startup.user ?? "",
                                             role: identity.role) ?? route.database
        message["options"] = options(client: startup["options"], settings: settings)
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

    /// The client's own settings with the tier's after them. Postgres applies `-c` options in
    /// order, so the last value of a parameter wins; a client's value for a tier-controlled
    /// parameter is kept only if it is within the tier (a lower work_mem, say).
    static func options(client: String?, settings: SessionSettings) -> String {
        // Checked by the proxy already; anything unreadable is dropped, never forwarded.
        let given = (try? StartupOptions.parse(client ?? "").get()) ?? []
        var kept: [StartupOptions.Setting] = []
        var lowered: [SessionSettings.Parameter: String] = [:]
        for setting in given {
            if let parameter = SessionSettings.Parameter(gucName: setting.name) {
                if settings[parameter].limit.allows(clientValue: setting.value) == true { lowered[parameter] = setting.value }
            } else {
                kept.append(setting)
            }
        }
        for setting in settings.settings {
            kept.append(.init(name: setting.name, value: lowered[setting.parameter] ?? setting.value))
        }
        return StartupOptions.encode(kept)
    }
}
