import Gate
import PostgresWire
import Testing
import TierModel

@Suite struct UpstreamCapacityTests {
    let upstream = Endpoint(host: "127.0.0.1", port: 5432)
    let other = Endpoint(host: "10.0.0.2", port: 5432)
    let matrix = TierMatrix.builtIn

    func acquire(_ capacity: inout UpstreamCapacity, _ tier: Tier, on endpoint: Endpoint? = nil) -> CapacityDecision {
        capacity.acquire(endpoint ?? upstream, tier: tier, reservePercent: matrix[tier].postgres.capacityReserve)
    }

    @Test func tierLimits_roundTheReserveUp() {
        #expect(UpstreamCapacity.tierLimit(capacity: 100, reservePercent: 30) == 70)
        #expect(UpstreamCapacity.tierLimit(capacity: 4, reservePercent: 30) == 2)
        #expect(UpstreamCapacity.tierLimit(capacity: 4, reservePercent: 10) == 3)
        #expect(UpstreamCapacity.tierLimit(capacity: 4, reservePercent: 0) == 4)
        #expect(UpstreamCapacity.tierLimit(capacity: 1, reservePercent: 30) == 0)
    }

    @Test func asTheUpstreamFills_freeIsRefusedFirst_thenStarter_thenPro_enterpriseTakesTheLast() {
        var capacity = UpstreamCapacity()
        capacity.setCapacity(10, for: upstream)
        // FREE may hold 7 of 10, STARTER 8, PRO 9, ENTERPRISE 10.
        for _ in 0..<7 { #expect(acquire(&capacity, .free) == .acquired) }
        #expect(acquire(&capacity, .free) == .refused(inUse: 7, tierLimit: 7, capacity: 10))
        #expect(acquire(&capacity, .starter) == .acquired)
        #expect(acquire(&capacity, .starter) == .refused(inUse: 8, tierLimit: 8, capacity: 10))
        #expect(acquire(&capacity, .pro) == .acquired)
        #expect(acquire(&capacity, .pro) == .refused(inUse: 9, tierLimit: 9, capacity: 10))
        #expect(acquire(&capacity, .enterprise) == .acquired)
        #expect(acquire(&capacity, .enterprise) == .refused(inUse: 10, tierLimit: 10, capacity: 10))
        capacity.release(upstream)
        #expect(acquire(&capacity, .pro) == .refused(inUse: 9, tierLimit: 9, capacity: 10))
        #expect(acquire(&capacity, .enterprise) == .acquired)
    }

    @Test func unknownCapacity_limitsNothing_butCounts() {
        var capacity = UpstreamCapacity()
        for _ in 0..<50 { #expect(acquire(&capacity, .free, on: other) == .acquired) }
        #expect(capacity.inUse(on: other) == 50)
        capacity.setCapacity(40, for: other)
        #expect(acquire(&capacity, .enterprise, on: other) == .refused(inUse: 50, tierLimit: 40, capacity: 40))
    }

    @Test func release_neverGoesBelowZero_andEndpointsAreApart() {
        var capacity = UpstreamCapacity()
        capacity.setCapacity(1, for: upstream)
        capacity.release(upstream)
        #expect(capacity.inUse(on: upstream) == 0)
        #expect(acquire(&capacity, .enterprise) == .acquired)
        #expect(acquire(&capacity, .enterprise, on: other) == .acquired)
        #expect(acquire(&capacity, .enterprise) == .refused(inUse: 1, tierLimit: 1, capacity: 1))
    }

    @Test func refusal_saysTheServerIsAtCapacity_tierInDetail_neverTheOrgsCeiling() throws {
        let refusal = UpstreamCapacityRefusal(org: try OrgId("org_acme"), tier: .free, inUse: 7, tierLimit: 7, capacity: 10,
                                              suggestion: .serverCapacity(tier: .free, matrix: matrix))
        #expect(UpstreamCapacityRefusal.sqlState == .tooManyConnections)
        #expect(refusal.message == "the database server is at capacity: no connection is free for this tier")
        #expect(!refusal.message.contains("limit"))
        #expect(refusal.detail == #"{"error":"server_at_capacity","tier":"FREE","inUse":7,"tierLimit":7,"capacity":10,"suggestion":"Retry shortly, or upgrade to STARTER for priority when the server is busy"}"#)
        #expect(UpgradeHint.serverCapacity(tier: .enterprise, matrix: matrix).text == "Retry shortly")
    }
}
