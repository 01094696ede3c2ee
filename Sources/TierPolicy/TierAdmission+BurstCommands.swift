import TierModel
import TierStore

/// The admin socket's burst commands (BURST START / OFF / ON), carried out through the
/// burst coordinator.
extension TierAdmission {
    /// BURST OFF: nil when bursts are unavailable (no Redis, or unreachable).
    public func switchOffBurst(_ org: OrgId) -> BurstLedger.SwitchedOff? {
        bursts?.switchOff(org)
    }

    /// BURST START: a burst asked for by an operator or billing system, whatever the org's
    /// use and `autoTrigger` (the add-on must still be enabled). Blocking. The ledger's
    /// decision, or why it was not asked.
    public func startBurst(_ org: OrgId) -> Result<BurstLedger.Decision, BurstStartRefusal> {
        guard let bursts else { return .failure(.unavailable) }
        let base: OrgTier
        switch resolver.resolveNow(org) {
        case .success(let value): base = value
        case .failure(let error): return .failure(.lookup(error.description))
        }
        guard let addon = base.burst, addon.burstTier > base.tier else { return .failure(.noAddon(base.tier)) }
        guard let decision = bursts.start(base) else { return .failure(.unavailable) }
        return .success(decision)
    }

    /// BURST ON: true if the kill switch was set; nil when bursts are unavailable.
    public func switchOnBurst(_ org: OrgId) -> Bool? {
        bursts?.resume(org)
    }
}
