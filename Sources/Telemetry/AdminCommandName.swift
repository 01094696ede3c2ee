/// The admin socket's verbs as the `command` label of `tiergate_admin_commands_total`.
/// Anything else (a verb added later, a malformed line) counts as `other`.
public enum AdminCommandName: String, Sendable, CaseIterable {
    case ping
    case invalidate
    case invalidateAll = "invalidate_all"
    case showOrg = "show_org"
    case showOrgs = "show_orgs"
    case showStats = "show_stats"
    case reload
    case pgbouncer
    case burstOff = "burst_off"
    case burstOn = "burst_on"
    case burstStart = "burst_start"
    case other
}
