import TierModel

/// Counts connection refusals per org and says when an org is thrashing (docs/design.md#thrashing): more
/// than `threshold` refusals within one `length` window, reported once per window so the
/// customer gets one notification, not one per retry.
///
/// Windows are fixed, starting at an org's first refusal, like `INCR rejections:<org>`
/// with `EXPIRE 60` set when INCR returns 1. (Re-arming EXPIRE on every INCR instead would
/// let a steadily retrying client keep one window open forever and re-notify on every
/// retry past 10.) Time is injected: any `InstantProtocol` measured in `Duration`, e.g.
/// `ContinuousClock.Instant`.
public struct RejectionWindow<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public let length: Duration
    public let threshold: Int

    private struct Window {
        var start: Instant
        var count: Int
        var reported: Bool
    }

    private var windows: [OrgId: Window] = [:]

    public init(length: Duration = ThrashingEvent.window, threshold: Int = ThrashingEvent.threshold) {
        self.length = length
        self.threshold = threshold
    }

    /// Records one refusal of `org` at `now`; returns the event when this refusal is the
    /// first in its window to push the count above the threshold.
    public mutating func recordRejection(org: OrgId, at now: Instant) -> ThrashingEvent? {
        if windows.count > 4096 { removeExpired(at: now) }
        var window = windows[org].flatMap { isCurrent($0, at: now) ? $0 : nil }
            ?? Window(start: now, count: 0, reported: false)
        window.count += 1
        var event: ThrashingEvent?
        if window.count > threshold && !window.reported {
            window.reported = true
            event = ThrashingEvent(org: org, rejections: window.count, window: length)
        }
        windows[org] = window
        return event
    }

    /// Refusals of `org` in the window current at `now`.
    public func count(for org: OrgId, at now: Instant) -> Int {
        windows[org].flatMap { isCurrent($0, at: now) ? $0.count : nil } ?? 0
    }

    /// Forgets windows that ended; `recordRejection` also does this when many orgs are held.
    public mutating func removeExpired(at now: Instant) {
        windows = windows.filter { isCurrent($0.value, at: now) }
    }

    /// For a count shared through Redis (`INCR rejections:<org>`): INCR returns each value
    /// once across all proxies, so exactly one proxy sees `threshold + 1` and reports.
    public static func isThrashingOnset(sharedCount: Int, threshold: Int = ThrashingEvent.threshold) -> Bool {
        sharedCount == threshold + 1
    }

    private func isCurrent(_ window: Window, at now: Instant) -> Bool {
        window.start.duration(to: now) < length
    }
}

/// An org hit its connection limit more than `threshold` times in a minute (docs/design.md#thrashing; also
/// a high-priority alert).
public struct ThrashingEvent: Sendable, Equatable {
    /// `EXPIRE rejections:<org> 60` (docs/design.md#thrashing).
    public static let window: Duration = .seconds(RedisKey.rejectionsTTLSeconds)
    /// `if (rejections > 10)` (docs/design.md#thrashing).
    public static let threshold = 10

    /// The notification text (docs/design.md#thrashing).
    public static let title = "Connection Limit Reached Frequently"
    public static let message = "You're hitting your connection limit often. Consider upgrading to a higher tier."
    public static let docsURL = "https://docs.dynabase.io/connection-pooling"

    public let org: OrgId
    /// Refusals in the window when reported (threshold + 1 for a local window).
    public let rejections: Int
    public let window: Duration

    public init(org: OrgId, rejections: Int, window: Duration = ThrashingEvent.window) {
        self.org = org
        self.rejections = rejections
        self.window = window
    }
}
