extension UpgradeHint {
    /// `Upgrade to STARTER for 10 connections per second`.
    public static func connectRate(tier: Tier, matrix: TierMatrix) -> UpgradeHint {
        let current = matrix[tier].postgres.connectRate
        if let better = Tier.allCases.first(where: { $0 > tier && matrix[$0].postgres.connectRate > current }) {
            let rate = PostgresUnits.real(matrix[better].postgres.connectRate)
            return UpgradeHint(kind: .connectRate, tier: tier, suggestedTier: better,
                               text: "Upgrade to \(better) for \(rate) connections per second")
        }
        return UpgradeHint(kind: .connectRate, tier: tier, suggestedTier: nil,
                           text: "Reuse connections (a pool) instead of opening one per request")
    }

    /// `Upgrade to STARTER for priority when the server is busy`: a higher tier keeps less of
    /// the upstream free, so it is refused later as the server fills.
    public static func serverCapacity(tier: Tier, matrix: TierMatrix) -> UpgradeHint {
        let current = matrix[tier].postgres.capacityReserve
        if let better = Tier.allCases.first(where: { $0 > tier && matrix[$0].postgres.capacityReserve < current }) {
            return UpgradeHint(kind: .serverCapacity, tier: tier, suggestedTier: better,
                               text: "Retry shortly, or upgrade to \(better) for priority when the server is busy")
        }
        return UpgradeHint(kind: .serverCapacity, tier: tier, suggestedTier: nil, text: "Retry shortly")
    }
}
