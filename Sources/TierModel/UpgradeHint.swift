/// The customer-facing "what you can do about it" line (the HINT, docs/design.md#error-shapes), computed from the matrix
/// in force so a shrunk test matrix yields matching numbers.
///
/// The suggestion points to the cheapest higher tier that actually raises the limit that was
/// hit (with the built-in matrix that is always `Tier.next`; with an operator's matrix where STARTER
/// and FREE share a connection limit, suggesting STARTER would be a broken promise). When no
/// tier raises it, the hint says so and offers what is left: fewer connections, a faster
/// query, or sales.
public struct UpgradeHint: Sendable, Equatable, CustomStringConvertible {
    /// Which limit was hit; also a metrics dimension (`tier_upgrade_suggestions_total`).
    public enum Kind: String, Sendable, CaseIterable {
        case connectionLimit = "connection_limit"
        case queryTimeout = "query_timeout"
        case workMemory = "work_memory"
        /// A session setting with no hint of its own (`sessionSetting`).
        case sessionSetting = "session_setting"
        /// Too many new connections per second (`connectRate`).
        case connectRate = "connect_rate"
        /// The upstream server is full for the tier (`serverCapacity`).
        case serverCapacity = "server_capacity"
    }

    public let kind: Kind
    /// The tier whose limit was hit.
    public let tier: Tier
    /// The tier suggested, nil when no tier raises the limit (always nil for ENTERPRISE).
    public let suggestedTier: Tier?
    public let text: String

    public var description: String { text }

    /// `Upgrade to STARTER for 10 connections`.
    public static func connectionLimit(tier: Tier, matrix: TierMatrix) -> UpgradeHint {
        let current = matrix[tier].postgres.maxConnections
        if let better = firstTier(above: tier, matrix: matrix, where: { $0.postgres.maxConnections > current }) {
            let count = matrix[better].postgres.maxConnections
            return UpgradeHint(kind: .connectionLimit, tier: tier, suggestedTier: better,
                               text: "Upgrade to \(better) for \(count) connections")
        }
        let remedy = "close idle connections or contact sales for a dedicated plan"
        let text = tier.next == nil
            ? "\(tier) is the highest tier: \(remedy)"
            : "No tier offers more than \(current) connections: \(remedy)"
        return UpgradeHint(kind: .connectionLimit, tier: tier, suggestedTier: nil, text: text)
    }

    /// `Upgrade to PRO for 60s timeout or optimize query`.
    public static func queryTimeout(tier: Tier, matrix: TierMatrix) -> UpgradeHint {
        let current = matrix[tier].postgres.queryTimeout
        if let better = firstTier(above: tier, matrix: matrix, where: { $0.postgres.queryTimeout > current }) {
            let timeout = seconds(matrix[better].postgres.queryTimeout)
            return UpgradeHint(kind: .queryTimeout, tier: tier, suggestedTier: better,
                               text: "Upgrade to \(better) for \(timeout) timeout or optimize query")
        }
        let text = tier.next == nil
            ? "Optimize the query: \(seconds(current)) is the \(tier) limit"
            : "Optimize the query: \(seconds(current)) is the highest timeout of any tier"
        return UpgradeHint(kind: .queryTimeout, tier: tier, suggestedTier: nil, text: text)
    }

    /// `Upgrade to STARTER for 16MB work_mem`.
    public static func workMemory(tier: Tier, matrix: TierMatrix) -> UpgradeHint {
        let current = matrix[tier].postgres.workMemory
        if let better = firstTier(above: tier, matrix: matrix, where: { $0.postgres.workMemory > current }) {
            let memory = PostgresUnits.memory(bytes: matrix[better].postgres.workMemory)
            return UpgradeHint(kind: .workMemory, tier: tier, suggestedTier: better,
                               text: "Upgrade to \(better) for \(memory) work_mem")
        }
        let memory = PostgresUnits.memory(bytes: current)
        let text = tier.next == nil
            ? "Reduce the query's memory use: \(memory) work_mem is the \(tier) limit"
            : "Reduce the query's memory use: \(memory) work_mem is the highest of any tier"
        return UpgradeHint(kind: .workMemory, tier: tier, suggestedTier: nil, text: text)
    }

    /// `Upgrade to STARTER for up to 64MB maintenance_work_mem`, or `Upgrade to PRO for no
    /// idle_in_transaction_session_timeout limit` when that tier leaves the setting unset:
    /// the hint for a tier setting with no hint of its own, read from each tier's
    /// `SessionSettings`, so it follows the matrix in force and each GUC's own order (for a
    /// timeout, 0 is the highest).
    public static func sessionSetting(_ parameter: SessionSettings.Parameter, tier: Tier,
                                      matrix: TierMatrix) -> UpgradeHint {
        let name = parameter.name
        guard let limit = SessionSettings(limits: matrix[tier])[parameter]?.limit else {
            return UpgradeHint(kind: .sessionSetting, tier: tier, suggestedTier: nil,
                               text: "\(tier) does not limit \(name)")
        }
        let better = firstTier(above: tier, matrix: matrix) { limits in
            SessionSettings(limits: limits)[parameter].map { !limit.allows(value: $0.baseValue) } ?? true
        }
        if let better {
            let offer = SessionSettings(limits: matrix[better])[parameter].map { "up to \($0.value) \(name)" }
                ?? "no \(name) limit"
            return UpgradeHint(kind: .sessionSetting, tier: tier, suggestedTier: better,
                               text: "Upgrade to \(better) for \(offer)")
        }
        let current = parameter.render(limit.maximum)
        let text = tier.next == nil
            ? "Use at most \(current) \(name): that is the \(tier) limit"
            : "Use at most \(current) \(name): no tier offers more"
        return UpgradeHint(kind: .sessionSetting, tier: tier, suggestedTier: nil, text: text)
    }

    private static func firstTier(above tier: Tier, matrix: TierMatrix,
                                  where raises: (TierLimits) -> Bool) -> Tier? {
        Tier.allCases.first { $0 > tier && raises(matrix[$0]) }
    }

    /// Timeouts in hints are written in seconds as docs/design.md#error-shapes shows them ("60s", "120s"),
    /// where SHOW would print "1min"; sub-second values fall back to milliseconds.
    static func seconds(_ milliseconds: Int) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}
