import Admin
import Logging
import Metrics
import Prometheus
import Proxy
import Telemetry
import TierModel
import PostgresWire

/// `serve --metrics HOST:PORT` (issue 8): the one place that bootstraps `MetricsSystem`,
/// with swift-prometheus' factory, and serves its registry at `/metrics`.
enum ServeMetrics {
    /// Tier lookups are answered in microseconds from the in-process cache and in
    /// milliseconds from Redis or MongoDB; the factory's default buckets start at 5 ms.
    static let lookupBuckets: [Duration] = [
        .microseconds(50), .microseconds(250), .milliseconds(1), .milliseconds(5), .milliseconds(25),
        .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
    ]

    /// Bootstraps the Prometheus backend and binds the endpoint (started by `start()`).
    static func bootstrap(listen endpoint: Endpoint, logger: Logger) throws -> (TierGateMetrics, MetricsHTTPServer) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[TierGateMetrics.Name.lookupDuration] = lookupBuckets
        factory.durationHistogramBuckets[TierGateMetrics.Name.burstActivation] = lookupBuckets
        MetricsSystem.bootstrap(factory)
        let server = try MetricsHTTPServer(listen: endpoint, logger: logger) { registry.emitToBuffer() }
        return (TierGateMetrics(factory: factory), server)
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
        metrics.adminCommand(Self.name(command))
        return backend.execute(command)
    }

    static func name(_ command: AdminCommand) -> AdminCommandName {
        switch command {
        case .ping: .ping
        case .invalidate: .invalidate
        case .invalidateAll: .invalidateAll
        case .showOrg: .showOrg
        case .showOrgs: .showOrgs
        case .showStats: .showStats
        case .reload: .reload
        case .pgbouncer: .pgbouncer
        case .burstOff: .burstOff
        case .burstOn: .burstOn
        case .burstStart: .burstStart
        @unknown default: .other
        }
    }
}
