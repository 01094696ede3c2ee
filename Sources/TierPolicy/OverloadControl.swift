import Gate
import PostgresWire
import Proxy
import Synchronization
import Telemetry
import TierModel
import TierStore

/// How `TierAdmission` protects the upstream from overload (`serve --queue`,
/// `--upstream-max-connections`).
public struct OverloadConfiguration: Sendable {
    /// Connections refused a slot (org ceiling, or the upstream's capacity for their tier)
    /// wait for one, up to their tier's connection timeout, instead of a refusal at once.
    public var queue = false
    /// The longest any connection waits in the queue whatever its tier's connection timeout:
    /// the proxy's login timeout also runs while a connection waits, and must not end it first.
    public var maxQueueWait: Duration?
    /// How long a connection waits for Redis' shared connect-rate bucket before this
    /// instance's own bucket decides.
    public var sharedRateWait: Duration = .milliseconds(50)

    public init(queue: Bool = false, maxQueueWait: Duration? = nil) {
        self.queue = queue
        self.maxQueueWait = maxQueueWait
    }
}

/// The state behind overload control: the connect-rate limiter, the sessions held on each
/// upstream against its capacity, and the wait queue (nil without `queue`).
final class OverloadControl: Sendable {
    let rates: ConnectRateLimiter
    let capacity = Mutex(UpstreamCapacity())
    let waiting: AdmissionWaitQueue?
    let maxQueueWait: Duration?
    /// Asked, once per upstream, for the capacity of an upstream a session goes to whose
    /// capacity is unknown (an org routed to its own Postgres); nil: nobody asks.
    let capacityLearner = Mutex<(@Sendable (Endpoint) -> Void)?>(nil)
    let upstreamsAsked = Mutex<Set<Endpoint>>([])

    init(_ configuration: OverloadConfiguration, shared: ConnectRateLedger?, metrics: TierGateMetrics, clock: any PolicyClock) {
        rates = ConnectRateLimiter(shared: shared, sharedWait: configuration.sharedRateWait, clock: clock)
        waiting = configuration.queue ? AdmissionWaitQueue(metrics: metrics, clock: clock) : nil
        maxQueueWait = configuration.maxQueueWait
    }
}

/// What a login decision came to once the upstream's capacity had its say.
enum AdmissionAttempt: Sendable {
    case admitted(AdmittedSession)
    case overCeiling(ConnectionRefusal)
    case atCapacity(UpstreamCapacityRefusal)
}
