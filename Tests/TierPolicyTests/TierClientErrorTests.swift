import PostgresWire
import Testing
import TierPolicy

struct TierClientErrorTests {
    @Test func excessClosedAfterADowngrade_namesTheDowngrade() {
        let error = TierClientError.downgradeExcess(org: "org_a", tier: "FREE", ceiling: 5, open: 7, graceSeconds: 900).errorResponse
        #expect(error.sqlState == .tooManyConnections)
        #expect(error[.severity] == "FATAL")
        #expect(error.message == "terminating connection: org \"org_a\" was downgraded to FREE, whose ceiling is 5 connections")
        #expect(error[.detail] == "7 sessions were open when the 900 s grace period ended; the newest 2 are closed.")
    }

    /// A customer whose burst ended was not downgraded: the error says what happened.
    @Test func excessClosedAfterABurst_namesTheBurst() {
        let error = TierClientError.downgradeExcess(org: "org_a", tier: "PRO", ceiling: 50, open: 80, graceSeconds: 60,
                                                    burstEndedFrom: "ENTERPRISE").errorResponse
        #expect(error.message == "terminating connection: org \"org_a\"'s burst to ENTERPRISE ended; its tier PRO has a ceiling of 50 connections")
        #expect(error[.hint] == "Keep at most 50 connections open, or upgrade the org's tier.")
    }

    /// Postgres' idle_session_timeout, with the tier that sets it and how to avoid it.
    @Test func idleSessionTimeout_namesTheTier() {
        let error = TierClientError.idleSessionTimeout(seconds: 300, tier: "FREE").errorResponse
        #expect(error == ErrorResponse(
            severity: .fatal, sqlState: .idleSessionTimeout, message: "terminating connection due to idle-session timeout",
            detail: "The session was idle for 300 s, the idle timeout of tier FREE.",
            hint: "Reconnect when needed, or upgrade to PRO for sessions that never time out."))
    }

    @Test func lookupRefusals_are28000_or57P03ToRetry() {
        #expect(TierClientError.unknownOrg("org_x").errorResponse.sqlState == .invalidAuthorizationSpecification)
        #expect(TierClientError.orgMissing(user: "app", reason: "no dot").errorResponse[.hint]
            == "Connect as <role>.<orgId>, for example \"app.org_acme\".")
        #expect(TierClientError.invalidOrg("org_x", reason: "bad").errorResponse.sqlState == .invalidAuthorizationSpecification)
        #expect(TierClientError.tierUnavailable("org_x").errorResponse.sqlState == .cannotConnectNow)
    }
}
