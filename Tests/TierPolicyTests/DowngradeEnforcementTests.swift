import Admin
import PostgresWire
import Proxy
import Testing
import TierModel
@testable import TierPolicy

/// A downgrade below current use, its grace period and the closing of the newest excess
/// sessions, on a manual clock: no services, no sleeps. Sessions are played by their
/// mailboxes.
struct DowngradeEnforcementTests {
    static let org = try! OrgId("org_down")
    static let user = "app.org_down"

    /// STARTER (ceiling 10) with `open` sessions, each with what it receives.
    static func starterWithSessions(_ open: Int, clock: ManualClock, grace: Duration = .seconds(60),
                                    pgbouncer: Endpoint? = nil)
        throws -> (TierAdmission, SwitchableOrgSource, [AdmittedSession], [ReceivedCommands]) {
        let source = SwitchableOrgSource()
        source.set(org, tier: .starter, updatedAt: 1_000)
        let admission = Admissions.tierAdmission(source: source, pgbouncer: pgbouncer, clock: clock)
        admission.downgradeGrace = grace
        let sessions = try #require(Admissions.admitted(admission, user: user, count: open))
        return (admission, source, sessions, sessions.map { ReceivedCommands(attachingTo: $0.mailbox) })
    }

    static func downgradeToFree(_ admission: TierAdmission, _ source: SwitchableOrgSource) {
        source.set(org, tier: .free, updatedAt: 2_000)
        _ = admission.invalidate(org)
    }

    static func pendingEnforcement(_ admission: TierAdmission) -> JSONObject? {
        admission.orgStatus(org).json["pendingEnforcement"]?.objectValue
    }

    @Test func excessSessions_surviveTheGracePeriod_thenTheNewestAreClosed() throws {
        let clock = ManualClock()
        let (admission, source, _, received) = try Self.starterWithSessions(7, clock: clock)
        Self.downgradeToFree(admission, source)
        #expect(Self.pendingEnforcement(admission)?["inSeconds"] == .integer(60))
        #expect(Self.pendingEnforcement(admission)?["excess"] == .integer(2))

        clock.advance(by: .seconds(59))
        #expect(received.allSatisfy { $0.terminations.isEmpty }, "still within the grace period")
        #expect(Self.pendingEnforcement(admission)?["inSeconds"] == .integer(1))

        clock.advance(by: .seconds(1))
        #expect(received.prefix(5).allSatisfy { $0.terminations.isEmpty }, "the oldest five stay")
        for newest in received.suffix(2) {
            let error = try #require(newest.terminations.first)
            #expect(error.sqlState == .tooManyConnections)
            #expect(error.message == "terminating connection: org \"org_down\" was downgraded to FREE, whose ceiling is 5 connections")
            #expect(error[.detail] == "7 sessions were open when the 60 s grace period ended; the newest 2 are closed.")
        }
        #expect(Self.pendingEnforcement(admission) == nil)
        #expect(admission.statistics().json["connections"]?.objectValue?["closedByDowngrade"] == .integer(2))
    }

    @Test func sessionsThatCloseDuringTheGracePeriod_leaveNothingToEnforce() throws {
        let clock = ManualClock()
        let (admission, source, sessions, received) = try Self.starterWithSessions(7, clock: clock)
        Self.downgradeToFree(admission, source)
        clock.advance(by: .seconds(30))
        sessions[0].onEnd()
        sessions[1].onEnd()
        #expect(Self.pendingEnforcement(admission) == nil, "back within the ceiling")
        clock.advance(by: .seconds(60))
        #expect(received.allSatisfy { $0.terminations.isEmpty })
    }

    @Test func upgradeBackWithinTheGracePeriod_cancelsTheEnforcement() throws {
        let clock = ManualClock()
        let (admission, source, _, received) = try Self.starterWithSessions(7, clock: clock)
        Self.downgradeToFree(admission, source)
        clock.advance(by: .seconds(10))
        source.set(Self.org, tier: .starter, updatedAt: 3_000)
        _ = admission.invalidate(Self.org)
        clock.advance(by: .seconds(60))
        #expect(received.allSatisfy { $0.terminations.isEmpty })
        #expect(received.allSatisfy { $0.updates.count == 2 }, "told of both changes")
    }

    /// A second downgrade starts its own grace period; the first one's timer finds its
    /// enforcement replaced and closes nothing.
    @Test func secondChange_restartsTheGracePeriod() throws {
        let clock = ManualClock()
        let (admission, source, _, received) = try Self.starterWithSessions(7, clock: clock, grace: .seconds(60))
        Self.downgradeToFree(admission, source)
        clock.advance(by: .seconds(40))
        source.set(Self.org, tier: .starter, updatedAt: 3_000)
        _ = admission.invalidate(Self.org)
        source.set(Self.org, tier: .free, updatedAt: 4_000)
        _ = admission.invalidate(Self.org)
        clock.advance(by: .seconds(20))
        #expect(received.allSatisfy { $0.terminations.isEmpty }, "the first grace period's end enforces nothing")
        clock.advance(by: .seconds(40))
        #expect(received.suffix(2).allSatisfy { $0.terminations.count == 1 })
    }

    @Test func tierChange_reachesOpenSessionsAsTheirNewTerms() throws {
        let clock = ManualClock()
        let (admission, source, _, received) = try Self.starterWithSessions(2, clock: clock)
        Self.downgradeToFree(admission, source)
        let update = try #require(received[0].updates.last)
        #expect(update.logMetadata == ["tier": "FREE"])
        #expect(update.settingsStatement?.hasPrefix("SET statement_timeout = '10s'; SET work_mem = '4MB'") == true)
        #expect(update.idleTimeout?.duration == .seconds(300))
        #expect(update.idleTimeout?.error[.detail] == "The session was idle for 300 s, the idle timeout of tier FREE.")
        #expect(update.rules is TierSessionRules)
        #expect(clock.pendingWork == 0, "within the ceiling: nothing scheduled")
    }

    /// Through PgBouncer the pool's connect_query carries the settings: a SET would stay on
    /// a pooled server connection for other clients, so only the rules change.
    @Test func tierChangeThroughPgBouncer_sendsNoSettingsStatement() throws {
        let clock = ManualClock()
        let (admission, source, _, received) = try Self.starterWithSessions(
            1, clock: clock, pgbouncer: Endpoint(host: "127.0.0.1", port: 6432))
        Self.downgradeToFree(admission, source)
        let update = try #require(received[0].updates.last)
        #expect(update.settingsStatement == nil)
        #expect(update.logMetadata == ["tier": "FREE"])
    }
}
