import Dispatch
import Foundation
import Logging
import Synchronization
import TierModel

/// Finds an org's tier the way seed 2.2 describes, with an in-process layer in front:
/// in-process cache -> Redis `tier:<orgId>` -> the org source (MongoDB), writing back to
/// Redis with the seed's 300 s TTL.
///
/// Guarantees:
/// - A known, fresh org is answered synchronously with no network and no queue hop.
/// - Concurrent lookups of the same org share one fetch: a storm of first connections after
///   a restart costs one MongoDB query, not one per connection.
/// - Blocking calls (hiredis, libmongoc) run on the resolver's own queue, never the caller's.
/// - When the source is down, an org some cache still knows keeps its (stale) tier; an org
///   nobody knows gets `.unavailable`. No tier is ever guessed.
public final class TierResolver: Sendable {
    public typealias Completion = @Sendable (Result<OrgTier, TierLookupError>) -> Void

    public struct Configuration: Sendable {
        public var redis: RedisURL?
        /// How long an in-process entry answers without asking Redis/MongoDB again.
        public var inProcessFreshness: Duration = .seconds(5)
        /// Past this, Redis is "slow" and treated as down (issue 3).
        public var redisTimeout: Duration = .milliseconds(250)
        /// After the org source failed, how long lookups answer from caches without trying it.
        public var sourceRetryInterval: Duration = .seconds(1)

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
    private let inFlight = Mutex<[OrgId: [Completion]]>([:])
    private let queue = DispatchQueue(label: "tiergate.tier-lookup", attributes: .concurrent)
    private let sourceOutage: OutageLog
    private let logger: Logger

    public init(source: any OrgSource, matrix: TierMatrix, configuration: Configuration, logger: Logger) {
        self.source = source
        matrixBox = Mutex(matrix)
        local = InProcessTierCache(freshness: configuration.inProcessFreshness)
        self.logger = logger
        let counters = LookupCounters()
        self.counters = counters
        sourceRetryInterval = configuration.sourceRetryInterval
        redis = configuration.redis.map {
            RedisTierCache(url: $0, timeout: configuration.redisTimeout, counters: counters, logger: logger)
        }
        sourceOutage = OutageLog(dependency: source.name,
                                 consequence: "known orgs keep their cached tier, unknown orgs are refused (57P03)",
                                 logger: logger)
    }

    public var matrix: TierMatrix {
        get { matrixBox.withLock { $0 } }
    }

    public var stats: LookupStats { counters.snapshot }

    public var sourceName: String { source.name }

    /// Calls `completion` exactly once: at once for a fresh in-process hit, otherwise from
    /// the resolver's queue.
    public func resolve(_ org: OrgId, completion: @escaping Completion) {
        if let value = local.fresh(org) {
            counters.bump(\.inProcessHits)
            completion(.success(value))
            return
        }
        counters.bump(\.inProcessMisses)
        let first = inFlight.withLock { waiting -> Bool in
            if waiting[org] != nil {
                waiting[org]!.append(completion)
                return false
            }
            waiting[org] = [completion]
            return true
        }
        guard first else {
            counters.bump(\.coalesced)
            return
        }
        queue.async { [self] in
            let result = fetch(org)
            if case .success(let value) = result { local.store(value) }
            let waiters = inFlight.withLock { $0.removeValue(forKey: org) ?? [] }
            for waiter in waiters { waiter(result) }
        }
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

    /// Drops the org from the in-process cache and from Redis (seed 2.2
    /// `invalidateTierCache`). Returns whether Redis was reached (always true without Redis).
    @discardableResult
    public func invalidate(_ org: OrgId) -> Bool {
        local.remove(org)
        return redis?.delete(org) ?? true
    }

    /// Seed 6.4: counts a rejection in Redis' 60 s window; nil without Redis.
    public func countRejection(_ org: OrgId) -> Int? {
        redis?.countRejection(org)
    }

    public var cachedOrgs: [OrgId] { local.orgs }

    public func cachedValue(_ org: OrgId) -> OrgTier? { local.any(org) }

    private func fetch(_ org: OrgId) -> Result<OrgTier, TierLookupError> {
        let matrix = self.matrix
        var staleFromRedis: OrgTier?
        if let redis {
            switch redis.read(org) {
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
            redis?.write(value)
            return .success(value)
        } catch {
            logger.error("org tier unusable", metadata: ["org": "\(org)", "reason": "\(error)"])
            return .failure(.invalidOrg(org, reason: error.description))
        }
    }
}
