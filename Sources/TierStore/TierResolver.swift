import Dispatch
import Foundation
import Logging
import Synchronization
import Telemetry
import TierModel

/// Finds an org's tier as docs/design.md#tier-source describes, with an in-process layer in front:
/// in-process cache -> Redis `tier:<orgId>` -> the org source (MongoDB), writing back to
/// Redis with a 300 s TTL (docs/design.md#redis-keys).
///
/// Guarantees:
/// - A known, fresh org is answered synchronously with no network and no queue hop.
/// - Concurrent lookups of the same org share one fetch: a storm of first connections after
///   a restart costs one MongoDB query, not one per connection.
/// - Blocking calls (hiredis, libmongoc) run on the resolver's own lanes, never the caller's,
///   and no admission waits for them longer than `sourceWait` (2 s).
/// - When the source is down, an org some cache still knows keeps its (stale) tier; an org
///   nobody knows gets `.unavailable`. No tier is ever guessed.
/// - Every answer is the effective tier at the moment of answering (`OrgTier.effective`):
///   caches hold the tier the document names with its subscription, so an org whose
///   subscription lapses or whose period end passes beyond the grace is served as FREE from
///   its next resolution, however long a cache keeps it.
public final class TierResolver: Sendable {
    public typealias Completion = @Sendable (Result<OrgTier, TierLookupError>) -> Void

    public struct Configuration: Sendable {
        public var redis: RedisURL?
        /// How long an in-process entry answers without asking Redis/MongoDB again.
        public var inProcessFreshness: Duration = .seconds(5)
        /// Past this, Redis is "slow" and treated as down.
        public var redisTimeout: Duration = .milliseconds(250)
        /// After the org source failed, how long lookups answer from caches without trying it.
        public var sourceRetryInterval: Duration = .seconds(1)
        /// The longest an admission waits for a lookup that goes past the in-process cache
        /// (Redis, then the org source): past it the waiters get the org's cached tier if
        /// this process has one, else `.unavailable` (57P03), and the source counts as down
        /// for `sourceRetryInterval`. A frozen MongoDB (accepting, never answering) is thus
        /// answered like a dead one, in this bound instead of libmongoc's socket timeout.
        public var sourceWait: Duration = .seconds(2)
        /// Lookups that may block on Redis or the source at once; more wait for a lane (and
        /// are answered by `sourceWait` if none frees), so a frozen source can hold this many
        /// threads at most, never the pool every event loop needs.
        public var lookupLanes = 8
        /// Test seam: called by a lookup between its MongoDB read and its Redis write, so a
        /// test can hold a lookup there and provoke the stale write-back race.
        public var afterSourceRead: (@Sendable (OrgId) -> Void)?
        /// Where lookups are counted by layer; nil: the factory `MetricsSystem` was
        /// bootstrapped with (the no-op one unless the executable bootstrapped it).
        public var metrics: TierGateMetrics?
        /// How long past `subscription.currentPeriodEnd` an org keeps its paid tier.
        public var subscriptionGrace: Duration = .seconds(SubscriptionLapse.defaultGraceSeconds)

        public init(redis: RedisURL? = nil) { self.redis = redis }
    }

    private let source: any OrgSource
    private let matrixBox: Mutex<TierMatrix>
    private let local: InProcessTierCache
    private let redis: RedisTierCache?
    private let counters: LookupCounters
    /// After the source failed, lookups skip it until then: libmongoc waits its full server
    /// selection timeout per call while MongoDB is down, which must not be paid per connection.
    private let sourceRetryAfter = Mutex<ContinuousClock.Instant?>(nil)
    private let sourceRetryInterval: Duration
    /// One shared fetch per org. `invalidate` detaches the batch, so a lookup arriving after
    /// an invalidation starts a fresh fetch instead of joining one that began before it.
    private let inFlight = Mutex<[OrgId: LookupBatch]>([:])
    private let afterSourceRead: (@Sendable (OrgId) -> Void)?
    private let lanes: [DispatchQueue]
    private let sourceWait: Duration
    private let sourceOutage: OutageLog
    private let logger: Logger
    private let subscriptionGraceMilliseconds: Int

