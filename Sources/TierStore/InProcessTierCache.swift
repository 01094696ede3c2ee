import Foundation
import Synchronization
import TierModel

/// The cache in front of Redis, so a connection from a known org touches no network.
///
/// Entries are fresh for `freshness` (short: seconds), after which the next lookup goes to
/// Redis/MongoDB again. Expired entries are kept, not dropped, as a last resort for when
/// MongoDB is down (stale is better than nothing for a known org). Invalidation
/// removes an entry entirely and bumps the org's generation: a lookup that began before the
/// invalidation stores its result only if the generation is unchanged (`store(_:ifGeneration:)`).
final class InProcessTierCache: Sendable {
    struct Entry: Sendable {
        var value: OrgTier
        var storedAt: ContinuousClock.Instant
    }

    let freshness: Duration
    private let entries = Mutex<[OrgId: Entry]>([:])
    /// Invalidations per org and of everything; guarded by `entries`' lock too (taken
    /// inside it), so a check-and-store cannot interleave with a removal.
    private let generations = Mutex<(perOrg: [OrgId: UInt64], all: UInt64)>(([:], 0))

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
        entries.withLock { entries in
            entries.removeValue(forKey: org)
            generations.withLock { $0.perOrg[org, default: 0] += 1 }
        }
    }

    func removeAll() {
        entries.withLock { entries in
            entries.removeAll()
            generations.withLock { $0.all += 1 }
        }
    }

    /// A token for "no invalidation of `org` since now"; pass it to `store(_:ifGeneration:)`.
    func generation(_ org: OrgId) -> Generation {
        entries.withLock { _ in generations.withLock { Generation(org: $0.perOrg[org] ?? 0, all: $0.all) } }
    }

    struct Generation: Sendable, Equatable {
        var org: UInt64
        var all: UInt64
    }

    /// Stores `value` (newer wins, as `store`) unless the org was invalidated after
    /// `generation` was taken; returns whether it stored.
    @discardableResult
    func store(_ value: OrgTier, ifGeneration generation: Generation, now: ContinuousClock.Instant = .now) -> Bool {
        entries.withLock { entries in
            let current = generations.withLock { Generation(org: $0.perOrg[value.orgId] ?? 0, all: $0.all) }
            guard current == generation else { return false }
            if let stored = entries[value.orgId], stored.value.isNewer(than: value) {
                entries[value.orgId]?.storedAt = now
                return true
            }
            entries[value.orgId] = Entry(value: value, storedAt: now)
            return true
        }
    }

    var orgs: [OrgId] { entries.withLock { Array($0.keys) } }
}
