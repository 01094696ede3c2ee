import Foundation
import PostgresClient
import Testing
import TierModel
import TierStore

/// The burst scaling add-on, end to end through real proxies,
/// Redis and MongoDB, with libpq clients.
@Suite(.serialized)
struct BurstScalingTests {
    /// Redis database 6: a running burst is billed, ended and alerted on by whichever
    /// instance's upkeep ticks first, and every TierGate of a suite running in parallel on
    /// the same database would take part.
    static let redisDatabase = 6
    static var redisURL: String { Stack.redisURL(database: redisDatabase) }

    static func remove(_ org: String) { TestOrgs.removeWithBursts(org, redisDatabase: redisDatabase) }

    static func connect(_ port: Int, _ org: String) throws -> PostgresConnection {
        try PostgresConnection(conninfo: conninfo(port: port, user: "app.\(org)"))
    }

    static func workMem(_ session: PostgresConnection) throws -> String? {
        try session.query("show work_mem").rows.first?.first ?? nil
    }

    static func burst(_ admin: AdminSocketClient, _ org: String) throws -> [String: Any] {
        try admin.command("SHOW ORG \(org)")["burst"] as? [String: Any] ?? [:]
    }

    /// PRO 2 connections, ENTERPRISE 4: bursts small enough to watch one by one.
    static func smallTiers() throws -> String {
        try TierFile.write(#"{"PRO": {"postgres": {"maxConnections": 2}}, "ENTERPRISE": {"postgres": {"maxConnections": 4}}}"#)
    }

    /// The metric names in grafana/tiergate-dashboard.json's queries.
    static func dashboardMetricNames() throws -> Set<String> {
        let url = Stack.repoRoot.appendingPathComponent("grafana/tiergate-dashboard.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: "tiergate_[a-z_]+")
        let names = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text).map { String(text[$0]) }
        }
        let families = Set(names.filter { $0 != "tiergate_dashboard" })
        #expect(families.count > 10)
        return families
    }

    @Test func proWithAddon_burstsPast50ToEnterprisesCeiling_proWithoutIsRefusedAt51() throws {
        let bursting = TestOrgs.unique("org_burst")
        let plain = TestOrgs.unique("org_noburst")
        try TestOrgs.put(bursting, tier: "PRO", burst: TestOrgs.BurstAddon())
        try TestOrgs.put(plain, tier: "PRO")
        defer { Self.remove(bursting); Self.remove(plain) }
        let (proxy, socket) = try AdminProxy.start(redis: Self.redisURL)
        let admin = try AdminSocketClient(path: socket)

        var plainSessions = try (0..<50).map { _ in try Self.connect(proxy.port, plain) }
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(plain)"), "51st PRO connection without the add-on") {
            #expect(error.sqlState == "53300")
            #expect(error.message == "connection limit exceeded for org \"\(plain)\": 50 of 50 (tier PRO)")
        }
        #expect(try Self.burst(admin, plain)["state"] as? String == "idle")
        plainSessions.removeAll()

