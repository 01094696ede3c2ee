import Foundation

/// Why billing no longer pays for an org's tier, so it is served as FREE: the effective tier.
///
/// The document's `tier` is what the org bought; its `subscription` says whether that is
/// still paid for. Rules (`cause(of:...)`):
/// - `subscription.status` other than `active` or `trialing` (`past_due`, `canceled`,
///   `unpaid`, `incomplete`, `paused`, ..., or no status at all): served as FREE.
/// - `subscription.currentPeriodEnd` more than the grace (default 3 days) in the past:
///   served as FREE. The grace covers a renewal that billing records late.
/// - A document without `subscription` keeps its tier: the org is billed outside
///   subscriptions (an invoiced contract, an internal org).
///
/// It is a function of the clock, so it is evaluated whenever a tier is used (each
/// resolution, including in-process and Redis cache hits), never stored in a cache: a period
/// end that passes while the org is cached takes effect at once.
public struct SubscriptionLapse: Sendable, Equatable, CustomStringConvertible {
    public enum Cause: Sendable, Equatable {
        /// The subscription's status, nil when the document gives none.
        case status(String?)
        /// The period ended at this epoch-millisecond time, more than `graceMilliseconds` ago.
        case periodEnded(atMilliseconds: Int, graceMilliseconds: Int)
    }

    /// Seconds a `currentPeriodEnd` may be past before the org is served as FREE.
    public static let defaultGraceSeconds = 3 * 86_400
    /// Stripe's statuses for a subscription that is being paid for.
    public static let payingStatuses: Set<String> = ["active", "trialing"]

    /// The tier the document names (the one paid for while the subscription was in order).
    public let paidTier: Tier
    public let cause: Cause

    public init(paidTier: Tier, cause: Cause) {
        self.paidTier = paidTier
        self.cause = cause
    }

    /// Why `subscription` no longer pays at `nowMilliseconds`; nil while it does, or when
    /// there is no subscription.
    public static func cause(of subscription: OrgDocument.Subscription?, nowMilliseconds: Int,
                             graceMilliseconds: Int) -> Cause? {
        guard let subscription else { return nil }
        guard let status = subscription.status, payingStatuses.contains(status.lowercased()) else {
            return .status(subscription.status)
        }
        if let end = subscription.currentPeriodEnd, nowMilliseconds > end + graceMilliseconds {
            return .periodEnded(atMilliseconds: end, graceMilliseconds: graceMilliseconds)
        }
        return nil
    }

    public var description: String {
        switch cause {
        case .status(nil):
            return "the subscription has no status (active or trialing keeps \(paidTier))"
        case .status(let status?):
            return "subscription status \"\(status)\" is neither active nor trialing"
        case .periodEnded(let end, let grace):
            let formatter = ISO8601DateFormatter()
            let date = formatter.string(from: Date(timeIntervalSince1970: Double(end) / 1000))
            return "subscription period ended at \(date), more than the grace of \(Self.describe(milliseconds: grace)) ago"
        }
    }

    static func describe(milliseconds: Int) -> String {
        let seconds = milliseconds / 1000
        if seconds > 0, seconds % 86_400 == 0 { return seconds == 86_400 ? "1 day" : "\(seconds / 86_400) days" }
        return milliseconds % 1000 == 0 ? "\(seconds) s" : "\(Double(milliseconds) / 1000) s"
    }
}
