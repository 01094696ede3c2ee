import Gate
import PostgresWire
import Proxy
import Telemetry
import TierModel

/// What a session of a tier checks while relaying:
/// - a client may lower the injected settings but not raise them (`SettingsGuard`), through
///   a Query, a Parse, a Bind of a bound set_config or a FunctionCall of set_config;
/// - a query killed by the tier's statement timeout gets the tier's upgrade hint
///   (`UpgradeHint.queryTimeout`).
///
/// A refusal is sent as a statement that makes Postgres raise it (`SettingsGuard
/// .refusalStatement(for:)`), so the protocol's error sequence stays Postgres' own: the
/// transaction block aborted, the extended protocol skipping to Sync, a FunctionCall answered
/// by ErrorResponse then ReadyForQuery (it is replaced by a Query, answered the same way).
/// A refused Bind is replaced by a Bind of the same statement with no values, which the
/// server refuses at once (08P01, "bind message supplies 0 parameters"); that error comes
/// back rewritten into the refusal. Refusals reach the client without the PL/pgSQL CONTEXT
/// line the raising statement adds.
///
/// Each value belongs to one session (`memory`); a tier change makes new rules with the
/// session's memory (`with(memory:)`).
struct TierSessionRules: SessionRules {
    let tier: Tier
    let settingsGuard: SettingsGuard
    let timeoutHint: String
    /// Counts settings refusals and statement timeouts; nil: not counted.
    let metrics: TierGateMetrics?
    /// The tier's settings the proxy checks after statements it cannot judge; nil through
    /// PgBouncer, whose transaction pool may run the check on another server connection.
    let checkedSettings: SessionSettings?
    let memory: SessionGuardMemory

    /// `pooled`: the session goes through PgBouncer's transaction pool (`SettingsGuard.pooled`).
    init(org: OrgTier, matrix: TierMatrix, pooled: Bool = false, metrics: TierGateMetrics? = nil,
         memory: SessionGuardMemory = SessionGuardMemory()) {
        self.metrics = metrics
        self.memory = memory
        tier = org.tier
        settingsGuard = SettingsGuard(tier: org.tier, settings: org.sessionSettings, matrix: matrix, pooled: pooled)
        timeoutHint = UpgradeHint.queryTimeout(tier: org.tier, matrix: matrix).text
        checkedSettings = pooled ? nil : org.sessionSettings
    }

    private init(_ rules: TierSessionRules, memory: SessionGuardMemory) {
        tier = rules.tier
        settingsGuard = rules.settingsGuard
        timeoutHint = rules.timeoutHint
        metrics = rules.metrics
        checkedSettings = rules.checkedSettings
        self.memory = memory
    }

    /// The same rules for the session whose memory this is.
    func with(memory: SessionGuardMemory) -> TierSessionRules {
        TierSessionRules(self, memory: memory)
    }

    var inspectedFrontendMessages: [UInt8] {
        [FrontendMessageID.query.rawValue, FrontendMessageID.parse.rawValue, FrontendMessageID.bind.rawValue,
         FrontendMessageID.functionCall.rawValue]
    }

