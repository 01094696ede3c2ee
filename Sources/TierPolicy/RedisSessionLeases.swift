import Dispatch
import Gate
import Logging
import Synchronization
import Telemetry
import TierModel
import TierStore

/// `SessionLeases` in Redis (`LeaseScripts`): one atomic script per admission, one per
/// session end, one heartbeat every `heartbeatInterval` that keeps this instance's leases
/// counting (they stop counting `heartbeatTTL` after its last beat: killed, partitioned)
/// and writes this instance's lease counts from its `LeaseBook`, which clears whatever a
/// previous process with the same instance id left and mends any drift.
///
/// Bounded waits: an admission waits for its lease at most `leaseWait` (50 ms unless set)
/// after Redis stops answering (a request of this instance's unanswered that long), and at
/// most `commandTimeout` in any case. Then, or at once while Redis is known to be
/// unreachable, the instance decides by itself with its `FallbackShare` of the ceiling, counted by `ClusterMetrics` and logged
/// once per outage; the next successful heartbeat writes the leases taken meanwhile, after
/// which the shared count decides again.
///
/// Every Redis call runs on one serial queue over one connection, so this instance's own
/// lease operations reach Redis in the order they were asked for (a release before the
/// acquire that follows it).
public final class RedisSessionLeases: SessionLeases {
    public struct Configuration: Sendable {
        public var url: RedisURL
        /// Names this instance's leases. Stable across restarts (the serve command uses
        /// host:port), so a restarted instance clears its predecessor's leases at once.
        public var instanceId: String
        public var leaseWait: Duration = .milliseconds(50)
        /// A call that does not answer within this marks Redis unreachable.
        public var commandTimeout: Duration = .seconds(1)
        public var heartbeatInterval: Duration = .seconds(2)
        public var heartbeatTTL: Duration = .seconds(10)

        public init(url: RedisURL, instanceId: String) {
            self.url = url
            self.instanceId = instanceId
        }
    }

    private struct State {
        var book = LeaseBook()
        var connection: RedisConnection?
        var shared = false
        var liveInstances = 1
        var fallbackDecisions = 0
        var outages = 0
        var started = false
        var pending: [Operation] = []
        var drainScheduled = false
        /// When the pipeline now waiting for Redis' replies was sent.
        var inFlightSince: ContinuousClock.Instant?
        /// Tickets released whose release has not gone through a drain yet: a grant for one
        /// of them that arrives late (its acquire was in flight) must not put it back.
        var released: Set<UInt64> = []
    }

    private let configuration: Configuration
    private let logger: Logger
    private let metrics: ClusterMetrics
    private let queue = DispatchQueue(label: "tiergate.leases")
    private let state = Mutex(State())
    /// Read and written on `queue` only.
    private nonisolated(unsafe) var timer: DispatchSourceTimer?

