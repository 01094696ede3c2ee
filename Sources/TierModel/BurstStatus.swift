/// An org's burst as SHOW ORG shows it: the add-on as configured, and the state every
/// instance shares (kept in Redis).
public struct BurstStatus: Sendable {
    public enum State: String, Sendable {
        case running
        /// Switched off by BURST OFF until BURST ON.
        case off
        case coolingDown = "cooling_down"
        case idle
    }

    /// The shared state, or why it could not be read.
    public enum Shared: Sendable {
        case unavailable(reason: String)
        /// `latest` is the last burst, running or ended; `cooldownRemainingSeconds` is set
        /// only while cooling down (a running burst's cooldown key covers the burst too).
        case known(State, latest: BurstState?, cooldownRemainingSeconds: Int?, totalMinutesBilled: Int)
    }

    public let addon: OrgTier.BurstConfig?
    public let shared: Shared

    public init(addon: OrgTier.BurstConfig?, shared: Shared) {
        self.addon = addon
        self.shared = shared
    }
}
