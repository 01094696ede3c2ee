import Foundation
import Synchronization
import TierModel

/// The cache in front of Redis, so a connection from a known org touches no network.
///
/// Entries are fresh for `freshness` (short: seconds), after which the next lookup goes to
/// Redis/MongoDB again. Expired entries are kept, not dropped, as a last resort for when
/// MongoDB is down (issue 3: stale is better than nothing for a known org). Invalidation
/// removes an entry entirely.
final class InProcessTierCache: Sendable {
    struct Entry: Sendable {
        var value: OrgTier
        var storedAt: ContinuousClock.Instant
    }

    let freshness: Duration
    private let entries = Mutex<[OrgId: Entry]>([:])

    init(freshness: Duration) { self.freshness = freshness }

    func fresh(_ org: OrgId, now: ContinuousClock.Instant = .now) -> OrgTier? {
        entries.withLock { entries in
            guard let entry = entries[org], now - entry.storedAt < freshness else { return nil }
            return entry.value
        }
    }

    func any(_ org: OrgId) -> OrgTier? {
        entries.withLock { $0[org]?.value }
    }

    /// Keeps the newer of the stored and the offered value (`OrgTier.isNewer`), so a slow
    /// lookup that began before a tier change cannot put the old tier back.
    func store(_ value: OrgTier, now: ContinuousClock.Instant = .now) {
        entries.withLock { entries in
            if let current = entries[value.orgId], current.value.isNewer(than: value) {
                entries[value.orgId]?.storedAt = now
                return
            }
            entries[value.orgId] = Entry(value: value, storedAt: now)
        }
    }

    func remove(_ org: OrgId) {
        _ = entries.withLock { $0.removeValue(forKey: org) }
    }

    func removeAll() {
        entries.withLock { $0.removeAll() }
    }

    var orgs: [OrgId] { entries.withLock { Array($0.keys) } }
}
