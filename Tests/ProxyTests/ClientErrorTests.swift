import PostgresWire
import Testing
@testable import Proxy

struct ClientErrorTests {
    @Test func excessClosedAfterADowngrade_namesTheDowngrade() {
        let error = ClientError.downgradeExcess(org: "org_a", tier: "FREE", ceiling: 5, open: 7, graceSeconds: 900).errorResponse
        #expect(error.sqlState == "53300")
        #expect(error[.severity] == "FATAL")
        #expect(error.message == "terminating connection: org \"org_a\" was downgraded to FREE, whose ceiling is 5 connections")
        #expect(error[.detail] == "7 sessions were open when the 900 s grace period ended; the newest 2 are closed.")
    }

    /// A customer whose burst ended was not downgraded: the error says what happened.
    @Test func excessClosedAfterABurst_namesTheBurst() {
        let error = ClientError.downgradeExcess(org: "org_a", tier: "PRO", ceiling: 50, open: 80, graceSeconds: 60,
                                                burstEndedFrom: "ENTERPRISE").errorResponse
        #expect(error.message == "terminating connection: org \"org_a\"'s burst to ENTERPRISE ended; its tier PRO has a ceiling of 50 connections")
        #expect(error[.hint] == "Keep at most 50 connections open, or upgrade the org's tier.")
    }
}
