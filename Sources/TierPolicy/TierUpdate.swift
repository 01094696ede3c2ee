import Proxy
import TierModel

/// A tier change as one open session applies it.
struct TierUpdate: Sendable {
    let org: OrgTier
    /// Made once for all the org's sessions; each session gets them with its own memory.
    let rules: TierSessionRules
    let idleTimeout: IdleTimeout?
    /// False through PgBouncer: its pools apply settings, a SET would leak across clients.
    let injectSettings: Bool

    /// The session's new terms: the tier's rules (with the session's own guard memory), idle
    /// and statement timeouts and `tier` log field at once (a running statement keeps its
    /// timeout), its settings as one statement at the next idle point.
    func sessionUpdate(memory: SessionGuardMemory) -> SessionUpdate {
        SessionUpdate(rules: rules.with(memory: memory), idleTimeout: idleTimeout, statementTimeout: StatementTimeout(tier: org),
                      logMetadata: ["tier": org.tier.rawValue],
                      settingsStatement: injectSettings ? org.sessionSettings.settings.map(\.sql).joined(separator: "; ") : nil)
    }
}
