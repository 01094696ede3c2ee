import Admin
import Testing
import TierModel

/// The reply lines the admin socket writes for values the unit tests of the tier policy
/// cannot reach without Redis (a burst's shared state, the cluster) or TLS, and for the
/// BURST and INVALIDATE commands: field names, order and `"ok"` first, as scripts read them.
struct AdminReplyRenderingTests {
    static let org = try! OrgId("org_a")
    static let burst = BurstState(startedAt: 1_764_000_000_000, endsAt: 1_764_000_900_000, burstTier: .pro,
                                  costPerMinute: 0.25, billedMinutes: 4, startedBy: "admin")
    static let burstText =
        #"{"burstTier":"PRO","startedAt":"2025-11-24T16:00:00.000Z","endsAt":"2025-11-24T16:15:00.000Z","endedAt":null,"minutesUsed":4,"cost":1}"#

    static func text(_ object: JSONObject) -> String { JSONValue.object(object).serialized }

    @Test func burstStatus_running_showsTheAddonAndTheBurstInline() {
        let status = BurstStatus(addon: OrgTier.BurstConfig(burstTier: .pro, costPerMinute: 0.25),
                                 shared: .known(.running, latest: Self.burst, cooldownRemainingSeconds: nil,
                                                totalMinutesBilled: 11))
        #expect(Self.text(status.json) == #"{"addon":{"burstTier":"PRO","maxBurstDurationMinutes":15,"cooldownMinutes":60,"costPerMinute":0.25,"autoTrigger":true},"state":"running","startedAt":"2025-11-24T16:00:00.000Z","endsAt":"2025-11-24T16:15:00.000Z","endedAt":null,"minutesUsed":4,"cost":1,"cooldownRemainingSeconds":null,"totalMinutesBilled":11}"#)
    }

    @Test func burstStatus_coolingDownWithoutABurst_andUnavailable() {
        let cooling = BurstStatus(addon: nil, shared: .known(.coolingDown, latest: nil, cooldownRemainingSeconds: 42,
                                                             totalMinutesBilled: 9))
        #expect(Self.text(cooling.json)
                == #"{"addon":null,"state":"cooling_down","startedAt":null,"minutesUsed":0,"cooldownRemainingSeconds":42,"totalMinutesBilled":9}"#)
        let unreachable = BurstStatus(addon: nil, shared: .unavailable(reason: "Redis unreachable"))
        #expect(Self.text(unreachable.json) == #"{"addon":null,"state":"unavailable","reason":"Redis unreachable"}"#)
    }

    @Test func cluster_sharedAndFallback() {
        let shared = ClusterView(openSessions: 7, thisInstance: 2, instances: 3, shared: true, ceilingHere: nil)
        #expect(Self.text(shared.json) == #"{"openSessions":7,"thisInstance":2,"instances":3,"mode":"shared"}"#)
        let fallback = ClusterView(openSessions: nil, thisInstance: 2, instances: 3, shared: false, ceilingHere: 4)
        #expect(Self.text(fallback.json)
                == #"{"openSessions":null,"thisInstance":2,"instances":3,"mode":"fallback","ceilingHere":4}"#)
        let statistics = ClusterStatistics(instanceId: "i-1", shared: false, liveInstances: 2, leasesHeldHere: 3,
                                           fallbackDecisions: 5, revocations: 2, outages: 1)
        #expect(Self.text(statistics.json)
                == #"{"instanceId":"i-1","mode":"fallback","liveInstances":2,"leasesHeldHere":3,"fallbackDecisions":5,"revocations":2,"outages":1}"#)
    }

    @Test func showStats_clusterAndTLS_inTheirPlaces() {
        var tls = ProxyStatistics.TLS()
        tls.sessions = 1
        tls.handshakes = 5
        tls.directHandshakes = 2
        tls.handshakeFailures = 3
        tls.handshakeFailuresByReason = ["version": 2, "certificate": 1]
        let tlsText = #"{"sessions":1,"handshakes":5,"directHandshakes":2,"handshakeFailures":3,"handshakeFailuresByReason":{"certificate":1,"version":2}}"#
        #expect(AdminReply.showStats(tlsOnly: tls).line == #"{"ok":true,"tls":"# + tlsText + "}\n")

        var statistics = ProxyStatistics()
        statistics.uptimeSeconds = 3
        statistics.refused = ["no_org": 2, "connection_limit": 1]
        statistics.cluster = ClusterStatistics(instanceId: "i-1", shared: true, liveInstances: 1, leasesHeldHere: 0,
                                               fallbackDecisions: 0, revocations: 0, outages: 0)
        statistics.tls = tls
        #expect(AdminReply.showStats(statistics).line == #"{"ok":true,"uptimeSeconds":3,"connections":{"admitted":0,"open":0,"loginsInProgress":0,"queued":0,"refused":{"connection_limit":1,"no_org":2},"closedByDowngrade":0},"cache":{"inProcess":{"hits":0,"misses":0},"redis":{"hits":0,"misses":0,"stale":0,"errors":0}},"cluster":{"instanceId":"i-1","mode":"shared","liveInstances":1,"leasesHeldHere":0,"fallbackDecisions":0,"revocations":0,"outages":0},"lookups":{"source":0,"sourceErrors":0,"coalesced":0,"staleServed":0},"tls":"# + tlsText + "}\n")
    }

