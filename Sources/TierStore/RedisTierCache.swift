import Foundation
import Logging
import Synchronization
import TierModel

/// The Redis layer of seed 2.1: `tier:<orgId>` holding the resolved tier as JSON for 300 s.
///
/// Redis is a cache, never a dependency: every failure (down, slow past a short timeout,
/// garbage in a key) reads as a miss and lookups go on to MongoDB. After a failure new
/// connections are attempted at most once per `retryInterval`, so an outage costs one
/// connect timeout per interval rather than one per client connection.
final class RedisTierCache: Sendable {
    enum Read {
        case hit(OrgTier)
        /// Present but older than 5 minutes by `cachedAt` (seed 6.1): refresh it.
        case stale(OrgTier)
        case miss
        case unavailable
    }

    let url: RedisURL
    private let timeout: Duration
    private let retryInterval: Duration
    private let idle = Mutex<[RedisConnection]>([])
    private let retryAfter = Mutex<ContinuousClock.Instant?>(nil)
    private let outage: OutageLog
    private let counters: LookupCounters

    init(url: RedisURL, timeout: Duration, retryInterval: Duration = .seconds(1),
         counters: LookupCounters, logger: Logger) {
        self.url = url
        self.timeout = timeout
        self.retryInterval = retryInterval
        self.counters = counters
        outage = OutageLog(dependency: "redis", consequence: "tier lookups go straight to the org source",
                           logger: logger)
    }

    func read(_ org: OrgId, now: Date = Date()) -> Read {
        let reply = withConnection { connection throws(RedisError) in try connection.get(RedisKey.tier(org)) }
        switch reply {
        case .none:
            return .unavailable
        case .some(.none):
            return .miss
        case .some(.some(let json)):
            guard let value = try? OrgTier(redisValue: json, org: org) else { return .miss }
            return value.isStale(now: now) ? .stale(value) : .hit(value)
        }
    }

    func write(_ value: OrgTier) {
        _ = withConnection { connection throws(RedisError) in
            try connection.setex(RedisKey.tier(value.orgId), seconds: OrgTier.cacheTTLSeconds, value: value.redisValue)
        }
    }

    func delete(_ org: OrgId) -> Bool {
        withConnection { connection throws(RedisError) in _ = try connection.del(RedisKey.tier(org)) } != nil
    }

    /// INCR + EXPIRE of `rejections:<orgId>` (seed 6.4); nil when Redis is unavailable.
    func countRejection(_ org: OrgId) -> Int? {
        withConnection { connection throws(RedisError) in
            let key = RedisKey.rejections(org)
            let count = try connection.incr(key)
            if count == 1 { _ = try connection.expire(key, seconds: RedisKey.rejectionsTTLSeconds) }
            return count
        }
    }

    var isDown: Bool { outage.isDown }

    /// Runs `body` on a pooled connection; nil if Redis is unavailable or the call failed.
    func withConnection<R>(_ body: (RedisConnection) throws(RedisError) -> R) -> R? {
        guard let connection = checkOut() else { return nil }
        do {
            let result = try body(connection)
            outage.succeeded()
            idle.withLock { $0.append(connection) }
            return result
        } catch {
            counters.bump(\.redisErrors)
            if case .server = error, !connection.isBroken {
                idle.withLock { $0.append(connection) }
                return nil
            }
            markDown(error)
            return nil
        }
    }

    private func checkOut() -> RedisConnection? {
        if let pooled = idle.withLock({ $0.popLast() }) { return pooled }
        if let after = retryAfter.withLock({ $0 }), ContinuousClock.now < after { return nil }
        do {
            return try RedisConnection(url: url, connectTimeout: timeout, commandTimeout: timeout)
        } catch {
            counters.bump(\.redisErrors)
            markDown(error)
            return nil
        }
    }

    private func markDown(_ error: RedisError) {
        retryAfter.withLock { $0 = .now + retryInterval }
        idle.withLock { $0.removeAll() }
        outage.failed(error)
    }
}
