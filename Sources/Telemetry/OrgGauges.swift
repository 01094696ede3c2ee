import CoreMetrics
import Synchronization
import TierModel

/// A count per org as one gauge per org (open sessions; running bursts), with the label
/// cardinality bounded two ways:
///
/// - a series exists only while its org's count is above zero: it is created at the first
///   `opened` and destroyed (unregistered from the backend) when the count is back to zero;
/// - at most `cap` orgs have their own series at once; an org that opens while `cap` orgs
///   already have one is counted under `org="_other"` until its count is back to zero.
///
/// So the gauge never has more than `cap + 1` series, however many orgs come and go over
/// the process' life. The org id is formatted into a label once per series, never per
/// connection, as `labels` says (plain, hashed); with `.off` there are no series at all.
final class OrgGauges: Sendable {
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

    private let label: String
    private let factory: any MetricsFactory
    private let cap: Int
    private let labels: OrgLabelMode
    private let other: Meter?
    private let state = Mutex(State())

    init(label: String, factory: any MetricsFactory, cap: Int, labels: OrgLabelMode = .plain) {
        self.label = label
        self.factory = factory
        self.cap = cap
        self.labels = labels
        other = labels == .off ? nil : Meter(label: label, dimensions: [("org", Self.otherOrg)], factory: factory)
    }

    func opened(_ org: OrgId) {
        guard let other else { return }
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
            if state.series < cap, let value = labels.label(for: org) {
                meter = Meter(label: label, dimensions: [("org", value)], factory: factory)
                state.series += 1
            }
            state.entries[org] = Entry(open: 1, meter: meter)
            (meter ?? other).increment()
        }
    }

    func closed(_ org: OrgId) {
        guard let other else { return }
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
