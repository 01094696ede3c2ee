import Admin
import Foundation
import MetricsTestKit
import PostgresWire
import Proxy
import Testing
import TierModel
@testable import TierPolicy

/// The exact JSON of SHOW ORG, SHOW ORGS, SHOW STATS and a burst as the admin socket
/// replies them, field for field and in order: scripts read these replies, so moving where
/// they are built must not change a byte.
struct AdminReplyPinTests {
    static func showOrg(_ admission: TierAdmission, _ org: OrgId) -> String {
        JSONValue.object(AdminReply.showOrg(admission.orgStatus(org)).fields).serialized
    }

    static func showOrgs(_ admission: TierAdmission) -> String {
        JSONValue.object(AdminReply.showOrgs(admission.orgsOverview()).fields).serialized
    }

    static func showStats(_ admission: TierAdmission) -> String {
        JSONValue.object(AdminReply.showStats(admission.statistics()).fields).serialized
    }

    static func burst(_ state: BurstState) -> String {
        JSONValue.object(state.json).serialized
    }

    @Test func showOrg_knownOrgWithOneSession() throws {
        let admission = try TierAdmissionMetricsTests.admission(TestMetrics())
        guard case .admitted(let session) = Admissions.admit(admission, user: "app.org_free") else {
            Issue.record("refused within the ceiling")
            return
        }
        defer { session.onEnd() }
        let shown = Self.showOrg(admission, try OrgId("org_free"))
        #expect(shown == """
            {"org":"org_free","tier":"FREE","paidTier":"FREE","effectiveTier":"FREE","effectiveTierReason":null,"subscription":{"status":"active","currentPeriodEnd":"2030-01-01T00:00:00.000Z"},"roles":["app"],"databases":["free"],"burstingTo":null,"tierUpdatedAt":1763755200000,"limits":{"postgres":{"maxConnections":5,"poolMin":2,"poolMax":5,"queryTimeout":10000,"connectionTimeout":5000,"statementMemory":67108864,"workMemory":4194304,"sharedBuffers":134217728,"maxParallelWorkers":2,"tempBuffers":8388608,"hashMemoryMultiplier":1.0,"maintenanceWorkMemory":33554432,"maxParallelMaintenanceWorkers":1,"tempFileLimit":1073741824,"connectRate":5.0,"connectBurst":10,"capacityReserve":30},"redis":{"maxMemory":67108864,"maxKeys":10000,"maxConnections":5,"keyTTLMin":3600000},"mongodb":{"maxConnections":5,"maxQueryTime":10000,"maxMemory":134217728,"maxDocsPerQuery":100},"compute":{"cpuLimit":0.25,"memoryLimit":536870912},"lifecycle":{"idleTimeout":300000,"scaleToZero":true,"coldStart":"2-5s","idleInTransactionTimeout":60000},"priority":"low"},"settings":{"statement_timeout":"10s","work_mem":"4MB","temp_buffers":"8MB","max_parallel_workers_per_gather":"2","hash_mem_multiplier":"1","maintenance_work_mem":"32MB","max_parallel_maintenance_workers":"1","temp_file_limit":"1GB","idle_in_transaction_session_timeout":"1min"},"burst":{"addon":null,"state":"unavailable","reason":"bursts need --redis, where their state is shared"},"openSessions":1,"loginsInProgress":0,"cluster":null,"metricsLabel":"org_free","pendingEnforcement":null}
            """)
    }

    @Test func showOrg_unknownOrg() throws {
        let admission = try TierAdmissionMetricsTests.admission(TestMetrics())
        let shown = Self.showOrg(admission, try OrgId("org_nobody"))
        #expect(shown == """
            {"org":"org_nobody","tier":null,"burst":{"addon":null,"state":"unavailable","reason":"bursts need --redis, where their state is shared"},"openSessions":0,"loginsInProgress":0,"cluster":null,"metricsLabel":"org_nobody","pendingEnforcement":null}
            """)
    }

    /// A downgrade below use: the pending enforcement's fields; its wall-clock `at` is
    /// checked for its form and cut out of the pinned text.
    @Test func showOrg_pendingEnforcement_andShowOrgsAndStats() throws {
        let clock = ManualClock()
        let (admission, source, sessions, _) = try DowngradeEnforcementTests.starterWithSessions(7, clock: clock)
        DowngradeEnforcementTests.downgradeToFree(admission, source)
        clock.advance(by: .seconds(12))
        var text = Self.showOrg(admission, DowngradeEnforcementTests.org)
        let at = try #require(text.range(of: #""at":"[0-9T:.Z-]+""#, options: .regularExpression))
        #expect(text[at].hasSuffix("Z\""))
        text.replaceSubrange(at, with: #""at":"AT""#)
        #expect(text == """
            {"org":"org_down","tier":"FREE","paidTier":"FREE","effectiveTier":"FREE","effectiveTierReason":null,"subscription":null,"roles":["app"],"databases":["org_down"],"burstingTo":null,"tierUpdatedAt":2000,"limits":{"postgres":{"maxConnections":5,"poolMin":2,"poolMax":5,"queryTimeout":10000,"connectionTimeout":5000,"statementMemory":67108864,"workMemory":4194304,"sharedBuffers":134217728,"maxParallelWorkers":2,"tempBuffers":8388608,"hashMemoryMultiplier":1.0,"maintenanceWorkMemory":33554432,"maxParallelMaintenanceWorkers":1,"tempFileLimit":1073741824,"connectRate":5.0,"connectBurst":10,"capacityReserve":30},"redis":{"maxMemory":67108864,"maxKeys":10000,"maxConnections":5,"keyTTLMin":3600000},"mongodb":{"maxConnections":5,"maxQueryTime":10000,"maxMemory":134217728,"maxDocsPerQuery":100},"compute":{"cpuLimit":0.25,"memoryLimit":536870912},"lifecycle":{"idleTimeout":300000,"scaleToZero":true,"coldStart":"2-5s","idleInTransactionTimeout":60000},"priority":"low"},"settings":{"statement_timeout":"10s","work_mem":"4MB","temp_buffers":"8MB","max_parallel_workers_per_gather":"2","hash_mem_multiplier":"1","maintenance_work_mem":"32MB","max_parallel_maintenance_workers":"1","temp_file_limit":"1GB","idle_in_transaction_session_timeout":"1min"},"burst":{"addon":null,"state":"unavailable","reason":"bursts need --redis, where their state is shared"},"openSessions":7,"loginsInProgress":0,"cluster":null,"metricsLabel":"org_down","pendingEnforcement":{"tier":"FREE","ceiling":5,"openAtChange":7,"excess":2,"at":"AT","inSeconds":48}}
            """)
        #expect(Self.showOrgs(admission) == """
            {"orgs":[{"org":"org_down","tier":"FREE","burstingTo":null,"maxConnections":5,"openSessions":7,"pendingEnforcement":true}]}
            """)
        #expect(Self.showStats(admission) == """
            {"uptimeSeconds":12,"connections":{"admitted":7,"open":7,"loginsInProgress":0,"queued":0,"refused":{},"closedByDowngrade":0},"cache":{"inProcess":{"hits":6,"misses":1},"redis":{"hits":0,"misses":0,"stale":0,"errors":0}},"cluster":null,"lookups":{"source":2,"sourceErrors":0,"coalesced":0,"staleServed":0}}
            """)
        for session in sessions { session.onEnd() }
    }

    @Test func burst_runningAndEnded() {
        let running = BurstState(startedAt: 1_764_000_000_000, endsAt: 1_764_003_600_000, burstTier: .pro,
                                 costPerMinute: 0.25, billedMinutes: 7, startedBy: "admin")
        #expect(Self.burst(running) == """
            {"burstTier":"PRO","startedAt":"2025-11-24T16:00:00.000Z","endsAt":"2025-11-24T17:00:00.000Z","endedAt":null,"minutesUsed":7,"cost":1.75}
            """)
        let ended = BurstState(startedAt: 1_764_000_000_000, endsAt: 1_764_003_600_000, burstTier: .starter,
                               costPerMinute: 0.1, billedMinutes: 3, startedBy: "auto", endedAt: 1_764_000_180_123)
        #expect(Self.burst(ended) == """
            {"burstTier":"STARTER","startedAt":"2025-11-24T16:00:00.000Z","endsAt":"2025-11-24T17:00:00.000Z","endedAt":"2025-11-24T16:03:00.123Z","minutesUsed":3,"cost":0.30000000000000004}
            """)
    }
}