    public init(source: any OrgSource, matrix: TierMatrix, configuration: Configuration, logger: Logger) {
        self.source = source
        matrixBox = Mutex(matrix)
        local = InProcessTierCache(freshness: configuration.inProcessFreshness)
        self.logger = logger
        let counters = LookupCounters(metrics: configuration.metrics ?? TierGateMetrics())
        self.counters = counters
        sourceRetryInterval = configuration.sourceRetryInterval
        sourceWait = configuration.sourceWait
        lanes = (0..<max(1, configuration.lookupLanes)).map { DispatchQueue(label: "tiergate.tier-lookup.\($0)") }
        subscriptionGraceMilliseconds = Int((configuration.subscriptionGrace / .milliseconds(1)).rounded())
        afterSourceRead = configuration.afterSourceRead
        redis = configuration.redis.map {
            RedisTierCache(url: $0, timeout: configuration.redisTimeout, counters: counters, logger: logger)
        }
        bursts = redis.map(BurstLedger.init(redis:))
        connectRates = configuration.redis.map {
            ConnectRateLedger(url: $0, timeout: configuration.redisTimeout, logger: logger)
        }
        sourceOutage = OutageLog(dependency: source.name,
                                 consequence: "known orgs keep their cached tier, unknown orgs are refused (57P03)",
                                 logger: logger)
    }

    public var matrix: TierMatrix {
        get { matrixBox.withLock { $0 } }
    }

    public var stats: LookupStats { counters.snapshot }

    /// Shared burst state, on the same Redis connections as the tier cache; nil
    /// without Redis, and then no org bursts.
    public let bursts: BurstLedger?

    /// Shared connect-rate buckets, on a Redis connection of their own; nil without Redis.
    public let connectRates: ConnectRateLedger?

    public var sourceName: String { source.name }

    /// Whether a Redis is configured (reachable or not).
    public var usesRedis: Bool { redis != nil }

    /// Calls `completion` exactly once: at once for a fresh in-process hit, otherwise from
    /// the resolver's queue.
    public func resolve(_ org: OrgId, completion: @escaping Completion) {
        if let value = local.fresh(org) {
            counters.bump(\.inProcessHits)
            completion(.success(inForce(value)))
            return
        }
        counters.bump(\.inProcessMisses)
        let batch = inFlight.withLock { waiting -> LookupBatch? in
            if let running = waiting[org] {
                running.waiters.append(completion)
                return nil
            }
            let batch = LookupBatch(completion)
            waiting[org] = batch
            return batch
        }
        guard let batch else {
            counters.bump(\.coalesced)
            return
        }
        // Taken before the fetch: if the org is invalidated meanwhile, the result (read
        // before the change, perhaps) is handed to the waiters but not cached.
        let generation = local.generation(org)
        lanes[Int(UInt(bitPattern: org.hashValue) % UInt(lanes.count))].async { [self] in
            let result = fetch(org)
            if case .success(let value) = result { local.store(value, ifGeneration: generation) }
            let answer = result.map(inForce)
            for waiter in takeWaiters(batch, org) { waiter(answer) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(sourceWait.nanoseconds))) { [self] in
            let waiters = takeWaiters(batch, org)
            guard !waiters.isEmpty else { return }
            let answer = answerPastWait(org)
            for waiter in waiters { waiter(answer) }
        }
    }

    /// The batch's waiters, once: to the fetch or to the wait's end, whichever comes first.
    private func takeWaiters(_ batch: LookupBatch, _ org: OrgId) -> [Completion] {
        inFlight.withLock { waiting -> [Completion] in
            if waiting[org] === batch { waiting[org] = nil }
            guard !batch.answered else { return [] }
            batch.answered = true
            defer { batch.waiters = [] }
            return batch.waiters
        }
    }

