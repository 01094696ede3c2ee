import Dispatch
import Logging
import PostgresWire
import Proxy
import Synchronization
import TierStore

/// `CancelKeyDirectory` in Redis: each instance keeps the keys of its open sessions in a
/// hash of its own, `tiergate:cancel:<instance id>` (field: the client key in hex; value:
/// upstream host, port, backend pid and secret), which it empties at start and whose TTL it
/// renews every few seconds, so the keys of a killed instance vanish within `ttl`. A lookup
/// is one script that asks the hash of every live instance (`LeaseScripts.instances`, kept
/// by the session leases' heartbeat).
///
/// Publishing and withdrawing are batched and pipelined off the session loops; a key
/// published while Redis is unreachable is lost for the other instances (its own instance
/// still forwards its cancels).
public final class RedisCancelKeys: CancelKeyDirectory {
    private struct State {
        var connection: RedisConnection?
        var retryAfter: ContinuousClock.Instant?
        var pending: [[String]] = []
        var drainScheduled = false
        var down = false
    }

    private let url: RedisURL
    private let instanceId: String
    private let ttl: Duration
    private let logger: Logger
    private let queue = DispatchQueue(label: "tiergate.cancel-keys")
    private let state = Mutex(State())
    /// Read and written on `queue` only.
    private nonisolated(unsafe) var timer: DispatchSourceTimer?

    public init(url: RedisURL, instanceId: String, ttl: Duration = .seconds(30), logger: Logger) {
        self.url = url
        self.instanceId = instanceId
        self.ttl = ttl
        self.logger = logger
    }

    private var hash: String { "tiergate:cancel:\(instanceId)" }

    /// Empties what a previous process of this instance id left, then renews the TTL every
    /// `ttl / 6`.
    public func start() {
        queue.sync {
            _ = run([["DEL", hash]])
            let source = DispatchSource.makeTimerSource(queue: queue)
            let interval = DispatchTimeInterval.milliseconds(Int(ttl / .milliseconds(6)))
            source.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
            source.setEventHandler { [weak self] in
                guard let self else { return }
                _ = run([["PEXPIRE", hash, String(Int(ttl / .milliseconds(1)))]])
            }
            source.resume()
            timer = source
        }
    }

    /// At shutdown, after the drain (every key withdrawn): the TTL renewals stop, and the
    /// hash lapses on its own.
    public func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }

    public func publish(_ clientKey: BackendKeyData, backend: BackendKeyData, upstream: Endpoint) {
        let value = [upstream.host, String(upstream.port), String(backend.processID), Self.hex(backend.secretKey)]
            .joined(separator: "\t")
        enqueue(["HSET", hash, Self.field(clientKey), value])
    }

    public func withdraw(_ clientKey: BackendKeyData) {
        enqueue(["HDEL", hash, Self.field(clientKey)])
    }

    public func find(_ clientKey: BackendKeyData, completion: @escaping @Sendable (CancelTarget?) -> Void) {
        queue.async { [self] in
            let reply = run([["EVAL", Self.findScript, "1", LeaseScripts.instances, Self.field(clientKey)]])?.first
            completion(reply?.string.flatMap(Self.target))
        }
    }

    // MARK: Redis

    private func enqueue(_ command: [String]) {
        let schedule = state.withLock { state -> Bool in
            state.pending.append(command)
            defer { state.drainScheduled = true }
            return !state.drainScheduled
        }
        if schedule {
            queue.async { [self] in
                let commands = state.withLock { state -> [[String]] in
                    defer {
                        state.pending = []
                        state.drainScheduled = false
                    }
                    return state.pending
                }
                _ = run(commands)
            }
        }
    }

    /// On the queue: the commands pipelined; nil when Redis is unreachable (logged once per
    /// outage; a reconnection is tried at most once a second).
    private func run(_ commands: [[String]]) -> [RedisReply]? {
        guard !commands.isEmpty else { return [] }
        var connection = state.withLock { $0.connection }
        if connection == nil {
            if let after = state.withLock({ $0.retryAfter }), ContinuousClock.now < after { return nil }
            connection = try? RedisConnection(url: url, connectTimeout: .seconds(1), commandTimeout: .seconds(1))
        }
        do {
            guard let connection else { throw RedisError.connectionBroken }
            let replies = try connection.pipeline(commands)
            let recovered = state.withLock { state -> Bool in
                defer {
                    state.connection = connection
                    state.down = false
                }
                return state.down
            }
            if recovered { logger.notice("cancel keys shared again through Redis") }
            return replies
        } catch {
            let began = state.withLock { state -> Bool in
                defer {
                    state.connection = nil
                    state.retryAfter = .now + .seconds(1)
                    state.down = true
                }
                return !state.down
            }
            if began {
                logger.warning("cancel keys unavailable in Redis: a CancelRequest reaches only its own instance's sessions", metadata: [
                    "error": "\(error)"])
            }
            return nil
        }
    }

    /// KEYS: instances. ARGV: the key's field. The first live instance's entry, or nil.
    static let findScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
          local value = redis.call('HGET', 'tiergate:cancel:' .. id, ARGV[1])
          if value then return value end
        end
        return false
        """

    static func field(_ key: BackendKeyData) -> String {
        String(UInt32(bitPattern: key.processID), radix: 16) + ":" + hex(key.secretKey)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    static func target(_ value: String) -> CancelTarget? {
        let parts = value.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, let port = UInt16(parts[1]), let pid = Int32(parts[2]),
              parts[3].count % 2 == 0, !parts[3].isEmpty else { return nil }
        var secret: [UInt8] = []
        var index = parts[3].startIndex
        while index < parts[3].endIndex {
            let next = parts[3].index(index, offsetBy: 2)
            guard let byte = UInt8(parts[3][index..<next], radix: 16) else { return nil }
            secret.append(byte)
            index = next
        }
        return CancelTarget(upstream: Endpoint(host: parts[0], port: port), backend: BackendKeyData(processID: pid, secretKey: secret))
    }
}
