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
/// Three ways Redis can stand, and who decides an admission in each:
/// - answering: Redis' count, exactly.
/// - quiet (a reply has been due `leaseWait`, 50 ms unless set, with no byte from Redis, as
///   the kernel measures it: a reply that came while this process was starved of CPU is an
///   answer, not silence): an admission the `FallbackShare` allows is admitted at once,
///   provisionally; one it refuses waits for Redis a little longer (`refusalWait`, 200 ms
///   unless the lease wait is set), then is refused. Every lease is still asked of Redis,
///   and Redis' verdict, when it comes, stands: a provisional grant Redis refuses is revoked
///   (`onRevoke`: the login is refused, or the session ended, as over the ceiling), a
///   waiting admission gets Redis' answer. So the ceiling stays exact, and every session
///   Redis would admit is admitted, whenever Redis answers at all, however late.
/// - unreachable (a connection error, or no reply within `commandTimeout`): the share
///   decides and its grants stand; logged once per outage and counted by `ClusterMetrics`.
///   The next successful heartbeat writes the leases taken meanwhile, after which the shared
///   count decides again.
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
        /// How long Redis may stay silent on a due reply before the share answers.
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

    /// An admission waiting for its lease, and what answers it.
    private struct Waiter {
        let ticket: SessionTicket
        let ceiling: Int
        let once: AnswerOnce<LeaseAnswer>
        let asked: ContinuousClock.Instant
    }

    private struct State {
        /// The leases and their rules (`LeaseLedger`).
        var ledger = LeaseLedger()
        var connection: RedisConnection?
        var shared = false
        /// A call to Redis has been silent `leaseWait`; cleared by its next reply.
        var quiet = false
        var liveInstances = 1
        var fallbackDecisions = 0
        var revocations = 0
        var outages = 0
        var started = false
        /// Admissions asked of Redis and not answered yet, by ticket id: the share answers
        /// them if Redis goes quiet. An entry stays until Redis' verdict (or none) comes.
        var waiting: [UInt64: Waiter] = [:]
    }

    private let configuration: Configuration
    private let logger: Logger
    private let metrics: ClusterMetrics
    private let queue = DispatchQueue(label: "tiergate.leases")
    private let state = Mutex(State())
    private let revocationHandler = Mutex<(@Sendable (LeaseRevocation) -> Void)?>(nil)
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
            _ = try? connection.command(["ZREM", LeaseScripts.instances, instanceId], quiet: quietWatch)
        }
    }

    // MARK: SessionLeases

    public func acquire(_ ticket: SessionTicket, ceiling: Int, completion: @escaping @Sendable (LeaseAnswer) -> Void) {
        let started = ContinuousClock.now
        let once = AnswerOnce<LeaseAnswer> { [metrics] answer in
            metrics.leaseWaited(.now - started)
            completion(answer)
        }
        // While Redis is quiet the call in flight notices it every 10 ms on the queue, and
        // answers this one then (`wentQuiet`): every decision that Redis' verdict may
        // overturn is taken on the queue, where the verdicts are handled.
        let (shared, drain) = state.withLock { state -> (Bool, Bool) in
            guard state.shared else { return (false, false) }
            state.waiting[ticket.id] = Waiter(ticket: ticket, ceiling: ceiling, once: once, asked: started)
            return (true, state.ledger.ask(ticket, ceiling: ceiling))
        }
        guard shared else { return once.answer { decideByShare(ticket, ceiling: ceiling, provisional: false) } }
        if drain { scheduleDrain() }
    }

    /// Out of the local count at once: a release queued behind a pipeline stuck on a Redis
    /// that does not answer would leave ended sessions counting against the fallback share
    /// (and in the counts the heartbeat writes). Redis hears of it in order, after any
    /// acquire of the same ticket already sent, and only once it granted that acquire.
    public func release(_ ticket: SessionTicket) {
        if state.withLock({ $0.ledger.release(ticket) }) { scheduleDrain() }
    }

    public func onRevoke(_ handler: @escaping @Sendable (LeaseRevocation) -> Void) {
        revocationHandler.withLock { $0 = handler }
    }

    public func takeRevocation(_ ticket: SessionTicket) -> LeaseRevocation? {
        state.withLock { $0.ledger.takeRevocation(ticket) }
    }

    // MARK: Batches

    /// Operations wait in the ledger and go out together, pipelined on one connection: under
    /// a storm of connections the leases cost one round trip per batch, not one each, and
    /// keep the order they were asked in.
    private func scheduleDrain() {
        queue.async { [self] in drain() }
    }

    /// On the queue: sends every waiting operation in one pipeline and hands out the answers.
    private func drain() {
        let (operations, connection) = state.withLock { state in
            (state.ledger.takePending(), state.shared ? state.connection : nil)
        }
        var commands: [[String]] = []
        var acquires: [(ticket: SessionTicket, ceiling: Int, reply: Int)] = []
        for operation in operations {
            switch operation {
            case .acquire(let ticket, let ceiling):
                guard connection != nil else {
                    noVerdict(ticket, ceiling: ceiling)
                    continue
                }
                acquires.append((ticket, ceiling, commands.count))
                commands.append(["EVAL", LeaseScripts.acquire, "3", LeaseScripts.leases(ticket.org), LeaseScripts.instances,
                                 LeaseScripts.instanceOrgs(instanceId), instanceId, String(ceiling),
                                 String(ttlMilliseconds), ticket.org.rawValue])
            case .release(let ticket):
                // Without Redis the book is the truth, and the next heartbeat writes it.
                if connection != nil {
                    commands.append(["EVAL", LeaseScripts.release, "1", LeaseScripts.leases(ticket.org), instanceId, "1"])
                }
            }
        }
        guard let connection, !commands.isEmpty else { return }
        let replies: [RedisReply]
        do {
            replies = try connection.pipeline(commands, quiet: quietWatch)
            heard()
        } catch {
            markUnreachable(error)
            for acquire in acquires { noVerdict(acquire.ticket, ceiling: acquire.ceiling) }
            return
        }
        for acquire in acquires {
            guard case .array(let parts) = replies[acquire.reply], parts.count == 2,
                  case .integer(let code) = parts[0], case .integer(let total) = parts[1] else {
                logger.error("unexpected reply to the lease script", metadata: ["reply": "\(replies[acquire.reply])"])
                noVerdict(acquire.ticket, ceiling: acquire.ceiling)
                continue
            }
            verdict(acquire.ticket, ceiling: acquire.ceiling, granted: code == 1, total: total)
        }
    }

    /// Redis' verdict on a lease, however late it came: it stands.
    private func verdict(_ ticket: SessionTicket, ceiling: Int, granted: Bool, total: Int) {
        let (waiter, aftermath, drain) = state.withLock { state in
            let waiter = state.waiting.removeValue(forKey: ticket.id)
            let (aftermath, drain) = state.ledger.verdict(ticket, ceiling: ceiling, granted: granted, total: total)
            if case .revoke = aftermath { state.revocations += 1 }
            return (waiter, aftermath, drain)
        }
        waiter?.once.answer { granted ? .granted(open: total, shared: true) : .refused(open: total, max: ceiling, shared: true) }
        if drain { scheduleDrain() }
        if case .revoke(let revocation) = aftermath {
            metrics.revocation()
            logger.notice("lease revoked: granted by the share while Redis was quiet, refused by Redis' count", metadata: [
                "org": "\(ticket.org)", "open_sessions": "\(total)", "ceiling": "\(ceiling)"])
            revocationHandler.withLock { $0 }?(revocation)
        }
    }

    /// Redis will not hear of this lease (unreachable, or a reply that made no sense): the
    /// share decides if nothing did yet, and a provisional grant stands like any grant of
    /// the share; the heartbeat writes it once Redis answers.
    private func noVerdict(_ ticket: SessionTicket, ceiling: Int) {
        let waiter = state.withLock { state in
            state.ledger.noVerdict(ticket)
            return state.waiting.removeValue(forKey: ticket.id)
        }
        waiter?.once.answer { decideByShare(ticket, ceiling: ceiling, provisional: false) }
    }

    /// Watches every call on the queue: Redis silent on a due reply for `leaseWait`.
    private var quietWatch: QuietWatch {
        QuietWatch(after: configuration.leaseWait) { [weak self] in self?.wentQuiet() }
    }

    /// How long an admission the share refuses waits for Redis' verdict while Redis is quiet:
    /// a Redis that is slow, not gone, still decides it (so the refusal does not hold a lease
    /// Redis would grant another session meanwhile), and a frozen one delays a refusal this
    /// much at most.
    private var refusalWait: Duration { configuration.leaseWait * 4 }

    /// On the queue, while a call waits on a silent Redis (every 10 ms): each admission still
    /// waiting that the share admits is admitted now, provisionally; one it refuses waits for
    /// Redis' verdict up to `refusalWait`, then gets the share's refusal.
    private func wentQuiet() {
        let (waiters, began) = state.withLock { state -> ([Waiter], Bool) in
            defer { state.quiet = true }
            return (state.waiting.values.filter { !$0.once.isAnswered }, !state.quiet)
        }
        if began {
            logger.info("Redis quiet on the session leases: the share admits provisionally, Redis' verdicts stand", metadata: [
                "instance": "\(instanceId)", "quiet_after_ms": "\(configuration.leaseWait.milliseconds)"])
        }
        let now = ContinuousClock.now
        for waiter in waiters {
            let answer = state.withLock { state -> LeaseAnswer? in
                let answer = state.ledger.decideByShare(waiter.ticket, ceiling: waiter.ceiling,
                                                        liveInstances: state.liveInstances, provisional: true)
                if case .refused = answer, now - waiter.asked < refusalWait { return nil }
                state.fallbackDecisions += 1
                return answer
            }
            guard let answer else { continue }
            metrics.fallbackDecision()
            waiter.once.answer { answer }
        }
    }

    /// A call got its reply: Redis answers again.
    private func heard() {
        state.withLock { $0.quiet = false }
    }

    public func claimExcess(org: OrgId, ceiling: Int, candidates: [UInt64]) -> [UInt64] {
        queue.sync {
            let (held, connection, live) = state.withLock { state in
                (state.ledger.claimable(org: org, candidates: candidates), state.shared ? state.connection : nil, state.liveInstances)
            }
            var take: Int
            if let connection {
                do {
                    let reply = try connection.command(["EVAL", LeaseScripts.claimExcess, "2", LeaseScripts.leases(org),
                                                        LeaseScripts.instances, instanceId, String(ceiling), String(held.count)],
                                                       quiet: quietWatch)
                    heard()
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
            state.withLock { $0.ledger.claimed(org: org, ids: victims) }
            return victims
        }
    }

    public func count(_ org: OrgId) -> ClusterCount {
        queue.sync {
            let (own, connection, live) = state.withLock { ($0.ledger.book.count(org), $0.shared ? $0.connection : nil, $0.liveInstances) }
            guard let connection else { return ClusterCount(cluster: nil, thisInstance: own, instances: live, shared: false) }
            do {
                let reply = try connection.command(["EVAL", LeaseScripts.count, "2", LeaseScripts.leases(org), LeaseScripts.instances, instanceId],
                                                   quiet: quietWatch)
                heard()
                guard case .array(let parts) = reply, parts.count == 3, case .integer(let total) = parts[0],
                      case .integer(let instances) = parts[2] else {
                    throw RedisError.unexpectedReply(command: "EVAL count", reply: "\(reply)")
                }
                // The freshest count of live instances seen is the one an outage's share uses.
                state.withLock { $0.liveInstances = max(1, instances) }
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
                          leasesHeld: $0.ledger.book.total, fallbackDecisions: $0.fallbackDecisions, revocations: $0.revocations,
                          outages: $0.outages)
        }
    }

    // MARK: Heartbeat and outages

    private var ttlMilliseconds: Int { Int(configuration.heartbeatTTL / .milliseconds(1)) }

    /// On the queue: (re)connects if needed, renews this instance's heartbeat and writes its
    /// book. The first success after an outage ends the fallback.
    private func beat() {
        var connection = state.withLock { $0.connection }
        if connection == nil || connection?.isBroken == true {
            do {
                // Not watched: no admission waits on Redis while it is unreachable.
                connection = try RedisConnection(url: configuration.url, connectTimeout: configuration.commandTimeout,
                                                 commandTimeout: configuration.commandTimeout)
            } catch {
                return markUnreachable(error)
            }
        }
        guard let connection else { return }
        let counts = state.withLock { $0.ledger.countsToWrite }
        var arguments = ["EVAL", LeaseScripts.heartbeat, "2", LeaseScripts.instances, LeaseScripts.instanceOrgs(instanceId),
                         instanceId, String(ttlMilliseconds)]
        for (org, count) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            arguments += [org.rawValue, String(count)]
        }
        do {
            guard case .integer(let live) = try connection.command(arguments, quiet: quietWatch) else {
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
            state.quiet = false
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

    /// The share's answer; a `provisional` grant waits for Redis' verdict (`verdict`).
    private func decideByShare(_ ticket: SessionTicket, ceiling: Int, provisional: Bool) -> LeaseAnswer {
        let answer = state.withLock { state in
            state.fallbackDecisions += 1
            return state.ledger.decideByShare(ticket, ceiling: ceiling, liveInstances: state.liveInstances, provisional: provisional)
        }
        metrics.fallbackDecision()
        return answer
    }
}
