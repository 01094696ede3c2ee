import Gate
import PostgresWire
import Proxy
import Telemetry
import TierModel

/// What a session of a tier checks while relaying:
/// - a client may lower the injected settings but not raise them (`SettingsGuard`);
/// - a query killed by the tier's statement timeout gets the tier's upgrade hint
///   (`UpgradeHint.queryTimeout`).
struct TierSessionRules: SessionRules {
    let tier: Tier
    let settingsGuard: SettingsGuard
    let timeoutHint: String
    /// Counts settings refusals and statement timeouts; nil: not counted.
    let metrics: TierGateMetrics?
    /// The tier's settings the proxy checks after statements it cannot judge; nil through
    /// PgBouncer, whose transaction pool may run the check on another server connection.
    let checkedSettings: SessionSettings?

    /// `pooled`: the session goes through PgBouncer's transaction pool (`SettingsGuard.pooled`).
    init(org: OrgTier, matrix: TierMatrix, pooled: Bool = false, metrics: TierGateMetrics? = nil) {
        self.metrics = metrics
        tier = org.tier
        settingsGuard = SettingsGuard(tier: org.tier, settings: org.sessionSettings, matrix: matrix, pooled: pooled)
        timeoutHint = UpgradeHint.queryTimeout(tier: org.tier, matrix: matrix).text
        checkedSettings = pooled ? nil : org.sessionSettings
    }

    var inspectedFrontendMessages: [UInt8] {
        [FrontendMessageID.query.rawValue, FrontendMessageID.parse.rawValue, Self.functionCall]
    }

    func filterFrontend(id: UInt8, payload: ArraySlice<UInt8>) -> FrontendVerdict {
        switch FrontendMessageID(rawValue: id) {
        case .query:
            guard let query = Query.decode(payload: payload),
                  let violation = settingsGuard.check(sql: query.text) else { return .forward }
            metrics?.settingsRefused(tier: tier)
            return .replace(Query(text: settingsGuard.refusalStatement(for: violation)).encoded())
        case .parse:
            guard var parse = Parse.decode(payload: payload),
                  let violation = settingsGuard.check(sql: parse.query) else { return .forward }
            metrics?.settingsRefused(tier: tier)
            parse.query = settingsGuard.refusalStatement(for: violation)
            parse.parameterTypes = []
            return .replace(parse.encoded())
        default:
            return .forward
        }
    }

    /// Only the statement-timeout cancel gets the hint; a user's cancel or a lock timeout
    /// (also 57014 / 55P03) is not the tier's doing.
    func decorate(error: ErrorResponse) -> ErrorResponse {
        guard error.sqlState == "57014",
              error.message?.contains("statement timeout") == true,
              error[.hint] == nil else { return error }
        metrics?.statementTimedOut(tier: tier)
        var decorated = error
        decorated[.hint] = timeoutHint
        return decorated
    }
}
