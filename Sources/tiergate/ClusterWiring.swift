import Foundation
import Logging
import PostgresWire
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
        let leases = RedisSessionLeases(configuration: configuration, logger: logger, metrics: ClusterMetrics())
        leases.start()
        return leases
    }
}
