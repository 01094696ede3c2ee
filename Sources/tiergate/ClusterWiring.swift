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
            url: url, instanceId: instanceId ?? "\(hostName()):\(listen.port)")
        configuration.leaseWait = leaseWait
        let leases = RedisSessionLeases(configuration: configuration, logger: logger, metrics: ClusterMetrics.shared)
        leases.start()
        return leases
    }

    /// The machine's name as `gethostname` has it (no DNS lookup).
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
