import Gate
import Testing
import TierModel

@Suite struct ConnectionRefusalTests {
    let acme = try! OrgId("org_acme")

    func refusal(_ tier: Tier, current: Int) -> ConnectionRefusal {
        let max = TierMatrix.builtIn[tier].postgres.maxConnections
        return ConnectionRefusal(org: acme, tier: tier, current: current, max: max,
                                 suggestion: .connectionLimit(tier: tier, matrix: .builtIn))
    }

    @Test func free_detailIsTheDesignsResponseExactly() {
        #expect(refusal(.free, current: 5).detail
                == #"{"error":"connection_limit_exceeded","tier":"FREE","current":5,"max":5,"suggestion":"Upgrade to STARTER for 10 connections"}"#)
    }

    @Test func free_messageAndHint() {
        let r = refusal(.free, current: 5)
        #expect(r.message == #"connection limit exceeded for org "org_acme": 5 of 5 (tier FREE)"#)
        #expect(r.hint == "Upgrade to STARTER for 10 connections")
        #expect(r.description == r.message)
    }

    @Test func enterprise_hintOffersWhatIsLeft() {
        let r = refusal(.enterprise, current: 100)
        #expect(r.hint == "ENTERPRISE is the highest tier: close idle connections or contact sales for a dedicated plan")
        #expect(r.detail
                == #"{"error":"connection_limit_exceeded","tier":"ENTERPRISE","current":100,"max":100,"suggestion":"ENTERPRISE is the highest tier: close idle connections or contact sales for a dedicated plan"}"#)
    }

    @Test func sqlState_isTooManyConnections() {
        #expect(ConnectionRefusal.sqlState == .tooManyConnections)
        #expect(ConnectionRefusal.errorCode == "connection_limit_exceeded")
    }
}
