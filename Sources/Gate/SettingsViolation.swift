import PostgresWire
import TierModel

/// A client's attempt to raise a tier GUC, and everything the client is told about it.
///
/// Sent as Postgres' own error (`SettingsGuard.refusalStatement(for:)`) with `sqlState`,
/// `message`, `detail` and `hint`; this type is the one source of their text.
public struct SettingsViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// `insufficient_privilege`: what Postgres reports for a SET the role may not do.
    public static let sqlState = SQLState.insufficientPrivilege

    public enum Reason: String, Sendable, CaseIterable {
        /// The value is above the tier's limit (statement_timeout 0, no timeout, always is).
        case aboveLimit = "setting_limit_exceeded"
        /// The value is an expression, a parameter, or text TierGate cannot read as the
        /// GUC's type: refused rather than guessed.
        case unreadableValue = "setting_value_unchecked"
        /// `set_config`'s name is not a string constant, so it could be any tier GUC.
        case unnamedParameter = "setting_name_unchecked"
        /// Through PgBouncer's transaction pool: a change that would outlive the transaction
        /// on a shared server connection (`SettingsGuard.pooled`).
        case sessionChangeWhilePooled = "setting_session_change_pooled"
        /// `UPDATE pg_settings`, which sets parameters like set_config.
        case settingsViewUpdate = "settings_view_update"
    }

    public let reason: Reason
    /// The tier GUC; nil only for `.unnamedParameter`.
    public let parameter: SessionSettings.Parameter?
    /// The value as the client wrote it (a constant's text without quotes), or for
    /// `.unnamedParameter` the name argument.
    public let requested: String
    public let tier: Tier
    /// The tier's ceiling for `parameter`.
    public let limit: SessionSettings.Limit?
    /// What the client can do about it: an upgrade where one raises the limit.
    public let suggestion: String

    public init(reason: Reason, parameter: SessionSettings.Parameter?, requested: String, tier: Tier,
                limit: SessionSettings.Limit?, matrix: TierMatrix) {
        self.reason = reason
        self.parameter = parameter
        // Bounded, and printable ASCII: the text comes from the client and goes into logs,
        // an ErrorResponse and a statement read in the session's client_encoding, where any
        // other byte could mean something else (`SettingsGuard.refusalStatement(for:)`).
        // Mapped first, then bounded: one Character can be several scalars ("\r\n", a letter
        // with combining marks), each of which becomes a character of its own here.
        let printable = String(String.UnicodeScalarView(requested.unicodeScalars.map {
            (0x20...0x7E).contains($0.value) ? $0 : "?"
        }))
        self.requested = printable.count > 100 ? String(printable.prefix(100)) + "..." : printable
        self.tier = tier
        self.limit = limit
        self.suggestion = Self.suggestion(reason: reason, parameter: parameter, limit: limit, tier: tier,
                                          matrix: matrix)
    }

    public var sqlState: SQLState { Self.sqlState }

    /// Whether an error's DETAIL is a refusal's (`detail`), as the server echoes it back
    /// when it raises the refusal statement.
    public static func isRefusal(detail: String?) -> Bool {
        guard let detail else { return false }
        return Reason.allCases.contains { detail.hasPrefix(#"{"error":""# + $0.rawValue + #"","tier":""#) }
    }

    /// The tier's limit as SHOW prints it: `4MB`, `10s`, `2`.
    public var maximum: String? {
        limit.map { $0.parameter.render($0.maximum) }
    }

    /// `permission denied to set parameter "work_mem" to '1GB': the FREE tier allows at most 4MB`.
    public var message: String {
        if reason == .sessionChangeWhilePooled {
            let what = parameter.map { "permission denied to change parameter \"\($0.name)\" beyond the transaction" }
                ?? "permission denied to reset the session's settings"
            return "\(what) (\(requested)): sessions go through PgBouncer's transaction pool, where the change "
                + "would stay on a server connection shared by the org's clients"
        }
        if reason == .settingsViewUpdate {
            return "permission denied to update pg_settings: it changes parameters like set_config, and the "
                + "\(tier) tier limits "
                + SessionSettings.Parameter.allCases.map(\.name).joined(separator: ", ")
        }
        guard let parameter, let maximum else {
            let names = SessionSettings.Parameter.allCases.map(\.name)
            return "permission denied to call set_config with a parameter name that is not a string constant "
                + "(\(requested)): the \(tier) tier limits \(names.dropLast().joined(separator: ", ")) "
                + "and \(names.last!)"
        }
        var text = "permission denied to set parameter \"\(parameter.name)\" to '\(requested)'"
        if reason == .aboveLimit, parameter.zeroMeansUnlimited,
           parameter.parse(clientValue: "'" + requested.replacing("'", with: "''") + "'") == 0 {
            text += " (no timeout)"
        }
        if reason == .unreadableValue { text += ": TierGate cannot read that value" }
        return text + (reason == .unreadableValue ? "; " : ": ") + "the \(tier) tier allows at most \(maximum)"
    }

    /// Shown by psql as `HINT:`.
    public var hint: String { suggestion }

    /// Compact JSON in the shape of the design's refusal response:
    /// `{"error":"setting_limit_exceeded","tier":"FREE","parameter":"work_mem","requested":"1GB","max":"4MB","suggestion":"..."}`.
    public var detail: String {
        JSONValue.object([
            "error": .string(reason.rawValue),
            "tier": .string(tier.rawValue),
            "parameter": parameter.map { .string($0.name) } ?? .null,
            "requested": .string(requested),
            "max": maximum.map(JSONValue.string) ?? .null,
            "suggestion": .string(suggestion),
        ]).serialized
    }

    public var description: String { message }

    private static func suggestion(reason: Reason, parameter: SessionSettings.Parameter?,
                                   limit: SessionSettings.Limit?, tier: Tier, matrix: TierMatrix) -> String {
        if reason == .sessionChangeWhilePooled {
            guard let parameter, let limit else {
                return "Use SET LOCAL inside a transaction to change a setting for that transaction only"
            }
            return "Use SET LOCAL \(parameter.name) = '...' inside a transaction (BEGIN ... COMMIT); "
                + "the \(tier) tier allows at most \(parameter.render(limit.maximum))"
        }
        if reason == .settingsViewUpdate {
            return "Use SET name = 'value' (within the tier's limits) instead of updating pg_settings"
        }
        guard let parameter, let limit else {
            return "Name the parameter with a string constant, e.g. set_config('search_path', $1, false)"
        }
        if reason == .unreadableValue {
            return "Write the value as a constant, e.g. SET \(parameter.name) = '\(parameter.render(limit.maximum))'"
        }
        switch parameter {
        case .statementTimeout: return UpgradeHint.queryTimeout(tier: tier, matrix: matrix).text
        case .workMem, .tempBuffers: return UpgradeHint.workMemory(tier: tier, matrix: matrix).text
        case .maxParallelWorkersPerGather: return parallelWorkers(tier: tier, matrix: matrix)
        case .hashMemMultiplier, .maintenanceWorkMem, .maxParallelMaintenanceWorkers, .tempFileLimit,
             .idleInTransactionSessionTimeout:
            return UpgradeHint.sessionSetting(parameter, tier: tier, matrix: matrix).text
        }
    }

    /// `Upgrade to STARTER for up to 4 parallel workers per gather`, in the manner of
    /// `UpgradeHint`: the cheapest tier that actually raises the limit, else what is left.
    static func parallelWorkers(tier: Tier, matrix: TierMatrix) -> String {
        let current = matrix[tier].postgres.maxParallelWorkers
        if let better = Tier.allCases.first(where: { $0 > tier && matrix[$0].postgres.maxParallelWorkers > current }) {
            return "Upgrade to \(better) for up to \(matrix[better].postgres.maxParallelWorkers) parallel workers per gather"
        }
        return tier.next == nil
            ? "Use at most \(current) parallel workers per gather: that is the \(tier) limit"
            : "Use at most \(current) parallel workers per gather: no tier offers more"
    }
}