    /// A lookup did not finish within `sourceWait`: the cached tier if this process knows
    /// the org, else unavailable; and the source is left alone for a retry interval, so the
    /// next unseen orgs are answered at once instead of waiting too.
    private func answerPastWait(_ org: OrgId) -> Result<OrgTier, TierLookupError> {
        let seconds = Double(sourceWait.components.seconds) + Double(sourceWait.components.attoseconds) / 1e18
        let reason = "\(source.name) did not answer within \(seconds) s"
        counters.bump(\.sourceErrors)
        sourceRetryAfter.withLock { $0 = max($0 ?? .now, .now + sourceRetryInterval) }
        sourceOutage.failed(OrgSourceError.unavailable(reason))
        if let known = local.any(org) {
            counters.bump(\.staleServed)
            return .success(inForce(known.applying(matrix)))
        }
        return .failure(.unavailable(org, reason: reason))
    }

    /// Blocking form for admin commands and tools; never call it from an I/O queue.
    public func resolveNow(_ org: OrgId) -> Result<OrgTier, TierLookupError> {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<OrgTier, TierLookupError>?>(nil)
        resolve(org) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return box.withLock { $0! }
    }

    /// Drops the org from the in-process cache and from Redis (docs/design.md#tier-source
    /// `invalidateTierCache`). Returns whether Redis was reached (always true without Redis).
    @discardableResult
    public func invalidate(_ org: OrgId) -> Bool {
        dropLocal(org)
        return redis.map { $0.invalidate(org) != nil } ?? true
    }

    /// An org's tier before and after `reload`.
    public struct Reload: Sendable {
        public let org: OrgId
        /// What this process (or else Redis) knew before; nil if nothing.
        public let old: OrgTier?
        public let new: Result<OrgTier, TierLookupError>
        /// Whether Redis was reached (true without Redis).
        public let redisReached: Bool
    }

    /// INVALIDATE: drops the org from the in-process cache and Redis, bumping its
    /// generation so no lookup begun earlier can write the old tier back, then reads it from
    /// the source and caches the result. Blocking: never call it on an I/O queue.
    public func reload(_ org: OrgId) -> Reload {
        let old = local.any(org) ?? redis.flatMap { cache -> OrgTier? in
            switch cache.read(org) {
            case .hit(let value), .stale(let value): value.applying(matrix)
            case .miss, .unavailable: nil
            }
        }
        dropLocal(org)
        let generation = redis?.invalidate(org)
        let localGeneration = local.generation(org)
        // The retry pause after a source failure is for connection storms, not for an
        // operator who asked for a re-read.
        sourceRetryAfter.withLock { $0 = nil }
        let result = fetch(org, readCache: false, redisGeneration: generation)
        if case .success(let value) = result { local.store(value, ifGeneration: localGeneration) }
        return Reload(org: org, old: old.map(inForce), new: result.map(inForce), redisReached: redis == nil || generation != nil)
    }

    /// Forgets the in-process entry (an invalidation announced by another instance): the
    /// next lookup goes to Redis, which the announcing instance has already refreshed.
    public func dropLocal(_ org: OrgId) {
        local.remove(org)
        _ = inFlight.withLock { $0.removeValue(forKey: org) }
    }

    /// Forgets every in-process entry (INVALIDATE *, RELOAD, a missed announcement).
    public func dropAllLocal() {
        local.removeAll()
        inFlight.withLock { $0.removeAll() }
    }

    /// Every org Redis or this process has a cached tier for (for INVALIDATE *).
    public var allCachedOrgs: [OrgId] {
        Array(Set(local.orgs).union(redis?.cachedOrgs() ?? [])).sorted()
    }

    /// PUBLISHes `announcement` on the invalidation channel; how many instances heard it,
    /// nil without Redis or when it is down.
    public func announce(_ announcement: Announcement) -> Int? {
        redis?.withConnection { connection throws(RedisError) in
            try connection.publish(RedisKey.invalidationChannel, message: announcement.encoded)
        }
    }

