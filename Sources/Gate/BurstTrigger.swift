/// When an org with an auto-triggered burst add-on asks for a burst (seed 5.1: "Connection
/// utilization > 90%", and the issue's "a new connection would exceed its base ceiling").
///
/// The two cases differ in who waits: a connection over the ceiling can only be admitted by
/// a burst, so it waits for the shared decision (one Redis round trip); a connection that
/// merely pushes use past 90% is admitted at once and the burst is asked for behind it, so
/// the common path never waits on Redis.
public enum BurstTrigger: Sendable, Equatable {
    case overCeiling
    case nearCeiling

    /// Seed 5.1: `usage.connections / baseLimits.maxConnections > 0.9`.
    public static let utilizationPercent = 90

    /// - Parameters:
    ///   - open: the org's open sessions, counting this one if it was admitted.
    ///   - ceiling: the base tier's `maxConnections`.
    ///   - admitted: whether the gate admitted the connection under the base ceiling.
    public static func evaluate(open: Int, ceiling: Int, admitted: Bool) -> BurstTrigger? {
        guard admitted else { return .overCeiling }
        return open * 100 > ceiling * utilizationPercent ? .nearCeiling : nil
    }
}
