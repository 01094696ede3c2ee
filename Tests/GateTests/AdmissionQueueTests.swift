import Gate
import Testing
import TierModel

@Suite struct AdmissionQueueTests {
    let acme = try! OrgId("org_acme")
    let beta = try! OrgId("org_beta")
    let delta = try! OrgId("org_delta")
    let t0 = ContinuousClock.now

    func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }

    @Test func withinAnOrg_firstInFirstServed_andALaterOneNeverOvertakes() {
        var queue = AdmissionQueue<String>()
        _ = queue.enqueue(org: acme, tier: .free, at: at(0), deadline: at(5000), payload: "first")
        _ = queue.enqueue(org: acme, tier: .free, at: at(1), deadline: at(5001), payload: "second")
        var offered: [String] = []
        // One slot: only the oldest is offered; once it takes it, the org has none left.
        var slots = 1
        let served = queue.serve { waiter in
            offered.append(waiter.payload)
            guard slots > 0 else { return false }
            slots -= 1
            return true
        }
        #expect(served.map(\.payload) == ["first"])
        #expect(offered == ["first", "second"])
        #expect(queue.count == 1)
    }

    @Test func acrossOrgs_theHigherTierIsServedFirst_thenTheEarlierQueued() {
        var queue = AdmissionQueue<String>()
        _ = queue.enqueue(org: acme, tier: .free, at: at(0), deadline: at(5000), payload: "free")
        _ = queue.enqueue(org: beta, tier: .starter, at: at(2), deadline: at(10_000), payload: "starter")
        _ = queue.enqueue(org: delta, tier: .enterprise, at: at(3), deadline: at(30_000), payload: "enterprise")
        #expect(queue.heads.map(\.payload) == ["enterprise", "starter", "free"])
        var slots = 2
        let served = queue.serve { _ in
            guard slots > 0 else { return false }
            slots -= 1
            return true
        }
        #expect(served.map(\.payload) == ["enterprise", "starter"])
        #expect(queue.heads.map(\.payload) == ["free"])
    }

    @Test func aRemovedWaiter_leavesNothingBehind() {
        var queue = AdmissionQueue<String>()
        let id = queue.enqueue(org: acme, tier: .free, at: at(0), deadline: at(5000), payload: "gone")
        #expect(queue.count(tier: .free) == 1)
        #expect(queue.remove(id)?.payload == "gone")
        #expect(queue.remove(id) == nil)
        #expect(queue.count == 0)
        #expect(queue.earliestDeadline == nil)
        #expect(queue.removeExpired(at: at(10_000)).isEmpty)
        #expect(queue.serve { _ in true }.isEmpty)
    }

    @Test func expiry_takesOnlyThoseWhoseDeadlinePassed() {
        var queue = AdmissionQueue<String>()
        _ = queue.enqueue(org: acme, tier: .free, at: at(0), deadline: at(5000), payload: "free")
        _ = queue.enqueue(org: delta, tier: .enterprise, at: at(0), deadline: at(30_000), payload: "enterprise")
        #expect(queue.earliestDeadline == at(5000))
        #expect(queue.removeExpired(at: at(4999)).isEmpty)
        #expect(queue.removeExpired(at: at(5000)).map(\.payload) == ["free"])
        #expect(queue.earliestDeadline == at(30_000))
        #expect(queue.count(tier: .free) == 0)
        #expect(queue.count(tier: .enterprise) == 1)
    }

    @Test func perOrgBound_isTheCeiling_atLeastOne() {
        #expect(AdmissionQueue<Int>.perOrgBound(ceiling: 5) == 5)
        #expect(AdmissionQueue<Int>.perOrgBound(ceiling: 0) == 1)
    }
}
