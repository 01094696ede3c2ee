import Foundation
import Testing
import TierModel

struct BurstStateTests {
    let state = BurstState(startedAt: 1_700_000_000_000, endsAt: 1_700_000_900_000, burstTier: .enterprise,
                           costPerMinute: 0.25, billedMinutes: 3, startedBy: "proxy-a")

    @Test func json_roundTrips_withTheDesignsFieldsFirst() throws {
        #expect(state.json.hasPrefix(#"{"startedAt":1700000000000,"burstTier":"ENTERPRISE","costPerMinute":0.25,"#))
        #expect(try BurstState(json: state.json) == state)
        let ended = BurstState(startedAt: 1, endsAt: 60_001, burstTier: .pro, costPerMinute: 1, billedMinutes: 1,
                               startedBy: "", endedAt: 30_001)
        #expect(try BurstState(json: ended.json) == ended)
    }

    /// What Lua's cjson writes: numbers as it prints them, keys in any order.
    @Test func readsTheScriptsOutput() throws {
        let parsed = try BurstState(json: #"{"billedMinutes":1,"endsAt":1700000180000,"startedBy":"x","costPerMinute":0.5,"burstTier":"ENTERPRISE","startedAt":1700000000000}"#)
        #expect(parsed.endsAt - parsed.startedAt == 180_000)
        #expect(parsed.costPerMinute == 0.5)
        #expect(parsed.endedAt == nil)
    }

    @Test func foreignOrBrokenValues_areErrorsNamingTheField() {
        #expect(throws: BurstStateError.self) { try BurstState(json: "1") }
        #expect(throws: BurstStateError.self) { try BurstState(json: "{") }
        do {
            _ = try BurstState(json: #"{"startedAt":1,"endsAt":2,"burstTier":"PLATINUM","costPerMinute":0,"billedMinutes":1}"#)
            Issue.record("unknown tier accepted")
        } catch {
            #expect(error.field == "burstTier")
        }
        do {
            _ = try BurstState(json: #"{"startedAt":1,"burstTier":"PRO","costPerMinute":0,"billedMinutes":1}"#)
            Issue.record("missing endsAt accepted")
        } catch {
            #expect(error.field == "endsAt")
            #expect(error.description.contains("missing"))
        }
    }

    @Test func elapsed_runsToTheEndOrNow_neverPastTheMaximum() {
        #expect(state.elapsedMilliseconds(now: 1_700_000_060_000) == 60_000)
        #expect(state.elapsedMilliseconds(now: 1_800_000_000_000) == 900_000)
        let stopped = BurstState(startedAt: 0, endsAt: 900_000, burstTier: .enterprise, costPerMinute: 0.25,
                                 billedMinutes: 2, startedBy: "", endedAt: 90_000)
        #expect(stopped.elapsedMilliseconds(now: 500_000) == 90_000)
        #expect(stopped.billedCost == 0.5)
    }
}

struct BurstOverlayTests {
    let base = OrgTier(orgId: org("org_gamma"), tier: .pro, limits: TierMatrix.builtIn[.pro],
                       burst: OrgTier.BurstConfig(burstTier: .enterprise), route: PostgresRoute(database: "gamma"),
                       tierUpdatedAt: 5, cachedAt: 7)

    @Test func bursting_takesTheBurstTiersCeilingAndSettings_andRemembersTheBase() {
        let bursting = base.bursting(to: .enterprise, matrix: .builtIn)
        #expect(bursting.tier == .enterprise)
        #expect(bursting.baseTier == .pro)
        #expect(bursting.burstingFrom == .pro)
        #expect(bursting.limits.postgres.maxConnections == 100)
        #expect(bursting.sessionSettings[.workMem]?.value == "128MB")
        #expect(bursting.route == base.route)
        #expect(!bursting.isNewer(than: base) && !base.isNewer(than: bursting), "same freshness as its base")
        #expect(bursting != base)
        #expect(base.baseTier == .pro && base.burstingFrom == nil)
        #expect(bursting.bursting(to: .enterprise, matrix: .builtIn) == bursting)
    }

    @Test func burstConfig_durationsInMilliseconds_fractionalMinutesAllowed() {
        let short = OrgTier.BurstConfig(burstTier: .enterprise, maxBurstDurationMinutes: 0.05, cooldownMinutes: 0.1)
        #expect(short.maxDurationMilliseconds == 3_000)
        #expect(short.cooldownMilliseconds == 6_000)
        #expect(OrgTier.BurstConfig(burstTier: .enterprise, maxBurstDurationMinutes: 600).maxDurationMilliseconds == 900_000)
        #expect(OrgTier.BurstConfig(burstTier: .enterprise, cooldownMinutes: 0).cooldownMilliseconds == 0)
    }

    @Test func redisValue_keepsFractionalMinutes() throws {
        let short = OrgTier(orgId: base.orgId, tier: .pro, limits: base.limits,
                            burst: OrgTier.BurstConfig(burstTier: .enterprise, maxBurstDurationMinutes: 0.05,
                                                       cooldownMinutes: 0.1, costPerMinute: 0.25),
                            route: base.route, tierUpdatedAt: 5, cachedAt: 7)
        #expect(short.redisValue.contains(#""maxBurstDurationMinutes":0.05"#))
        #expect(base.redisValue.contains(#""maxBurstDurationMinutes":15,"#), "whole minutes stay integers")
        #expect(try OrgTier(redisValue: short.redisValue, org: base.orgId) == short)
    }
}

struct BurstCostAlertTests {
    func state(billed: Int, cost: Double) -> BurstState {
        BurstState(startedAt: 0, endsAt: 900_000, burstTier: .enterprise, costPerMinute: cost, billedMinutes: billed, startedBy: "")
    }

    /// One alert per burst, from the billing that crosses $10 (docs/design.md#bursts).
    @Test func theBillingThatCrossesTenDollars_alerts_andNoOtherDoes() {
        #expect(state(billed: 40, cost: 0.25).crossedCost(billedNow: 1))          // 9.75 -> 10.00
        #expect(!state(billed: 39, cost: 0.25).crossedCost(billedNow: 1))         // 9.50 -> 9.75
        #expect(!state(billed: 41, cost: 0.25).crossedCost(billedNow: 1))         // already past
        #expect(state(billed: 3, cost: 5).crossedCost(billedNow: 2))              // 5 -> 15
        #expect(!state(billed: 3, cost: 5).crossedCost(billedNow: 0))
        #expect(!state(billed: 15, cost: 0).crossedCost(billedNow: 15), "a free burst never alerts")
        #expect(state(billed: 1, cost: 12).crossedCost(billedNow: 1), "the first minute can cross it")
    }
}
