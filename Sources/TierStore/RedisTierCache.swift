import Foundation
import Logging
import Synchronization
import TierModel

/// The Redis layer of a lookup (docs/design.md#tier-source): `tier:<orgId>` holding the resolved tier as JSON for 300 s.
///
/// Redis is a cache, never a dependency: every failure (down, slow past a short timeout,
/// garbage in a key) reads as a miss and lookups go on to MongoDB. After a failure new
/// connections are attempted at most once per `retryInterval`, so an outage costs one
/// connect timeout per interval rather than one per client connection.
final class RedisTierCache: Sendable {
    enum Read {
        case hit(OrgTier)
        /// Present but older than 5 minutes by `cachedAt` (docs/design.md#tier-source): refresh it.
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
        readWithGeneration(org, now: now).read
    }

    /// The cached value and, in the same MGET (so atomically), the org's invalidation
    /// generation ("" when never invalidated), to pass to `write(_:generation:)`.
    func readWithGeneration(_ org: OrgId, now: Date = Date()) -> (read: Read, generation: String?) {
        let reply = withConnection { connection throws(RedisError) in
            try connection.command(["MGET", RedisKey.tier(org), RedisKey.tierGeneration(org)])
        }
        guard case .array(let parts)? = reply, parts.count == 2 else { return (.unavailable, nil) }
        let generation = parts[1].string ?? ""
        guard let json = parts[0].string else { return (.miss, generation) }
        guard let value = try? OrgTier(redisValue: json, org: org) else { return (.miss, generation) }
        return (value.isStale(now: now) ? .stale(value) : .hit(value), generation)
    }

    /// Writes `tier:<org>` only if (atomically, in one Lua script) the org's generation is
    /// still `generation` — no invalidation since the writer read Redis — and the value
    /// there is not newer by (`tierUpdatedAt`, `cachedAt`), the order of `OrgTier.isNewer`.
    /// Returns true when written; false when refused or Redis is unavailable.
    @discardableResult
    func write(_ value: OrgTier, generation: String) -> Bool {
        let written = withConnection { connection throws(RedisError) in
            try connection.command(["EVAL", Self.compareAndSetScript, "2",
                                    RedisKey.tier(value.orgId), RedisKey.tierGeneration(value.orgId),
                                    value.redisValue, generation, String(value.tierUpdatedAt),
                                    String(value.cachedAt), String(OrgTier.cacheTTLSeconds)])
        }
        return written == .integer(1)
    }

    /// Bumps the org's generation and deletes `tier:<org>` in one step; returns the new
    /// generation (for the invalidator's own write of the fresh value), nil if Redis is down.
    func invalidate(_ org: OrgId) -> String? {
        let reply = withConnection { connection throws(RedisError) in
            try connection.command(["EVAL", Self.invalidateScript, "2", RedisKey.tier(org), RedisKey.tierGeneration(org)])
        }
        if case .integer(let generation)? = reply { return String(generation) }
        return nil
    }

    /// Every org with a `tier:<org>` key (SCAN, so Redis is never blocked by KEYS).
    func cachedOrgs() -> [OrgId]? {
        withConnection { connection throws(RedisError) in
            var orgs: [OrgId] = []
            var cursor = "0"
            repeat {
                let reply = try connection.command(["SCAN", cursor, "MATCH", "tier:*", "COUNT", "500"])
                guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].string,
                      case .array(let keys) = parts[1] else { break }
                cursor = next
                for key in keys {
                    if let name = key.string?.dropFirst("tier:".count), let org = try? OrgId(String(name)) {
                        orgs.append(org)
                    }
                }
            } while cursor != "0"
            return orgs
        }
    }

    /// KEYS: tier:<org>, tiergen:<org>. ARGV: value, generation seen by the reader ("" for
    /// none), its tierUpdatedAt, its cachedAt, TTL. cjson reads the epoch-ms numbers as
    /// doubles, exact below 2^53.
    static let compareAndSetScript = """
        local generation = redis.call('GET', KEYS[2]) or ''
        if generation ~= ARGV[2] then return 0 end
        local current = redis.call('GET', KEYS[1])
        if current then
          local ok, stored = pcall(cjson.decode, current)
          if ok and type(stored) == 'table' and type(stored.tierUpdatedAt) == 'number'
             and type(stored.cachedAt) == 'number' then
            local updated, cached = tonumber(ARGV[3]), tonumber(ARGV[4])
            if stored.tierUpdatedAt > updated
               or (stored.tierUpdatedAt == updated and stored.cachedAt >= cached) then
              return 0
            end
          end
        end
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
        return 1
        """

    static let invalidateScript = """
        local generation = redis.call('INCR', KEYS[2])
        redis.call('DEL', KEYS[1])
        return generation
        """

    /// INCR + EXPIRE of `rejections:<orgId>` (docs/design.md#thrashing); nil when Redis is unavailable.
    func countRejection(_ org: OrgId) -> Int? {
        withConnection { connection throws(RedisError) in
            let key = RedisKey.rejections(org)
            let count = try connection.incr(key)
            if count == 1 { _ = try connection.expire(key, seconds: RedisKey.rejectionsTTLSeconds) }
            return count
        }
    }

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
