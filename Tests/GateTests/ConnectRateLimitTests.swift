import Gate
import Testing
import TierModel
import Throttle

@Suite struct ConnectRateLimitTests {
    let acme = try! OrgId("org_acme")
    let beta = try! OrgId("org_beta")
    let t0 = ContinuousClock.now
    let free = TierMatrix.builtIn[.free].postgres

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0 + .milliseconds(milliseconds) }

    @Test func free_tenConnectsAtOnceAreAllowed_theEleventhInTheSameSecondIsRefused() {
        var limit = TokenBuckets<OrgId>()
        let decisions = (0..<11).map { i in limit.take(acme, rate: free.connectRate, burst: free.connectBurst, at: at(i)) }
        #expect(decisions.prefix(10).allSatisfy { $0 == .allowed })
        guard case .refused(let retryAfter) = decisions[10] else {
            Issue.record("11th connect allowed: \(decisions[10])")
            return
        }
        // 10 ms after the first, 0.05 of a token has come back: the next one is 190 ms away.
        #expect(abs(retryAfter.seconds - 0.19) < 0.001, "\(retryAfter)")
    }

    @Test func free_afterTheRefusal_admitsAgainOnceATokenRefilled() {
        var limit = TokenBuckets<OrgId>()
        for i in 0..<10 { _ = limit.take(acme, rate: 5, burst: 10, at: at(i)) }
        #expect(limit.take(acme, rate: 5, burst: 10, at: at(100)) != .allowed)
        // 5 per second: one token 200 ms after the bucket emptied (at 9 ms).
        #expect(limit.take(acme, rate: 5, burst: 10, at: at(209)) == .allowed)
        #expect(limit.take(acme, rate: 5, burst: 10, at: at(210)) != .allowed)
        // A whole second later the sustained rate is 5 per second.
        let second = (0..<6).map { i in limit.take(acme, rate: 5, burst: 10, at: at(1210 + i)) }
        #expect(second.filter { $0 == .allowed }.count == 5)
    }

    @Test func orgsHaveBucketsOfTheirOwn() {
        var limit = TokenBuckets<OrgId>()
        for i in 0..<10 { _ = limit.take(acme, rate: 5, burst: 10, at: at(i)) }
        #expect(limit.take(acme, rate: 5, burst: 10, at: at(10)) != .allowed)
        #expect(limit.take(beta, rate: 5, burst: 10, at: at(10)) == .allowed)
    }

    @Test func aSmallerBurst_afterATierChange_capsTheTokensAtOnce() {
        var limit = TokenBuckets<OrgId>()
        #expect(limit.take(acme, rate: 100, burst: 200, at: at(0)) == .allowed)
        let after = (0..<11).map { i in limit.take(acme, rate: 5, burst: 10, at: at(1 + i)) }
        #expect(after.filter { $0 == .allowed }.count == 10)
    }

    @Test func timeGoingBackwards_refillsNothing() {
        var bucket = TokenBucket(burst: 1, at: at(1000))
        #expect(bucket.take(rate: 1, burst: 1, at: at(1000)) == .allowed)
        #expect(bucket.take(rate: 1, burst: 1, at: at(0)) != .allowed)
        #expect(bucket.take(rate: 1, burst: 1, at: at(2000)) == .allowed)
    }

    @Test func fullBuckets_arePruned_onceThereAreMoreThanTheThreshold() throws {
        var limit = TokenBuckets<OrgId>(pruneThreshold: 2)
        let orgs = try (0..<4).map { try OrgId("org_\($0)") }
        for org in orgs.prefix(3) { _ = limit.take(org, rate: 1, burst: 5, at: at(0)) }
        #expect(limit.count == 3)
        // Ten seconds later every bucket is full again: all dropped but the new one.
        _ = limit.take(orgs[3], rate: 1, burst: 5, at: at(10_000))
        #expect(limit.count == 1)
    }

    @Test func refusal_hasTheCeilingRefusalsShape() {
        let refusal = ConnectRateRefusal(org: acme, tier: .free, rate: 5, burst: 10, retryAfter: .milliseconds(190),
                                         suggestion: .connectRate(tier: .free, matrix: .builtIn))
        #expect(ConnectRateRefusal.sqlState == .tooManyConnections)
        #expect(refusal.message == #"connection rate exceeded for org "org_acme": more than 10 at once or 5 per second (tier FREE)"#)
        #expect(refusal.detail == #"{"error":"connection_rate_exceeded","tier":"FREE","rate":5,"burst":10,"retryAfterMs":190,"suggestion":"Upgrade to STARTER for 10 connections per second"}"#)
        #expect(refusal.hint == "Upgrade to STARTER for 10 connections per second")
        let top = UpgradeHint.connectRate(tier: .enterprise, matrix: .builtIn)
        #expect(top.suggestedTier == nil)
        #expect(top.text == "Reuse connections (a pool) instead of opening one per request")
    }
}
