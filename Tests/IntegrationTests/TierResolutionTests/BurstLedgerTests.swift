import Foundation
import Logging
import Testing
import TierModel
import TierStore

/// The shared burst state's scripts against the stack's Redis: one start however
/// many ask at once, every begun minute billed once, one end, the kill switch, and keys as
/// a billing cron scanning `burst:*` expects them.
@Suite(.serialized)
struct BurstLedgerTests {
    static func ledger() throws -> BurstLedger {
        try #require(ResolverTests.resolver().bursts)
    }

    static let addon = OrgTier.BurstConfig(burstTier: .enterprise, maxBurstDurationMinutes: 15, cooldownMinutes: 60,
                                           costPerMinute: 0.25)

    /// A connection of the test's own: outage tests restart Redis, which breaks any
    /// connection kept across tests.
    static func redis() throws -> RedisConnection {
        try RedisConnection(url: Stack.redisURL)
    }

    /// Runs `body(i)` for i in 0..<count on global queues at once, as that many instances
    /// would; returns the non-nil results.
    static func concurrently<T>(_ count: Int, _ body: @escaping @Sendable (Int) -> T?) -> [T] {
        let results = LockedList<T>()
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            DispatchQueue.global().async {
                if let result = body(i) { results.append(result) }
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        return results.items
    }

    static func fresh(_ prefix: String) -> OrgId {
        let org = TestOrgs.unique(prefix)
        TestOrgs.removeWithBursts(org)
        return try! OrgId(org)
    }

    @Test func concurrentRequests_startOneBurst_andWriteTheBurstKeys() throws {
        let org = Self.fresh("org_ledger")
        defer { TestOrgs.removeWithBursts(org.rawValue) }
        let ledgers = try (0..<4).map { _ in try Self.ledger() }  // as four instances
        let decisions = Self.concurrently(40) { i in
            ledgers[i % 4].admit(org, burst: Self.addon, instance: "instance-\(i % 4)")?.decision
        }
        let started = decisions.filter { if case .started = $0 { true } else { false } }
        let running = decisions.filter { if case .running = $0 { true } else { false } }
        #expect(decisions.count == 40)
        #expect(started.count == 1)
        #expect(running.count == 39)

        // The keys of docs/design.md#redis-keys: burst:<org> with startedAt/burstTier/costPerMinute and a TTL of
        // the maximum duration; the cooldown key outlives it by the cooldown.
        let redis = try Self.redis()
        let value = try #require(try redis.get(RedisKey.burst(org)))
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])
        #expect(fields["burstTier"] as? String == "ENTERPRISE")
        #expect(fields["costPerMinute"] as? Double == 0.25)
        let startedAt = try #require(fields["startedAt"] as? Int)
        #expect(fields["endsAt"] as? Int == startedAt + 15 * 60_000)
        let ttl = try redis.command(["PTTL", RedisKey.burst(org)])
        let cooldownTTL = try redis.command(["PTTL", RedisKey.burstCooldown(org)])
        guard case .integer(let burstMs) = ttl, case .integer(let cooldownMs) = cooldownTTL else {
            Issue.record("PTTL replies: \(ttl), \(cooldownTTL)")
            return
        }
        #expect(burstMs > 14 * 60_000 && burstMs <= 15 * 60_000)
        #expect(cooldownMs > burstMs + 59 * 60_000)
        let status = try #require(try Self.ledger().status(org))
        #expect(status.running)
        #expect(status.totalBilledMinutes == 1)
    }

    @Test func everyBegunMinuteIsBilledOnce_andTheEndOnce() throws {
        let org = Self.fresh("org_bill")
        defer { TestOrgs.removeWithBursts(org.rawValue) }
        let ledger = try Self.ledger()
        guard case .started? = ledger.admit(org, burst: Self.addon, instance: "a")?.decision else {
            Issue.record("no burst started")
            return
        }
        // Move the burst 150 s into its past: minutes 2 and 3 have begun since.
        let redis = try Self.redis()
        let record = try #require(try redis.command(["HGET", RedisKey.burstRecords, org.rawValue]).string)
        let state = try BurstState(json: record)
        let moved = BurstState(startedAt: state.startedAt - 150_000, endsAt: state.endsAt - 150_000,
                               burstTier: state.burstTier, costPerMinute: state.costPerMinute,
                               billedMinutes: state.billedMinutes, startedBy: state.startedBy)
        _ = try redis.command(["HSET", RedisKey.burstRecords, org.rawValue, moved.json])

        let ticks = Self.concurrently(10) { _ in ledger.tick(org) }
        let billed = ticks.reduce(0) { sum, tick in
            if case .running(_, _, let minutes) = tick { sum + minutes } else { sum }
        }
        #expect(billed == 2, "minutes 2 and 3, once, whichever tick saw them begin")
        #expect(try ledger.status(org)?.totalBilledMinutes == 3)

        // Now past its end (moved 20 minutes back): exactly one tick finishes it, billing the
        // rest of its 15 minutes.
        let over = BurstState(startedAt: moved.startedAt - 20 * 60_000, endsAt: moved.endsAt - 20 * 60_000,
                              burstTier: .enterprise, costPerMinute: 0.25, billedMinutes: 3, startedBy: "a")
        _ = try redis.command(["HSET", RedisKey.burstRecords, org.rawValue, over.json])
        let endings = Self.concurrently(10) { _ -> BurstLedger.Ended? in
            if case .ended(let ended)? = ledger.tick(org) { ended } else { nil }
        }
        #expect(endings.count == 1)
        #expect(endings.first?.billedMinutes == 12)
        #expect(endings.first?.state.billedMinutes == 15)
        #expect(endings.first?.state.endedAt == over.endsAt)
        let status = try #require(ledger.status(org))
        #expect(!status.running)
        #expect(status.totalBilledMinutes == 15)
        #expect(status.latest?.billedCost == 3.75)
    }

    @Test func killSwitch_endsTheBurst_blocksNewOnes_andBurstOnLiftsOnlyIt() throws {
        let org = Self.fresh("org_kill")
        defer { TestOrgs.removeWithBursts(org.rawValue) }
        let ledger = try Self.ledger()
        _ = ledger.admit(org, burst: Self.addon, instance: "a")
        guard case .endedRunning(let ended)? = ledger.switchOff(org) else {
            Issue.record("BURST OFF did not end the running burst")
            return
        }
        #expect(ended.state.endedAt != nil)
        #expect(ledger.switchOff(org) == .noneRunning)
        #expect(try Self.redis().get(RedisKey.burst(org)) == nil, "a billing cron bills no more minutes")
        #expect(ledger.admit(org, burst: Self.addon, instance: "a")?.decision == .switchedOff)
        #expect(ledger.status(org)?.switchedOff == true)
        #expect(ledger.resume(org) == true)
        guard case .started? = ledger.admit(org, burst: Self.addon, instance: "a")?.decision else {
            Issue.record("no burst after BURST ON")
            return
        }
        // A cooldown from a real burst is not lifted by BURST ON.
        _ = try Self.redis().command(["DEL", RedisKey.burst(org)])
        #expect(ledger.resume(org) == false)
        guard case .coolingDown? = ledger.admit(org, burst: Self.addon, instance: "a")?.decision else {
            Issue.record("a new burst started within the cooldown")
            return
        }
        #expect(ledger.status(org)?.switchedOff == false)
    }
}