        let sessions = try (0..<100).map { _ in try Self.connect(proxy.port, bursting) }
        #expect(try Self.workMem(sessions[99]) == "128MB", "a session admitted in the burst has ENTERPRISE's settings")
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(bursting)"), "101st connection during the burst") {
            #expect(error.sqlState == "53300")
            #expect(error.message == "connection limit exceeded for org \"\(bursting)\": 100 of 100 (tier ENTERPRISE)")
        }
        let shown = try admin.command("SHOW ORG \(bursting)")
        #expect(shown["tier"] as? String == "PRO")
        #expect(shown["burstingTo"] as? String == "ENTERPRISE")
        #expect(shown["openSessions"] as? Int == 100)
        let burst = shown["burst"] as? [String: Any] ?? [:]
        #expect(burst["state"] as? String == "running", "\(shown)")
        #expect(burst["startedAt"] is String)
        #expect(burst["minutesUsed"] as? Int == 1)
        #expect(burst["totalMinutesBilled"] as? Int == 1)
        #expect(proxy.log.components(separatedBy: "burst started").count == 2, "one burst, started once")
        _ = sessions
    }

    @Test func noAddon_disabledAddon_orNoAutoTrigger_neverBurstByThemselves() throws {
        var disabled = TestOrgs.BurstAddon()
        disabled.enabled = false
        var manual = TestOrgs.BurstAddon()
        manual.autoTrigger = false
        let orgs = [(TestOrgs.unique("org_none"), nil), (TestOrgs.unique("org_off"), disabled), (TestOrgs.unique("org_manual"), manual)]
        for (org, addon) in orgs { try TestOrgs.put(org, tier: "PRO", burst: addon) }
        defer { for (org, _) in orgs { Self.remove(org) } }
        let (proxy, socket) = try AdminProxy.start(extra: ["--tiers", try Self.smallTiers()], redis: Self.redisURL)
        let admin = try AdminSocketClient(path: socket)
        for (org, _) in orgs {
            let open = try (0..<2).map { _ in try Self.connect(proxy.port, org) }
            if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "3rd connection of \(org)") {
                #expect(error.message == "connection limit exceeded for org \"\(org)\": 2 of 2 (tier PRO)")
            }
            #expect(try Self.burst(admin, org)["state"] as? String == "idle")
            _ = open
        }
        #expect(!proxy.log.contains("burst started"))

        // BURST START (an operator or billing system) bursts the manual one, not the others.
        for (org, _) in orgs.prefix(2) {
            let reply = try admin.command("BURST START \(org)")
            #expect(reply["ok"] as? Bool == false)
            #expect((reply["error"] as? String)?.contains("no enabled burst_scaling add-on") == true, "\(reply)")
        }
        let manualOrg = orgs[2].0
        let started = try admin.command("BURST START \(manualOrg)")
        #expect(started["started"] as? Bool == true, "\(started)")
        #expect((started["burst"] as? [String: Any])?["minutesUsed"] as? Int == 1)
        #expect(try admin.command("BURST START \(manualOrg)")["started"] as? Bool == false, "already running")
        let third = try Self.connect(proxy.port, manualOrg)
        #expect(try Self.workMem(third) == "128MB")
        // Log values with spaces are quoted (Telemetry.LogText).
        #expect(proxy.log.contains(#"trigger="operator (BURST START)""#))
    }

    @Test func burstEndsAfterItsDuration_cooldownBlocksANewOne_thenTheNextMayStart() throws {
        let org = TestOrgs.unique("org_short")
        var addon = TestOrgs.BurstAddon()
        // Long enough for the checks made during the burst on a loaded 2-core CI machine.
        addon.minutes = 0.1           // 6 s
        addon.cooldownMinutes = 0.1   // 6 s after the end
        try TestOrgs.put(org, tier: "PRO", burst: addon)
        defer { Self.remove(org) }
        let metricsPort = try FreePort.pick()
        let (proxy, socket) = try AdminProxy.start(extra: ["--tiers", try Self.smallTiers(), "--downgrade-grace", "1",
                                                           "--metrics", "127.0.0.1:\(metricsPort)"], redis: Self.redisURL)
        let admin = try AdminSocketClient(path: socket)
        let metrics = "http://127.0.0.1:\(metricsPort)/metrics"

        // The 2nd connection puts use past 90% of 2: admitted, and the burst starts behind it.
        var sessions = try (0..<2).map { _ in try Self.connect(proxy.port, org) }
        #expect(try eventually { try Self.burst(admin, org)["state"] as? String == "running" })
        sessions += try (0..<2).map { _ in try Self.connect(proxy.port, org) }
        #expect(try Self.workMem(sessions[3]) == "128MB")
        #expect(try Self.burst(admin, org)["cooldownRemainingSeconds"] is NSNull, "no cooldown shown while running")
        #expect(try Self.workMem(sessions[0]) == "128MB", "open sessions get the burst tier at their idle point")
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "5th connection") {
            #expect(error.message == "connection limit exceeded for org \"\(org)\": 4 of 4 (tier ENTERPRISE)")
        }
        let during = try MetricsEndpointTests.scrape(metrics)
        #expect(during[#"tiergate_bursts_started_total{tier="ENTERPRISE"}"#] == 1)
        #expect(during["tiergate_burst_active{org=\"\(org)\"}"] == 1)
        #expect(during[#"tiergate_burst_minutes_billed_total{tier="ENTERPRISE"}"#] == 1)
        // Every series the Grafana dashboard charts is exported (all exist during a burst).
        for family in try Self.dashboardMetricNames() {
            #expect(during.keys.contains { $0.hasPrefix(family + "{") }, "grafana charts \(family), /metrics lacks it")
        }

        // Over after its 6 s: cooling down, back to PRO's ceiling and settings.
        #expect(try eventually(timeout: 15) { try Self.burst(admin, org)["state"] as? String == "cooling_down" })
        let cooling = try Self.burst(admin, org)
        #expect((cooling["cooldownRemainingSeconds"] as? Int).map { $0 >= 1 && $0 <= 6 } == true, "\(cooling)")
        #expect(cooling["endedAt"] as? String == cooling["endsAt"] as? String, "ended by its maximum duration")
        try AdminProxy.waitFor("burst ended", in: proxy)
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "a connection in the cooldown") {
            #expect(error.sqlState == "53300")
            #expect(error.message.hasSuffix("of 2 (tier PRO)"), "\(error.message)")
        }
        // The excess sessions close after the 1 s grace, with a FATAL that names the burst.
        #expect(try eventually(timeout: 10) { try admin.command("SHOW ORG \(org)")["openSessions"] as? Int == 2 })
        try AdminProxy.waitFor("'s burst to ENTERPRISE ended", in: proxy)
        let survivors = sessions.filter { (try? $0.query("select 1")) != nil }
        #expect(survivors.count == 2)
        #expect(try survivors.allSatisfy { try Self.workMem($0) == "64MB" })
        let after = try MetricsEndpointTests.scrape(metrics)
        #expect(after["tiergate_burst_active{org=\"\(org)\"}"] == nil)
        #expect(after[#"tiergate_burst_seconds_total{tier="ENTERPRISE"}"#] == 6)

        // Once the cooldown is over, a connection over the ceiling starts the next burst
        // itself (it waits for the decision) and is admitted.
        #expect(try eventually(timeout: 15) { try Self.burst(admin, org)["state"] as? String == "idle" })
        let third = try Self.connect(proxy.port, org)
        #expect(try Self.workMem(third) == "128MB")
        let burst = try Self.burst(admin, org)
        #expect(burst["state"] as? String == "running")
        #expect(burst["totalMinutesBilled"] as? Int == 2)
        #expect(proxy.log.contains(#"trigger="connection over the ceiling of 2""#))
        _ = (sessions, survivors)
    }

    /// The proxy's own upkeep bills minutes as they begin (here: a burst moved 150 s into its
    /// past, so minutes 2 and 3 have begun) and raises the cost alert once.
    @Test func runningBurst_isBilledMinuteByMinute_andTheCostAlertFiresOnce() throws {
        let org = TestOrgs.unique("org_billed")
        var addon = TestOrgs.BurstAddon()
        addon.costPerMinute = 5
        try TestOrgs.put(org, tier: "PRO", burst: addon)
        defer { Self.remove(org) }
        let metricsPort = try FreePort.pick()
        let (proxy, socket) = try AdminProxy.start(extra: ["--tiers", try Self.smallTiers(),
                                                           "--metrics", "127.0.0.1:\(metricsPort)"], redis: Self.redisURL)
        let admin = try AdminSocketClient(path: socket)
        let sessions = try (0..<2).map { _ in try Self.connect(proxy.port, org) }
        #expect(try eventually { try Self.burst(admin, org)["state"] as? String == "running" })
        try AdminProxy.waitFor("burst in force here", in: proxy)

        let redis = try RedisConnection(url: Self.redisURL)
        let record = try #require(try redis.command(["HGET", "tiergate:bursts", org]).string)
        let state = try BurstState(json: record)
        let moved = BurstState(startedAt: state.startedAt - 150_000, endsAt: state.endsAt - 150_000,
                               burstTier: state.burstTier, costPerMinute: state.costPerMinute,
                               billedMinutes: state.billedMinutes, startedBy: state.startedBy)
        _ = try redis.command(["HSET", "tiergate:bursts", org, moved.json])

        #expect(try eventually(timeout: 10) { try Self.burst(admin, org)["minutesUsed"] as? Int == 3 })
        try AdminProxy.waitFor("burst cost alert", in: proxy)
        let burst = try Self.burst(admin, org)
        #expect(burst["cost"] as? Double == 15)
        #expect(burst["totalMinutesBilled"] as? Int == 3)
        let metrics = try MetricsEndpointTests.scrape("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(metrics[#"tiergate_burst_minutes_billed_total{tier="ENTERPRISE"}"#] == 3)
        Thread.sleep(forTimeInterval: 1.5)  // more upkeep rounds: nothing more to bill, no second alert
        #expect(proxy.log.components(separatedBy: "burst cost alert").count == 2, "one alert")
        _ = sessions
    }

    /// Redis holds the burst state: while it is down no burst starts, the base ceiling
    /// applies with its usual 53300 (no hang, no guess), and SHOW ORG says why.
    @Test func redisDown_noBurstStarts_theBaseCeilingApplies() throws {
        let org = TestOrgs.unique("org_noredis")
        try TestOrgs.put(org, tier: "PRO", burst: TestOrgs.BurstAddon())
        defer { Self.remove(org) }
        // This instance's own count: with shared counts an outage gives each instance a share
        // of the ceiling by the instances last seen alive (SharedCeilingTests).
        let link = try FaultyLink(toPort: Stack.redisPort)
        defer { link.stop() }
        let (proxy, socket) = try AdminProxy.start(extra: ["--tiers", try Self.smallTiers(), "--no-shared-counts"],
                                                   redis: link.url(scheme: "redis", path: "/\(Self.redisDatabase)"))
        let admin = try AdminSocketClient(path: socket)
        let first = try Self.connect(proxy.port, org)  // the tier is now known in process

        link.cut()  // Redis stopped, for this proxy
        let second = try Self.connect(proxy.port, org)
        #expect(try Self.workMem(second) == "64MB")
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "3rd connection with Redis down") {
            #expect(error.sqlState == "53300")
            #expect(error.message == "connection limit exceeded for org \"\(org)\": 2 of 2 (tier PRO)")
        }
        let burst = try Self.burst(admin, org)
        #expect(burst["state"] as? String == "unavailable", "\(burst)")
        #expect(burst["reason"] as? String == "Redis unreachable")
        try AdminProxy.waitFor("burst not available: Redis unreachable", in: proxy)

        // Back up: the next connection over the ceiling bursts (after the short pause the
        // proxy takes before asking a failed Redis again).
        try link.restore()
        #expect(try eventually(timeout: 15) {
            guard let third = try? Self.connect(proxy.port, org) else { return false }
            return try Self.workMem(third) == "128MB"
        })
        _ = (first, second)
    }

    @Test func twoProxies_shareTheBurst_andTheKillSwitch() throws {
        let org = TestOrgs.unique("org_shared")
        try TestOrgs.put(org, tier: "PRO", burst: TestOrgs.BurstAddon())
        defer { Self.remove(org) }
        let tiers = try Self.smallTiers()
        let (first, firstSocket) = try AdminProxy.start(extra: ["--tiers", tiers], redis: Self.redisURL)
        let (second, secondSocket) = try AdminProxy.start(extra: ["--tiers", tiers], redis: Self.redisURL)
        let firstAdmin = try AdminSocketClient(path: firstSocket)
        let secondAdmin = try AdminSocketClient(path: secondSocket)

        let onFirst = try (0..<2).map { _ in try Self.connect(first.port, org) }
        #expect(try eventually { try Self.burst(firstAdmin, org)["state"] as? String == "running" })
        // The second proxy hears of it (pub/sub) and reads the same burst from Redis.
        try AdminProxy.waitFor("burst in force here", in: second)
        let seenBySecond = try Self.burst(secondAdmin, org)
        #expect(seenBySecond["state"] as? String == "running")
        #expect(seenBySecond["startedAt"] as? String == (try Self.burst(firstAdmin, org))["startedAt"] as? String)
        // Its first session, far below any ceiling, starts with the burst tier's settings.
        var onSecond = [try Self.connect(second.port, org)]
        #expect(try Self.workMem(onSecond[0]) == "128MB", "the second proxy applies the burst tier")
        // The burst tier's ceiling is shared: 2 on the first proxy, 2 here.
        onSecond.append(try Self.connect(second.port, org))
        if let error = expectRefusal(conninfo(port: second.port, user: "app.\(org)"), "5th connection across both proxies") {
            #expect(error.message == "connection limit exceeded for org \"\(org)\": 4 of 4 (tier ENTERPRISE)")
        }
        #expect(!second.log.contains("burst started"), "the burst was started once, by the first proxy")

        // The kill switch on the second proxy ends the burst on both.
        let off = try secondAdmin.command("BURST OFF \(org)")
        #expect(off["ok"] as? Bool == true, "\(off)")
        #expect((off["endedBurst"] as? [String: Any])?["minutesUsed"] as? Int == 1)
        #expect(try eventually { try Self.burst(firstAdmin, org)["state"] as? String == "off" })
        #expect(try eventually { (try firstAdmin.command("SHOW ORG \(org)"))["burstingTo"] is NSNull })
        if let error = expectRefusal(conninfo(port: first.port, user: "app.\(org)"), "a 3rd connection while switched off") {
            #expect(error.message == "connection limit exceeded for org \"\(org)\": 2 of 2 (tier PRO)")
        }
        onSecond.removeAll()
        // Their leases go back asynchronously (the proxy sees each client leave, then tells
        // Redis): the next connection must not meet them.
        #expect(try eventually(timeout: 5) {
            ((try firstAdmin.command("SHOW ORG \(org)"))["cluster"] as? [String: Any])?["openSessions"] as? Int == 2
        })

        // BURST ON lifts it: the next connection over the ceiling starts a new burst.
        let on = try firstAdmin.command("BURST ON \(org)")
        #expect(on["switchedOn"] as? Bool == true, "\(on)")
        let third = try Self.connect(first.port, org)
        #expect(try Self.workMem(third) == "128MB")
        #expect(try Self.burst(secondAdmin, org)["totalMinutesBilled"] as? Int == 2)
        _ = (onFirst, third)
    }
}
