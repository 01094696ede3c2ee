import CoreMetrics
import Synchronization
import TierModel

/// Open sessions per org as one gauge per org, with the label cardinality bounded two ways:
///
/// - a series exists only while its org has open sessions: it is created at the org's first
///   session and destroyed (unregistered from the backend) when its last one closes;
/// - at most `cap` orgs have their own series at once; an org that opens its first session
///   while `cap` orgs already have one is counted under `org="_other"` until all its
///   sessions have closed.
///
/// So `tiergate_org_open_sessions` never has more than `cap + 1` series, however many orgs
/// connect over the process' life. The org id is formatted into a label once per series,
/// never per connection.
final class OrgSessionGauges: Sendable {
    static let label = "tiergate_org_open_sessions"
    static let otherOrg = "_other"

    private struct Entry {
        var open: Int
        /// Nil: counted under `_other`.
        let meter: Meter?
    }

    private struct State {
        var entries: [OrgId: Entry] = [:]
        var series = 0
    }

    private let factory: any MetricsFactory
    private let cap: Int
    private let other: Meter
    private let state = Mutex(State())

    init(factory: any MetricsFactory, cap: Int) {
        self.factory = factory
        self.cap = cap
        other = Meter(label: Self.label, dimensions: [("org", Self.otherOrg)], factory: factory)
    }

    func opened(_ org: OrgId) {
        // The meter is moved under the lock so an open and the close that destroys the
        // series cannot interleave.
        state.withLock { state in
            if var entry = state.entries[org] {
                entry.open += 1
                state.entries[org] = entry
                (entry.meter ?? other).increment()
                return
            }
            var meter: Meter?
            if state.series < cap {
                meter = Meter(label: Self.label, dimensions: [("org", org.rawValue)], factory: factory)
                state.series += 1
            }
            state.entries[org] = Entry(open: 1, meter: meter)
            (meter ?? other).increment()
        }
    }

    func closed(_ org: OrgId) {
        state.withLock { state in
            guard var entry = state.entries[org] else { return }
            entry.open -= 1
            (entry.meter ?? other).decrement()
            guard entry.open <= 0 else {
                state.entries[org] = entry
                return
            }
            state.entries[org] = nil
            if let meter = entry.meter {
                meter.destroy()
                state.series -= 1
            }
        }
    }

    /// Orgs with their own series now (for tests and SHOW STATS).
    var seriesCount: Int { state.withLock { $0.series } }
}
