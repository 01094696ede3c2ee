import Proxy
import TierModel

/// A tier change as one open session applies it.
struct TierUpdate: Sendable {
    let org: OrgTier
    let rules: any SessionRules
    let idleTimeout: IdleTimeout?
    /// False through PgBouncer: its pools apply settings, a SET would leak across clients.
    let injectSettings: Bool

    /// The session's new terms: the tier's rules, idle and statement timeouts and `tier` log
    /// field at once (a running statement keeps its timeout), its settings as one statement at
    /// the next idle point.
    var sessionUpdate: SessionUpdate {
        SessionUpdate(rules: rules, idleTimeout: idleTimeout, statementTimeout: StatementTimeout(tier: org),
                      logMetadata: ["tier": org.tier.rawValue],
                      settingsStatement: injectSettings ? org.sessionSettings.settings.map(\.sql).joined(separator: "; ") : nil)
    }
}
