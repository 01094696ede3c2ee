import Foundation
import Testing
import TierModel
import TierStore

/// The shared connect-rate buckets against the stack's Redis: one token per connection
/// however many instances take at once, the wait until the next token, and a key that
/// expires once the bucket would be full again.
@Suite(.serialized)
struct ConnectRateLedgerTests {
    static func ledger() throws -> ConnectRateLedger {
        try #require(ResolverTests.resolver().connectRates)
    }

    @Test func twentyInstancesAtOnce_takeExactlyTheBurst() throws {
        let ledger = try Self.ledger()
        let org = try OrgId(TestOrgs.unique("org_ratebucket"))
        let answers = BurstLedgerTests.concurrently(20) { _ in ledger.take(org, rate: 5, burst: 10) }
        #expect(answers.count == 20)
        #expect(answers.filter(\.allowed).count == 10)
        // Five per second: the next token is at most 200 ms away.
        let waits = answers.filter { !$0.allowed }.map(\.retryAfterMilliseconds)
        #expect(waits.allSatisfy { $0 > 0 && $0 <= 200 }, "\(waits)")
    }

    @Test func pipelinedTakes_areDecidedInOrder_oneTokenEach() throws {
        let ledger = try Self.ledger()
        let org = try OrgId(TestOrgs.unique("org_ratepipe"))
        let other = try OrgId(TestOrgs.unique("org_ratepipe_other"))
        let requests = (0..<30).map { ConnectRateLedger.Request(org: $0 % 3 == 2 ? other : org, rate: 0.01, burst: 10) }
        let answers = try #require(ledger.take(requests, quiet: nil))
        let mine = zip(requests, answers).filter { $0.0.org == org }.map { $0.1?.allowed }
        #expect(mine == Array(repeating: true, count: 10) + Array(repeating: false, count: 10))
        #expect(zip(requests, answers).filter { $0.0.org == other }.allSatisfy { $0.1?.allowed == true })
    }

    @Test func aTokenComesBack_afterOneOverTheRate() throws {
        let ledger = try Self.ledger()
        let org = try OrgId(TestOrgs.unique("org_raterefill"))
        #expect(ledger.take(org, rate: 10, burst: 1)?.allowed == true)
        #expect(ledger.take(org, rate: 10, burst: 1)?.allowed == false)
        Thread.sleep(forTimeInterval: 0.15)
        #expect(ledger.take(org, rate: 10, burst: 1)?.allowed == true)
    }

    @Test func theKey_expiresOnceTheBucketWouldBeFull() throws {
        let ledger = try Self.ledger()
        let org = try OrgId(TestOrgs.unique("org_ratettl"))
        _ = ledger.take(org, rate: 1, burst: 3)
        let redis = try RedisConnection(url: Stack.redisURL)
        let ttl = try redis.command(["PTTL", RedisKey.connectRate(org)])
        // One token short: refilled in 1 s, plus the script's 1 s of slack.
        guard case .integer(let milliseconds) = ttl else {
            Issue.record("PTTL: \(ttl)")
            return
        }
        #expect(milliseconds > 1500 && milliseconds <= 2000, "\(milliseconds)")
    }
}
