import Proxy
import TierModel

extension StatementTimeout {
    /// The statement timeout of `org`'s tier (`postgres.queryTimeout`: FREE 10 s ...
    /// ENTERPRISE 120 s), which the proxy enforces itself, a second after the server's own
    /// `statement_timeout` of the same value should have fired.
    init(tier org: OrgTier) {
        self.init(.milliseconds(org.limits.postgres.queryTimeout))
    }
}
