import Admin
import Logging
import Metrics
import Prometheus
import Proxy
import SocketIO
import Synchronization
import Telemetry
import TierModel
import TLS
import PostgresWire

/// `serve --metrics HOST:PORT`: the one place that bootstraps `MetricsSystem`,
/// with swift-prometheus' factory, and serves its registry at `/metrics`.
enum ServeMetrics {
    /// Tier lookups are answered in microseconds from the in-process cache and in
    /// milliseconds from Redis or MongoDB; the factory's default buckets start at 5 ms.
    static let lookupBuckets: [Duration] = [
        .microseconds(50), .microseconds(250), .milliseconds(1), .milliseconds(5), .milliseconds(25),
        .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
    ]

    /// A queued connection waits up to its tier's connection timeout (5 s ... 30 s).
    static let queueWaitBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10), .seconds(15), .seconds(30),
    ]

    /// Bootstraps the Prometheus backend and binds the endpoint (started by `start()`).
    /// `scraped` runs before each scrape renders (to bring pulled figures up to date).
    static func bootstrap(listen endpoint: Endpoint, orgLabels: OrgLabelMode, logger: Logger,
                          scraped: @escaping @Sendable () -> Void) throws -> (TierGateMetrics, MetricsHTTPServer) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[TierGateMetrics.Name.lookupDuration] = lookupBuckets
        factory.durationHistogramBuckets[TierGateMetrics.Name.burstActivation] = lookupBuckets
        factory.durationHistogramBuckets[TierGateMetrics.Name.queueWait] = queueWaitBuckets
        MetricsSystem.bootstrap(factory)
        let server = try MetricsHTTPServer(listen: endpoint, logger: logger) {
            scraped()
            return registry.emitToBuffer()
        }
        return (TierGateMetrics(factory: factory, orgLabels: orgLabels, adminCommands: AdminCommand.metricLabels), server)
    }

    /// Per-org series name orgs, and anyone who can reach /metrics reads them: plain only
    /// while the endpoint is on a loopback address, off otherwise unless asked for.
    static func defaultOrgLabels(for endpoint: Endpoint) -> OrgLabelMode {
        isLoopback(endpoint.host) ? .plain : .off
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

/// Pulls the event loops' counters into the metrics at scrape time, as deltas since the
/// last scrape (counters only go up by increments).
final class LoopStatisticsExport: Sendable {
    private let state = Mutex<(source: (@Sendable () -> LoopStatistics)?, last: LoopStatistics, metrics: TierGateMetrics?)>(
        (nil, LoopStatistics(wakeups: 0, events: 0), nil))

    func attach(metrics: TierGateMetrics, source: @escaping @Sendable () -> LoopStatistics) {
        state.withLock { $0.source = source; $0.metrics = metrics }
    }

    func update() {
        state.withLock { state in
            guard let source = state.source, let metrics = state.metrics else { return }
            let now = source()
            metrics.eventLoopsServed(wakeups: now.wakeups - state.last.wakeups, events: now.events - state.last.events)
            state.last = now
        }
    }
}

/// Pulls the client TLS counters (`TLSStatistics`) into the metrics at scrape time.
final class TLSStatisticsExport: Sendable {
    private let state = Mutex<(statistics: TLSStatistics?, last: TLSStatistics.Snapshot, metrics: TLSMetrics?)>((nil, .init(), nil))

    func attach(_ statistics: TLSStatistics) {
        let metrics = TLSMetrics(failureReasons: TLSFailure.Reason.allCases.map(\.rawValue))
        state.withLock { $0.statistics = statistics; $0.metrics = metrics }
    }

    func update() {
        state.withLock { state in
            guard let statistics = state.statistics, let metrics = state.metrics else { return }
            let now = statistics.snapshot
            var failures: [String: Int] = [:]
            for (reason, count) in now.failures { failures[reason.rawValue] = count - (state.last.failures[reason] ?? 0) }
            metrics.update(negotiatedHandshakes: now.negotiatedHandshakes - state.last.negotiatedHandshakes,
                           directHandshakes: now.directHandshakes - state.last.directHandshakes,
                           failures: failures, openSessions: now.openSessions)
            state.last = now
        }
    }
}

/// Counts admin commands by verb, then lets the serving backend run them.
struct MeteredAdminBackend: AdminBackend {
    let backend: any AdminBackend
    let metrics: TierGateMetrics

    /// The backend itself without metrics, else counted.
    static func wrap(_ backend: any AdminBackend, metrics: TierGateMetrics?) -> any AdminBackend {
        metrics.map { MeteredAdminBackend(backend: backend, metrics: $0) } ?? backend
    }

    func execute(_ command: AdminCommand) -> AdminReply {
        metrics.adminCommand(command.metricLabel)
        return backend.execute(command)
    }
}
