import Admin
import Logging
import PgBouncerConfig
import Proxy
import TierPolicy
import TierStore

/// The order `serve` stops in after SIGTERM or SIGINT, in the shape of
/// swift-service-lifecycle's ServiceGroup: first the proxy stops accepting and lets its
/// sessions drain, then what served them stops, each part after the one before has finished.
///
/// Why this order: while sessions drain they still need everything behind them (metrics
/// are scraped, tier changes are heard, leases are renewed and given back, the admin
/// socket answers); once none is left, nothing needs them, and each is stopped explicitly
/// rather than cut off by `exit` halfway through a Redis call or a file write.
///
/// Each step logs one line, `shutdown step` with `step=<name>`, when it has finished, so an
/// operator sees how far a slow shutdown got.
struct ShutdownSequence: Sendable {
    /// A part to stop; calls its argument once stopped.
    typealias Stop = @Sendable (_ stopped: @escaping @Sendable () -> Void) -> Void

    private var steps: [(name: String, stop: Stop)] = []

    var names: [String] { steps.map(\.name) }

    /// Adds a step that calls back once stopped.
    mutating func then(_ name: String, _ stop: @escaping Stop) {
        steps.append((name, stop))
    }

    /// Adds a step that has stopped when `stop` returns.
    mutating func then(_ name: String, returning stop: @escaping @Sendable () -> Void) {
        steps.append((name, { stopped in stop(); stopped() }))
    }

    /// Runs the steps in order, then `completion`.
    func run(logger: Logger, completion: @escaping @Sendable () -> Void) {
        Self.run(steps[...], logger: logger, completion: completion)
    }

    private static func run(_ remaining: ArraySlice<(name: String, stop: Stop)>, logger: Logger,
                            completion: @escaping @Sendable () -> Void) {
        guard let step = remaining.first else { return completion() }
        let rest = Array(remaining.dropFirst())
        step.stop {
            logger.info("shutdown step", metadata: ["step": "\(step.name)"])
            run(rest[...], logger: logger, completion: completion)
        }
    }
}

extension ShutdownSequence {
    /// `serve`'s order. A part this configuration does not run (nil) has no step.
    static func serve(server: ProxyServer, drainTimeout: Duration, metrics: MetricsHTTPServer?,
                      subscriber: InvalidationSubscriber?, policyTimers: StoppableClock?,
                      waitQueue: TierAdmission?, leases: RedisSessionLeases?, cancelKeys: RedisCancelKeys?,
                      pgbouncer: DebouncedRegenerator?, admin: AdminSocketServer?) -> ShutdownSequence {
        var sequence = ShutdownSequence()
        // Stops accepting at once (the listener closes), then waits for the sessions.
        sequence.then("sessions-drained") { server.shutdown(drainTimeout: drainTimeout, completion: $0) }
        if let metrics { sequence.then("metrics-server") { metrics.stop(completion: $0) } }
        if let subscriber { sequence.then("invalidation-subscriber", returning: subscriber.stop) }
        // Burst checks and downgrade enforcement.
        if let policyTimers { sequence.then("policy-timers", returning: policyTimers.stop) }
        if let waitQueue { sequence.then("wait-queue", returning: waitQueue.stopWaitQueue) }
        // Every lease was given back as its session ended; stop() sends what is still
        // queued for Redis, stops the heartbeat and leaves the live instances.
        if let leases { sequence.then("session-leases", returning: leases.stop) }
        if let cancelKeys { sequence.then("cancel-keys", returning: cancelKeys.stop) }
        if let pgbouncer { sequence.then("pgbouncer-regenerator", returning: pgbouncer.stop) }
        if let admin { sequence.then("admin-socket") { admin.stop(completion: $0) } }
        return sequence
    }
}