    /// A message that does not decode is forwarded: the server refuses a malformed message
    /// before running anything in it.
    func filterFrontend(id: UInt8, payload: ArraySlice<UInt8>) -> FrontendVerdict {
        switch FrontendMessageID(rawValue: id) {
        case .query:
            metrics?.statementReceived(tier: tier)
            guard let text = Query.decodeText(payload: payload) else { return .forward }
            let prepared = memory.state.withLock { $0.prepared }
            guard let violation = settingsGuard.check(query: text, prepared: prepared) else { return .forward }
            return refuse(violation)
        case .parse:
            guard let parse = RawParse.decode(payload: payload) else { return .forward }
            let prepared = memory.state.withLock { $0.prepared }
            switch settingsGuard.check(parse: parse, prepared: prepared) {
            case .forward:
                return .forward
            case .remember(let statement):
                let kept = memory.state.withLock { $0.prepared.remember(statement, named: Array(parse.statementName)) }
                guard !kept, let violation = settingsGuard.unboundViolation(statement) else { return .forward }
                metrics?.settingsRefused(tier: tier)
                return .replace(settingsGuard.refusalParse(for: parse, violation: violation).encoded())
            case .refuse(let violation):
                metrics?.settingsRefused(tier: tier)
                return .replace(settingsGuard.refusalParse(for: parse, violation: violation).encoded())
            }
        case .bind:
            metrics?.statementReceived(tier: tier)
            // Most sessions never prepare a bound set_config: their Binds are not decoded.
            guard !memory.state.withLock({ $0.prepared.isEmpty }), let bind = Bind.decode(payload: payload) else {
                return .forward
            }
            let statement = Array(bind.statement)
            let prepared = memory.state.withLock { $0.prepared.templates(named: statement) }
            guard let violation = prepared.lazy.compactMap({ settingsGuard.check(bind: bind.parameters, against: $0) }).first
            else { return .forward }
            metrics?.settingsRefused(tier: tier)
            memory.state.withLock { state in
                state.refusedBinds.append((statement, violation))
                if state.refusedBinds.count > SessionGuardMemory.refusedBindLimit { state.refusedBinds.removeFirst() }
            }
            var refused = bind
            refused.parameters = BoundValues(values: [])
            return .replace(refused.encoded())
        case .functionCall:
            guard let call = FunctionCall.decode(payload: payload),
                  let violation = settingsGuard.check(functionCall: call) else { return .forward }
            return refuse(violation)
        default:
            return .forward
        }
    }

    /// A Query (or FunctionCall) replaced by the refusal statement.
    private func refuse(_ violation: SettingsViolation) -> FrontendVerdict {
        metrics?.settingsRefused(tier: tier)
        return .replace(Query(text: settingsGuard.refusalStatement(for: violation)).encoded())
    }

    func decorate(error: ErrorResponse) -> ErrorResponse {
        if let refusal = rewrittenRefusal(error) { return refusal }
        // Only the statement-timeout cancel gets the hint; a user's cancel or a lock timeout
        // (also 57014 / 55P03) is not the tier's doing.
        guard error.sqlState == .queryCanceled,
              error.message?.contains("statement timeout") == true,
              error[.hint] == nil else { return error }
        metrics?.statementTimedOut(tier: tier)
        var decorated = error
        decorated[.hint] = timeoutHint
        return decorated
    }

    /// The refusal as the client should see it, when `error` is the server's answer to one:
    /// the raised refusal without its CONTEXT (`PL/pgSQL function inline_code_block line 1
    /// at RAISE`), or the error that a refused Bind provoked replaced by the refusal. The
    /// Bind's is recognized by its SQLSTATE and reporting routine (neither is translated by
    /// lc_messages) and the statement name the message quotes.
    private func rewrittenRefusal(_ error: ErrorResponse) -> ErrorResponse? {
        if error.sqlState == SettingsViolation.sqlState, error[.context] != nil,
           SettingsViolation.isRefusal(detail: error[.detail]) {
            var refusal = error
            refusal[.context] = nil
            return refusal
        }
        guard error.sqlState == .protocolViolation, error[.routine] == "exec_bind_message", let message = error.message else { return nil }
        // Refused Binds before the one answered were skipped by the server (an earlier error
        // in their batch): they get no answer.
        let violation: SettingsViolation? = memory.state.withLock { state in
            guard let i = state.refusedBinds.firstIndex(where: {
                message.contains("\"" + String(decoding: $0.statement, as: UTF8.self) + "\"")
            }) else { return nil }
            let violation = state.refusedBinds[i].violation
            state.refusedBinds.removeFirst(i + 1)
            return violation
        }
        guard let violation else { return nil }
        return ErrorResponse(severity: .error, sqlState: violation.sqlState, message: violation.message,
                             detail: violation.detail, hint: violation.hint)
    }
}
