import Logging
import Synchronization
import TierModel
import Throttle

/// The connect-rate token buckets shared by every TierGate through Redis: one hash per org,
/// `connrate:<orgId>` = {tokens, ts}, taken from by one Lua script, so two instances can
/// never both spend an org's last token. Time is Redis' `TIME`, one clock for every
/// instance. The arithmetic is `TokenBucket`'s.
///
/// Calls block (hiredis, bounded by the Redis timeout): never on an I/O queue. Nil when
/// Redis is unavailable; the caller then decides with its own local bucket.
///
/// The ledger keeps one Redis connection of its own, apart from the tier cache's pool: its
/// caller asks one connection at a time, and a connect storm must neither grow the shared
/// pool nor wait behind tier lookups. After a failure it reconnects at most once per
/// `retryInterval`, so an outage costs one connect attempt per interval.
public final class ConnectRateLedger: Sendable {
    private let url: RedisURL
    private let timeout: Duration
    private let retryInterval: Duration
    private let connection = Mutex<RedisConnection?>(nil)
    private let retryAfter = Mutex<ContinuousClock.Instant?>(nil)
    private let outage: OutageLog

    init(url: RedisURL, timeout: Duration, retryInterval: Duration = .seconds(1), logger: Logger) {
        self.url = url
        self.timeout = timeout
        self.retryInterval = retryInterval
        outage = OutageLog(dependency: "redis (connect rates)",
                           consequence: "each instance limits connect rates with its own buckets", logger: logger)
    }

    /// One connection's request for a token.
    public struct Request: Sendable {
        public var org: OrgId
        public var rate: Double
        public var burst: Int

        public init(org: OrgId, rate: Double, burst: Int) {
            self.org = org
            self.rate = rate
            self.burst = burst
        }
    }

    /// What Redis answered a request: taken, or milliseconds until the next token.
    public struct Answer: Sendable, Equatable {
        public var allowed: Bool
        public var retryAfterMilliseconds: Int
    }

    /// Takes a token for a new connection of `org`: nil when Redis did not answer, else
    /// whether it was allowed and, when not, milliseconds until the next token.
    public func take(_ org: OrgId, rate: Double, burst: Int) -> Answer? {
        take([Request(org: org, rate: rate, burst: burst)], quiet: nil)?[0]
    }

    /// Takes a token for each request, pipelined in one round trip, in order: nil when Redis
    /// did not answer (an answer that makes no sense is nil in its place). `quiet` hears when
    /// Redis has been silent on the replies for its `after` (the call goes on waiting).
    public func take(_ requests: [Request], quiet: QuietWatch?) -> [Answer?]? {
        guard !requests.isEmpty else { return [] }
        let commands = requests.map { ["EVAL", Self.takeScript, "1", RedisKey.connectRate($0.org), String($0.rate), String($0.burst)] }
        let replies = withConnection { connection throws(RedisError) in
            try connection.pipeline(commands, quiet: quiet)
        }
        return replies?.map { reply -> Answer? in
            guard case .array(let parts) = reply, parts.count == 2,
                  case .integer(let allowed) = parts[0], case .integer(let wait) = parts[1] else { return nil }
            return Answer(allowed: allowed == 1, retryAfterMilliseconds: wait)
        }
    }

    private func withConnection<Reply>(_ body: (RedisConnection) throws(RedisError) -> Reply) -> Reply? {
        connection.withLock { current -> Reply? in
            if current == nil {
                if let after = retryAfter.withLock({ $0 }), ContinuousClock.now < after { return nil }
                do throws(RedisError) {
                    current = try RedisConnection(url: url, connectTimeout: timeout, commandTimeout: timeout)
                } catch {
                    failed(error)
                    return nil
                }
            }
            guard let live = current else { return nil }
            do throws(RedisError) {
                let reply = try body(live)
                outage.succeeded()
                return reply
            } catch {
                // A script error leaves the connection usable; anything else does not.
                if case .server = error, !live.isBroken { return nil }
                current = nil
                failed(error)
                return nil
            }
        }
    }

    private func failed(_ error: RedisError) {
        retryAfter.withLock { $0 = .now + retryInterval }
        outage.failed(error)
    }

    /// KEYS[1] the bucket; ARGV rate per second, burst. Replies {1, 0} (taken) or
    /// {0, ms until the next token}. The key expires once the bucket would be full again,
    /// so idle orgs leave nothing behind.
    static let takeScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
        local rate = tonumber(ARGV[1])
        local burst = tonumber(ARGV[2])
        local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
        local tokens = tonumber(v[1]) or burst
        local ts = tonumber(v[2]) or now
        if now > ts then tokens = tokens + (now - ts) * rate / 1000 else now = ts end
        if tokens > burst then tokens = burst end
        local allowed, wait = 0, 0
        if tokens + 1e-9 >= 1 then
          tokens = math.max(0, tokens - 1)
          allowed = 1
        else
          wait = math.ceil((1 - tokens) * 1000 / rate)
        end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
        redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
        return {allowed, wait}
        """
}
