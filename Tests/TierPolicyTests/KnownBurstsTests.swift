import Testing
import TierModel
@testable import TierPolicy

/// The burst timing rules, driven by a manual clock: no Redis, no sleeps.
struct KnownBurstsTests {
    static let org = try! OrgId("org_burst")
    static let state = BurstState(startedAt: 0, endsAt: 900_000, burstTier: .enterprise, costPerMinute: 0.25,
                                  billedMinutes: 1, startedBy: "instance-a")

    @Test func knownBurst_appliesUntilItsDeadline_thenNoLonger() {
        let clock = ManualClock()
        var known = KnownBursts()
        let isNew = known.remember(Self.org, Self.state, remaining: .seconds(90), baseTier: .pro, at: clock.now)
        #expect(isNew)
        #expect(known.burstTier(of: Self.org, at: clock.now) == .enterprise)
        clock.advance(by: .seconds(89))
        #expect(known.burstTier(of: Self.org, at: clock.now) == .enterprise)
        #expect(known.overdue(Self.org, at: clock.now) == nil)
        clock.advance(by: .seconds(1))
        #expect(known.burstTier(of: Self.org, at: clock.now) == nil, "the deadline is the end")
        #expect(known.overdue(Self.org, at: clock.now)?.state == Self.state)
    }

    /// Redis reports the time left; each report moves the local deadline, so a burst the
    /// ledger extends (or shortens) here follows it.
    @Test func laterReport_movesTheDeadline_andKeepsTheKnownBaseTier() {
        let clock = ManualClock()
        var known = KnownBursts()
        _ = known.remember(Self.org, Self.state, remaining: .seconds(10), baseTier: .pro, at: clock.now)
        clock.advance(by: .seconds(5))
        let isNew = known.remember(Self.org, Self.state, remaining: .seconds(60), baseTier: nil, at: clock.now)
        #expect(!isNew)
        clock.advance(by: .seconds(30))
        #expect(known.burstTier(of: Self.org, at: clock.now) == .enterprise)
        #expect(known.running[Self.org]?.baseTier == .pro)
        clock.advance(by: .seconds(30))
        #expect(known.overdue(Self.org, at: clock.now) != nil)
    }

    @Test func forgottenBurst_isNotApplied() {
        let clock = ManualClock()
        var known = KnownBursts()
        _ = known.remember(Self.org, Self.state, remaining: .seconds(60), baseTier: .pro, at: clock.now)
        let forgotten = known.forget(Self.org)
        let forgottenAgain = known.forget(Self.org)
        #expect(forgotten)
        #expect(!forgottenAgain, "only once")
        #expect(known.burstTier(of: Self.org, at: clock.now) == nil)
        #expect(known.orgs.isEmpty)
    }

    /// Whether the ledger may be asked about the org now (a mutating call, kept out of
    /// `#expect`).
    static func mayAsk(_ known: inout KnownBursts, _ clock: ManualClock, operator: Bool = false) -> Bool {
        known.mayAsk(about: org, at: clock.now, operator: `operator`)
    }

    static func quiet(_ known: inout KnownBursts, _ clock: ManualClock, for duration: Duration) -> Bool {
        known.quiet(org, for: duration, at: clock.now)
    }

    @Test func refusedOrg_isNotAskedAgainUntilItsQuietTimeEnds() {
        let clock = ManualClock()
        var known = KnownBursts()
        #expect(Self.mayAsk(&known, clock))
        #expect(Self.quiet(&known, clock, for: .seconds(5)), "newly quiet: logged")
        clock.advance(by: .seconds(4))
        #expect(!Self.mayAsk(&known, clock))
        #expect(!Self.quiet(&known, clock, for: .seconds(5)), "already quiet: not logged again")
        clock.advance(by: .seconds(4))
        #expect(!Self.mayAsk(&known, clock), "the second refusal moved the end")
        clock.advance(by: .seconds(1))
        #expect(Self.mayAsk(&known, clock))
    }

    @Test func operator_isAlwaysAsked_andEndsTheQuietTime() {
        let clock = ManualClock()
        var known = KnownBursts()
        _ = Self.quiet(&known, clock, for: .seconds(300))
        #expect(Self.mayAsk(&known, clock, operator: true))
        #expect(Self.mayAsk(&known, clock), "the quiet time is over")
    }

    @Test func burstOn_endsTheQuietTime() {
        let clock = ManualClock()
        var known = KnownBursts()
        _ = Self.quiet(&known, clock, for: .seconds(5))
        known.endQuiet(Self.org)
        #expect(Self.mayAsk(&known, clock))
    }
}
