import Telemetry
import TierStore

extension TierAdmission {
    /// Counts what an INVALIDATE failed to do, for the "tier cache invalidation failures"
    /// alert: Redis not reached, the announcement not published (only with Redis), the
    /// source not read. An org the source does not know is no failure.
    func countInvalidationFailures(_ reloads: [TierResolver.Reload], announcedTo: Int?) {
        if reloads.contains(where: { !$0.redisReached }) { metrics.invalidationFailed(.redis) }
        if resolver.usesRedis && announcedTo == nil { metrics.invalidationFailed(.announce) }
        let unread = reloads.contains {
            if case .failure(.unavailable) = $0.new { true } else { false }
        }
        if unread { metrics.invalidationFailed(.source) }
    }
}