    @Test func burstCommands() {
        #expect(AdminReply.burstStarted(Self.org, started: true, burst: Self.burst).line
                == #"{"ok":true,"org":"org_a","started":true,"burst":"# + Self.burstText + "}\n")
        #expect(AdminReply.burstStarted(Self.org, started: false, burst: Self.burst).line
                == #"{"ok":true,"org":"org_a","started":false,"burst":"# + Self.burstText + "}\n")
        #expect(AdminReply.burstSwitchedOff(Self.org, ended: Self.burst).line
                == #"{"ok":true,"org":"org_a","switchedOff":true,"endedBurst":"# + Self.burstText + "}\n")
        #expect(AdminReply.burstSwitchedOff(Self.org, ended: nil).line
                == #"{"ok":true,"org":"org_a","switchedOff":true,"endedBurst":null}"# + "\n")
        #expect(AdminReply.burstSwitchedOn(Self.org, lifted: false).line == #"{"ok":true,"org":"org_a","switchedOn":false}"# + "\n")
        #expect(AdminReply.burstStartCoolingDown(Self.org, remainingSeconds: 61).line
                == #"{"ok":false,"error":"BURST START org_a: cooling down after the last burst for 61 s more"}"# + "\n")
        #expect(AdminReply.burstStartSwitchedOff(Self.org).line
                == #"{"ok":false,"error":"BURST START org_a: switched off (BURST OFF); BURST ON first"}"# + "\n")
    }

    @Test func invalidate_oneOrg_failedReRead_andEveryOrg() {
        let old = OrgTier(orgId: Self.org, tier: .free, limits: TierMatrix.builtIn[.free], burst: nil,
                          route: PostgresRoute(databases: ["a"], roles: ["app"]), tierUpdatedAt: 1, cachedAt: 0)
        let failed = OrgReload(org: Self.org, old: old, new: .failure(OrgReload.Failure("source down")),
                               redisReached: true, announcedTo: nil)
        #expect(AdminReply.invalidated(failed).line == #"{"ok":false,"error":"INVALIDATE org_a: caches dropped, but source down","org":"org_a","old":{"tier":"FREE","maxConnections":5,"tierUpdatedAt":1},"new":null,"newError":"source down","redis":true,"announcedTo":null}"# + "\n")
        let reloaded = OrgReload(org: Self.org, old: nil, new: .success(old), redisReached: false, announcedTo: 2)
        #expect(AdminReply.invalidated(reloaded).line
                == #"{"ok":true,"org":"org_a","old":null,"new":{"tier":"FREE","maxConnections":5,"tierUpdatedAt":1},"redis":false,"announcedTo":2}"# + "\n")
        #expect(AdminReply.invalidatedAll([reloaded], announcedTo: 3).line
                == #"{"ok":true,"orgs":[{"org":"org_a","old":null,"new":{"tier":"FREE","maxConnections":5,"tierUpdatedAt":1},"redis":false}],"announcedTo":3}"# + "\n")
    }

    @Test func ping_reload_pgbouncer() {
        #expect(AdminReply.pong.line == #"{"ok":true,"reply":"PONG"}"# + "\n")
        #expect(AdminReply.reloaded(tiers: .file(path: "/etc/tiers.json"), certificate: "/etc/cert.pem").line
                == #"{"ok":true,"tiers":"/etc/tiers.json","reloaded":true,"tls":{"cert":"/etc/cert.pem","reloaded":true}}"# + "\n")
        #expect(AdminReply.reloaded(tiers: .builtIn, certificate: nil).line
                == #"{"ok":true,"tiers":"built-in","reloaded":false}"# + "\n")
        #expect(AdminReply.reloaded(tiers: nil, certificate: "/etc/cert.pem").line
                == #"{"ok":true,"tls":{"cert":"/etc/cert.pem","reloaded":true}}"# + "\n")
        #expect(AdminReply.reloadRefused(because: "TLS bad key").line
                == #"{"ok":false,"error":"RELOAD refused, the tiers and TLS certificate in force are unchanged: TLS bad key"}"# + "\n")
        #expect(AdminReply.pgbouncerRegenerated("3 orgs").line == #"{"ok":true,"pgbouncer":"3 orgs"}"# + "\n")
        #expect(AdminReply.pgbouncerNotConfigured.line
                == #"{"ok":false,"error":"PGBOUNCER: not configured (no PgBouncer config generation in this TierGate)"}"# + "\n")
    }
}
