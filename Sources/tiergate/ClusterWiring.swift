import Foundation
import Logging
import PostgresWire
import Proxy
import Telemetry
import TierPolicy
import TierStore

/// What `serve` adds when several instances share one Redis: session leases, so an org's
/// ceiling holds across instances.
enum ClusterWiring {
    static func leases(url: RedisURL, instanceId: String?, listen: Endpoint, leaseWait: Duration,
                       logger: Logger) -> RedisSessionLeases {
        var configuration = RedisSessionLeases.Configuration(
            url: url, instanceId: instanceId ?? "\(ProcessInfo.processInfo.hostName):\(listen.port)")
        configuration.leaseWait = leaseWait
        let leases = RedisSessionLeases(configuration: configuration, logger: logger, metrics: ClusterMetrics.shared)
        leases.start()
        return leases
    }

    /// Cancel keys published for the other instances, and CancelRequests counted.
    static func shareCancelKeys(_ configuration: inout ProxyServer.Configuration, url: RedisURL, instanceId: String,
                                logger: Logger) {
        let keys = RedisCancelKeys(url: url, instanceId: instanceId, logger: logger)
        keys.start()
        configuration.cancelKeys = keys
        let metrics = ClusterMetrics.shared
        configuration.cancelCounted = { routing in
            metrics.cancel(ClusterMetrics.CancelOutcome(rawValue: routing.rawValue) ?? .unknown)
        }
    }
}