    /// Replaces the tier matrix (RELOAD); cached values are re-read with it.
    public func replaceMatrix(_ matrix: TierMatrix) {
        matrixBox.withLock { $0 = matrix }
        dropAllLocal()
    }

    /// Counts a rejection in Redis' 60 s window; nil without Redis (docs/design.md#thrashing).
    public func countRejection(_ org: OrgId) -> Int? {
        redis?.countRejection(org)
    }

    public var cachedOrgs: [OrgId] { local.orgs }

    /// The in-process entry, fresh or not, as served now.
    public func cachedValue(_ org: OrgId) -> OrgTier? { local.any(org).map(inForce) }

    /// `value` as it would be served now (an org's subscription may have lapsed since).
    public func servedNow(_ value: OrgTier) -> OrgTier { inForce(value) }

    /// The tier as served now: the cached or fetched value (the tier the document names)
    /// with the subscription rules applied at this moment.
    private func inForce(_ value: OrgTier) -> OrgTier {
        value.effective(at: Date(), graceMilliseconds: subscriptionGraceMilliseconds, matrix: matrix)
    }

    private func fetch(_ org: OrgId, readCache: Bool = true, redisGeneration: String? = nil) -> Result<OrgTier, TierLookupError> {
        let matrix = self.matrix
        var staleFromRedis: OrgTier?
        var generation = redisGeneration
        if let redis, readCache {
            let (read, seen) = redis.readWithGeneration(org)
            generation = seen
            switch read {
            case .hit(let value):
                counters.bump(\.redisHits)
                return .success(value.applying(matrix))
            case .stale(let value):
                counters.bump(\.redisStale)
                staleFromRedis = value
            case .miss:
                counters.bump(\.redisMisses)
            case .unavailable:
                break
            }
        }
        let document: OrgDocument?
        do throws(OrgSourceError) {
            if let after = sourceRetryAfter.withLock({ $0 }), ContinuousClock.now < after {
                throw OrgSourceError.unavailable("\(source.name) failed moments ago; retrying shortly")
            }
            counters.bump(\.sourceLookups)
            document = try source.organization(org)
            sourceOutage.succeeded()
        } catch {
            switch error {
            case .unavailable(let reason):
                counters.bump(\.sourceErrors)
                sourceRetryAfter.withLock { $0 = .now + sourceRetryInterval }
                sourceOutage.failed(error)
                if let known = local.any(org) ?? staleFromRedis {
                    counters.bump(\.staleServed)
                    return .success(known.applying(matrix))
                }
                return .failure(.unavailable(org, reason: reason))
            case .invalidDocument(let problem):
                logger.error("org document unusable", metadata: ["org": "\(org)", "reason": "\(problem)"])
                return .failure(.invalidOrg(org, reason: problem.description))
            }
        }
        guard let document else {
            logger.notice("org not found", metadata: ["org": "\(org)", "source": "\(source.name)"])
            return .failure(.unknownOrg(org))
        }
        do {
            let value = try OrgTier.resolve(document: document, matrix: matrix, now: Date())
            afterSourceRead?(org)
            // Only with the generation read before the source: refused if an invalidation
            // came in between (RedisTierCache.compareAndSetScript).
            if let redis, let generation, !redis.write(value, generation: generation) {
                logger.debug("tier not cached: invalidated or newer value in Redis", metadata: ["org": "\(org)"])
            }
            return .success(value)
        } catch {
            logger.error("org tier unusable", metadata: ["org": "\(org)", "reason": "\(error)"])
            return .failure(.invalidOrg(org, reason: error.description))
        }
    }
}

/// The callers waiting for one org's fetch; mutated only under `TierResolver.inFlight`'s lock.
private final class LookupBatch: @unchecked Sendable {
    var waiters: [TierResolver.Completion]
    /// Set by whoever handed the waiters their answer (the fetch or the wait's end).
    var answered = false
    init(_ first: @escaping TierResolver.Completion) { waiters = [first] }
}
