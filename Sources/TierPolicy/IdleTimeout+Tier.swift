import Gate
import Proxy
import TierModel

extension IdleTimeout {
    /// The idle timeout of `org`'s tier, with the FATAL that names the tier; nil when the
    /// tier's sessions never time out.
    init?(tier org: OrgTier) {
        guard let idle = TimeoutRules(limits: org.limits).idle else { return nil }
        self.init(idle, error: TierClientError.idleSessionTimeout(seconds: idle.seconds, tier: org.tier.rawValue).errorResponse)
    }
}