    public init(configuration: Configuration, logger: Logger, metrics: ClusterMetrics = ClusterMetrics()) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
    }

    public var instanceId: String { configuration.instanceId }

    /// Connects and beats once (blocking, at most a connect and a command timeout), then
    /// keeps beating. Unreachable at start means the fallback until Redis answers.
    public func start() {
        queue.sync {
            beat()
            timer = makeTimer()
        }
    }

    private func makeTimer() -> DispatchSourceTimer {
        let source = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(Int(configuration.heartbeatInterval / .milliseconds(1)))
        source.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(50))
        source.setEventHandler { [weak self] in self?.beat() }
        source.resume()
        return source
    }

    /// Stops beating and leaves the live instances at once (after a drained shutdown), so the
    /// others' fallback share counts the instances really left; leases still held lapse
    /// with the heartbeat they no longer have.
    public func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
            guard let connection = state.withLock({ $0.shared ? $0.connection : nil }) else { return }
            _ = try? waitingForRedis { try connection.command(["ZREM", LeaseScripts.instances, instanceId]) }
        }
    }

    // MARK: SessionLeases

    public func acquire(_ ticket: SessionTicket, ceiling: Int, completion: @escaping @Sendable (LeaseAnswer) -> Void) {
        let started = ContinuousClock.now
        let once = AnswerOnce { [metrics] answer in
            metrics.leaseWaited(.now - started)
            completion(answer)
        }
        guard state.withLock({ $0.shared }) else {
            return once.answer { decideLocally(ticket, ceiling: ceiling, reason: nil) }
        }
        enqueue(.acquire(ticket, ceiling: ceiling, once))
        armDeadline(once, ticket: ticket, ceiling: ceiling, started: started)
    }

    /// Redis counts as not answering once a request sent to it has waited `leaseWait` for its
    /// reply: the admissions waiting then are decided by the fallback. A lease still queued
    /// here behind a busy CPU, while Redis answers, waits on, up to `commandTimeout` in all.
    private func armDeadline(_ once: AnswerOnce, ticket: SessionTicket, ceiling: Int, started: ContinuousClock.Instant) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(configuration.leaseWait.nanoseconds))) { [self] in
            guard !once.isAnswered else { return }
            let now = ContinuousClock.now
            let stalled = state.withLock { $0.inFlightSince.map { now - $0 >= configuration.leaseWait } ?? false }
            if stalled || now - started >= configuration.commandTimeout {
                once.answer { decideLocally(ticket, ceiling: ceiling, reason: stalled ? "Redis not answering" : "no lease within the command timeout") }
            } else {
                armDeadline(once, ticket: ticket, ceiling: ceiling, started: started)
            }
        }
    }

    /// Out of the local count at once: a release queued behind a pipeline stuck on a Redis
    /// that does not answer would leave ended sessions counting against the fallback share
    /// (and in the counts the heartbeat writes). Redis hears of it in order, after any
    /// acquire of the same ticket already sent.
    public func release(_ ticket: SessionTicket) {
        let held = state.withLock { state -> Bool in
            let held = state.book.remove(ticket)
            state.released.insert(ticket.id)
            return held
        }
        enqueue(.release(ticket, held: held))
    }

    // MARK: Batches

    private enum Operation {
        case acquire(SessionTicket, ceiling: Int, AnswerOnce)
        case release(SessionTicket, held: Bool)
    }

    /// Operations wait in one list and go out together, pipelined on one connection: under
    /// a storm of connections the leases cost one round trip per batch, not one each, and
    /// keep the order they were asked in.
    private func enqueue(_ operation: Operation) {
        let schedule = state.withLock { state -> Bool in
            state.pending.append(operation)
            defer { state.drainScheduled = true }
            return !state.drainScheduled
        }
        if schedule { queue.async { [self] in drain() } }
    }

    /// On the queue: sends every waiting operation in one pipeline and hands out the answers.
    private func drain() {
        let (operations, connection) = state.withLock { state -> ([Operation], RedisConnection?) in
            defer {
                state.pending = []
                state.drainScheduled = false
            }
            return (state.pending, state.shared ? state.connection : nil)
        }
        var commands: [[String]] = []
        var acquires: [(ticket: SessionTicket, ceiling: Int, once: AnswerOnce, reply: Int)] = []
        for operation in operations {
            switch operation {
            case .acquire(let ticket, let ceiling, let once):
                guard !once.isAnswered else { continue }  // past its wait: the fallback decided
                guard connection != nil else {
                    once.answer { decideLocally(ticket, ceiling: ceiling, reason: nil) }
                    continue
                }
                acquires.append((ticket, ceiling, once, commands.count))
                commands.append(["EVAL", LeaseScripts.acquire, "3", LeaseScripts.leases(ticket.org), LeaseScripts.instances,
                                 LeaseScripts.instanceOrgs(instanceId), instanceId, String(ceiling),
                                 String(ttlMilliseconds), ticket.org.rawValue])
            case .release(let ticket, let held):
                state.withLock { _ = $0.released.remove(ticket.id) }
                if held, connection != nil {
                    commands.append(["EVAL", LeaseScripts.release, "1", LeaseScripts.leases(ticket.org), instanceId, "1"])
                }
            }
        }
        guard let connection, !commands.isEmpty else { return }
        let replies: [RedisReply]
        do {
            replies = try waitingForRedis { try connection.pipeline(commands) }
        } catch {
            markUnreachable(error)
            for acquire in acquires {
                acquire.once.answer { decideLocally(acquire.ticket, ceiling: acquire.ceiling, reason: nil) }
            }
            return
        }
        for acquire in acquires {
            guard case .array(let parts) = replies[acquire.reply], parts.count == 2,
                  case .integer(let code) = parts[0], case .integer(let total) = parts[1] else {
                logger.error("unexpected reply to the lease script", metadata: ["reply": "\(replies[acquire.reply])"])
                acquire.once.answer { decideLocally(acquire.ticket, ceiling: acquire.ceiling, reason: "unexpected reply") }
                continue
            }
            if code == 1 {
                // Recorded even if the wait ran out meanwhile (the release that follows, the
                // session's end or its refusal, gives it back after this, in order), unless
                // that release came already.
                state.withLock { state in
                    if !state.released.contains(acquire.ticket.id) { _ = state.book.insert(acquire.ticket) }
                }
                acquire.once.answer { .granted(open: total, shared: true) }
            } else {
                acquire.once.answer { .refused(open: total, max: acquire.ceiling, shared: true) }
            }
        }
    }

    public func claimExcess(org: OrgId, ceiling: Int, candidates: [UInt64]) -> [UInt64] {
        queue.sync {
            let (held, connection, live) = state.withLock { state in
                (candidates.filter { state.book.holds(org: org, id: $0) }, state.shared ? state.connection : nil, state.liveInstances)
            }
            var take: Int
            if let connection {
                do {
                    let reply = try waitingForRedis { try connection.command(["EVAL", LeaseScripts.claimExcess, "2", LeaseScripts.leases(org),
                                                        LeaseScripts.instances, instanceId, String(ceiling), String(held.count)]) }
                    guard case .array(let parts) = reply, parts.count == 2, case .integer(let taken) = parts[0] else {
                        throw RedisError.unexpectedReply(command: "EVAL claimExcess", reply: "\(reply)")
                    }
                    take = taken
                } catch {
                    markUnreachable(error)
                    take = max(0, held.count - FallbackShare.ceiling(ceiling, liveInstances: live))
                }
            } else {
                take = max(0, held.count - FallbackShare.ceiling(ceiling, liveInstances: live))
            }
            let victims = Array(held.prefix(take))
            state.withLock { state in for victim in victims { state.book.remove(org: org, id: victim) } }
            return victims
        }
    }

    public func count(_ org: OrgId) -> ClusterCount {
        queue.sync {
            let (own, connection, live) = state.withLock { ($0.book.count(org), $0.shared ? $0.connection : nil, $0.liveInstances) }
            guard let connection else { return ClusterCount(cluster: nil, thisInstance: own, instances: live, shared: false) }
            do {
                let reply = try waitingForRedis {
                    try connection.command(["EVAL", LeaseScripts.count, "2", LeaseScripts.leases(org), LeaseScripts.instances, instanceId])
                }
                guard case .array(let parts) = reply, parts.count == 3, case .integer(let total) = parts[0],
                      case .integer(let instances) = parts[2] else {
                    throw RedisError.unexpectedReply(command: "EVAL count", reply: "\(reply)")
                }
                return ClusterCount(cluster: total, thisInstance: own, instances: instances, shared: true)
            } catch {
                markUnreachable(error)
                return ClusterCount(cluster: nil, thisInstance: own, instances: live, shared: false)
            }
        }
    }

    public var status: ClusterStatus {
        state.withLock {
            ClusterStatus(instanceId: instanceId, shared: $0.shared, liveInstances: $0.liveInstances,
                          leasesHeld: $0.book.total, fallbackDecisions: $0.fallbackDecisions, outages: $0.outages)
        }
    }

    /// Marks a call to Redis as waiting for its answer, so admissions queued behind it know
    /// when Redis has stopped answering (`armDeadline`). On the queue.
    private func waitingForRedis<R>(_ body: () throws -> R) rethrows -> R {
        state.withLock { $0.inFlightSince = .now }
        defer { state.withLock { $0.inFlightSince = nil } }
        return try body()
    }

    // MARK: Heartbeat and outages

    private var ttlMilliseconds: Int { Int(configuration.heartbeatTTL / .milliseconds(1)) }

    /// On the queue: (re)connects if needed, renews this instance's heartbeat and writes its
    /// book. The first success after an outage ends the fallback.
    private func beat() {
        var connection = state.withLock { $0.connection }
        if connection == nil || connection?.isBroken == true {
            do {
                connection = try waitingForRedis {
                    try RedisConnection(url: configuration.url, connectTimeout: configuration.commandTimeout,
                                        commandTimeout: configuration.commandTimeout)
                }
            } catch {
                return markUnreachable(error)
            }
        }
        guard let connection else { return }
        let counts = state.withLock { $0.book.counts }
        var arguments = ["EVAL", LeaseScripts.heartbeat, "2", LeaseScripts.instances, LeaseScripts.instanceOrgs(instanceId),
                         instanceId, String(ttlMilliseconds)]
        for (org, count) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            arguments += [org.rawValue, String(count)]
        }
        do {
            guard case .integer(let live) = try waitingForRedis({ try connection.command(arguments) }) else {
                throw RedisError.unexpectedReply(command: "EVAL heartbeat", reply: "not an integer")
            }
            let (recovered, first) = state.withLock { state -> (Bool, Bool) in
                defer {
                    state.connection = connection
                    state.shared = true
                    state.liveInstances = max(1, live)
                    state.started = true
                }
                return (!state.shared && state.started, !state.started)
            }
            metrics.sharedCount(true)
            if recovered {
                logger.notice("session leases shared again: Redis answers, this instance's leases are written back", metadata: [
                    "instance": "\(instanceId)", "live_instances": "\(live)", "leases": "\(counts.values.reduce(0, +))"])
            } else if first {
                logger.info("session counts shared through Redis", metadata: [
                    "instance": "\(instanceId)", "live_instances": "\(live)"])
            }
        } catch {
            markUnreachable(error)
        }
    }

    /// Logged once per outage, not once per call.
    private func markUnreachable(_ error: some Error) {
        let (began, live) = state.withLock { state -> (Bool, Int) in
            let began = state.shared || !state.started
            state.connection = nil
            state.shared = false
            if began { state.outages += 1 }
            state.started = true
            return (began, state.liveInstances)
        }
        guard began else { return }
        metrics.sharedCount(false)
        metrics.outageStarted()
        logger.warning("session leases unavailable: each org gets this instance's share of its ceiling until Redis answers", metadata: [
            "instance": "\(instanceId)", "live_instances_last_seen": "\(live)", "error": "\(error)"])
    }

    private func decideLocally(_ ticket: SessionTicket, ceiling: Int, reason: String?) -> LeaseAnswer {
        let (answer, live) = state.withLock { state in
            state.fallbackDecisions += 1
            return (state.book.decideLocally(ticket, ceiling: ceiling, liveInstances: state.liveInstances), state.liveInstances)
        }
        metrics.fallbackDecision()
        if let reason {
            logger.debug("lease decided locally", metadata: [
                "org": "\(ticket.org)", "reason": "\(reason)", "live_instances": "\(live)"])
        }
        return answer
    }
}

/// A completion that runs once, whoever answers first (the lease's reply or its deadline);
/// the answer is computed only by the winner, so a losing fallback records nothing.
private final class AnswerOnce: Sendable {
    private let done = Mutex(false)
    private let completion: @Sendable (LeaseAnswer) -> Void

    init(_ completion: @escaping @Sendable (LeaseAnswer) -> Void) { self.completion = completion }

    var isAnswered: Bool { done.withLock { $0 } }

    func answer(_ make: () -> LeaseAnswer) {
        let first = done.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first { completion(make()) }
    }
}
