import Foundation
import PostgresClient
import PostgresWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Three real TierGate instances on one Redis, MongoDB and Postgres: one ceiling per org
/// across all of them, whatever the load balancer does.
@Suite(.serialized)
struct SharedCeilingTests {
    /// Each instance with an admin socket, so the tests can read SHOW ORG.
    struct Instance {
        let process: TierGateProcess
        let socket: String
        var port: Int { process.port }
    }

    /// Connect rates lifted out of the way: these tests are about the ceiling, and hundreds of
    /// attempts in one second would otherwise meet the org's connect rate first.
    static let unlimitedRates = ["FREE", "STARTER", "PRO", "ENTERPRISE"]
        .map { #""\#($0)": {"postgres": {"connectRate": 100000, "connectBurst": 100000}}"# }
        .joined(separator: ", ")

    /// A Redis database of these tests' own: instances that other suites run meanwhile (with
    /// shared counts, on database 0) would otherwise count among the live instances, and
    /// change every instance's fallback share.
    static let redisDatabase = 5
    static var redisURL: String { Stack.redisURL(database: redisDatabase) }

    /// A link of this test's own to the stack's Redis, to slow, freeze or cut for the
    /// instances pointed through it (`start(redis: link.url(...))`) and no one else.
    static func redisLink() throws -> FaultyLink { try FaultyLink(toPort: Stack.redisPort) }

    static func url(_ link: FaultyLink) -> String { link.url(scheme: "redis", path: "/\(redisDatabase)") }

    /// An instance that reaches Redis through `link`, with `org`'s tier already in its
    /// in-process cache (so a slow or frozen link delays leases, not the tier lookup).
    static func start(behind link: FaultyLink, knowing org: String) throws -> Instance {
        let instance = try start(["--local-cache-ttl", "600"], redis: url(link))
        _ = try PostgresConnection(conninfo: conninfo(port: instance.port, user: "app.\(org)"))
        return instance
    }

    static func start(_ extra: [String] = [], instanceId: String? = nil, redis: String = redisURL) throws -> Instance {
        let extra = extra.contains("--tiers") ? extra : extra + ["--tiers", try TierFile.write("{\(unlimitedRates)}")]
        let socket = AdminProxy.socketPath()
        let process = try TierGateProcess(arguments: [
            "--upstream", "127.0.0.1:\(Stack.postgresPort)", "--mongo", Stack.mongoURL, "--redis", redis,
            "--admin-socket", socket] + (instanceId.map { ["--instance-id", $0] } ?? []) + extra)
        return Instance(process: process, socket: socket)
    }

    static func cluster(_ extra: [String] = [], redis: String = redisURL) throws -> [Instance] {
        try (0..<3).map { _ in try start(extra, redis: redis) }
    }

    /// `attempts` connections at once, spread round-robin over the instances.
    static func race(_ attempts: Int, org: String, over instances: [Instance]) -> (sessions: [PostgresConnection], refusals: [String]) {
        let sessions = LockedList<PostgresConnection>()
        let refusals = LockedList<String>()
        let group = DispatchGroup()
        for attempt in 0..<attempts {
            let port = instances[attempt % instances.count].port
            group.enter()
            Thread.detachNewThread {
                do {
                    sessions.append(try PostgresConnection(conninfo: conninfo(port: port, user: "app.\(org)") + " connect_timeout=30"))
                } catch {
                    refusals.append((error as? PostgresError)?.sqlState ?? "\(error)")
                }
                group.leave()
            }
        }
        _ = group.wait(timeout: .now() + 120)
        return (sessions.items, refusals.items)
    }

    static func cluster(_ instance: Instance, _ org: String) throws -> [String: Any] {
        try AdminSocketClient(path: instance.socket).command("SHOW ORG \(org)")["cluster"] as? [String: Any] ?? [:]
    }

    /// Polls SHOW ORG until the org's cluster-wide count is `expected`.
    static func waitForClusterCount(_ instance: Instance, _ org: String, _ expected: Int, timeout: TimeInterval = 15) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try cluster(instance, org)["openSessions"] as? Int == expected { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }

    @Test func freeOrg_300AttemptsOverThreeInstances_exactlyFiveAdmitted() throws {
        let org = TestOrgs.unique("org_cl_free")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let instances = try Self.cluster()
        let (sessions, refusals) = Self.race(300, org: org, over: instances)
        #expect(sessions.count == 5)
        #expect(refusals.count == 295)
        #expect(Set(refusals) == ["53300"], "\(Set(refusals))")
        for session in sessions { #expect(try session.query("select 1").rows == [["1"]]) }
        let view = try Self.cluster(instances[0], org)
        #expect(view["openSessions"] as? Int == 5, "\(view)")
        #expect(view["mode"] as? String == "shared")
        #expect(view["instances"] as? Int ?? 0 >= 3)
        // Each instance's own share adds up to the cluster's count.
        let shares = try instances.map { try Self.cluster($0, org)["thisInstance"] as? Int ?? -1 }
        #expect(shares.reduce(0, +) == 5, "\(shares)")
        // Sessions end: every lease comes back.
        _ = sessions
    }

    @Test func leasesComeBack_whenSessionsEnd() throws {
        let org = TestOrgs.unique("org_cl_back")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let instances = try Self.cluster()
        var sessions = Self.race(20, org: org, over: instances).sessions
        #expect(sessions.count == 5)
        sessions.removeAll()
        #expect(try Self.waitForClusterCount(instances[1], org, 0, timeout: 5))
        let again = Self.race(20, org: org, over: instances)
        #expect(again.sessions.count == 5)
    }

    @Test func proOrgWithBurstAddon_getsExactlyTheBurstCeiling() throws {
        let org = TestOrgs.unique("org_cl_burst")
        try TestOrgs.put(org, tier: "PRO", burst: TestOrgs.BurstAddon())
        defer { TestOrgs.removeWithBursts(org, redisDatabase: Self.redisDatabase) }
        let tiers = try TierFile.write(#"{"PRO": {"postgres": {"maxConnections": 4, "connectRate": 100000, "connectBurst": 100000}}, "ENTERPRISE": {"postgres": {"maxConnections": 8, "connectRate": 100000, "connectBurst": 100000}}}"#)
        let instances = try Self.cluster(["--tiers", tiers])
        let (sessions, refusals) = Self.race(300, org: org, over: instances)
        #expect(sessions.count == 8)
        #expect(refusals.count == 292)
        #expect(Set(refusals) == ["53300"], "\(Set(refusals))")
    }

    @Test func killedInstance_itsSessionsStopCountingWithin15Seconds() throws {
        let org = TestOrgs.unique("org_cl_kill")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let instances = try Self.cluster()
        let victim = instances[0]
        let held = try (0..<5).map { _ in try PostgresConnection(conninfo: conninfo(port: victim.port, user: "app.\(org)")) }
        if let error = expectRefusal(conninfo(port: instances[1].port, user: "app.\(org)"), "a 6th session on another instance") {
            #expect(error.sqlState == "53300")
        }
        victim.process.signal(SIGKILL)
        _ = victim.process.waitForExit(timeout: 5)
        let killedAt = Date()
        var admitted: PostgresConnection?
        while admitted == nil, Date().timeIntervalSince(killedAt) < 20 {
            admitted = try? PostgresConnection(conninfo: conninfo(port: instances[2].port, user: "app.\(org)"))
            if admitted == nil { Thread.sleep(forTimeInterval: 0.25) }
        }
        let waited = Date().timeIntervalSince(killedAt)
        #expect(admitted != nil)
        #expect(waited < 15, "admitted \(waited) s after the kill")
        _ = held
    }

    @Test func restartedInstance_clearsItsPredecessorsLeases_atOnce() throws {
        let org = TestOrgs.unique("org_cl_restart")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let id = "restart-\(UUID().uuidString.prefix(8))"
        let first = try Self.start(instanceId: id)
        let other = try Self.start()
        let held = try (0..<5).map { _ in try PostgresConnection(conninfo: conninfo(port: first.port, user: "app.\(org)")) }
        first.process.signal(SIGKILL)
        _ = first.process.waitForExit(timeout: 5)
        let second = try Self.start(instanceId: id)
        // Well before the 10 s heartbeat lapse: the restarted instance's first beat cleared them.
        #expect(try Self.waitForClusterCount(other, org, 0, timeout: 3))
        let session = try PostgresConnection(conninfo: conninfo(port: second.port, user: "app.\(org)"))
        #expect(try session.query("select 1").rows == [["1"]])
        _ = held
    }

    @Test func redisOutage_admissionsGoOnUnderTheLocalShare_thenCountsReconcileToZero() throws {
        let org = TestOrgs.unique("org_cl_outage")
        try TestOrgs.put(org, tier: "STARTER")  // 10: a share of 3 on each of 3 instances
        defer { TestOrgs.remove(org) }
        let link = try Self.redisLink()
        defer { link.stop() }
        let instances = try Self.cluster(redis: Self.url(link))
        // Known to every instance before the outage (the tier comes from its caches then).
        for instance in instances {
            _ = try PostgresConnection(conninfo: conninfo(port: instance.port, user: "app.\(org)"))
        }
        // Instances of earlier tests lapse within the heartbeat TTL: the share is by live ones.
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, try instances.contains(where: { try Self.cluster($0, org)["instances"] as? Int != 3 }) {
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(try Self.cluster(instances[0], org)["instances"] as? Int == 3)
        link.cut()  // Redis stopped, for these instances
        var sessions: [PostgresConnection] = []
        var slowest: TimeInterval = 0
        for instance in instances {
            for _ in 0..<4 {
                let started = Date()
                if let session = try? PostgresConnection(conninfo: conninfo(port: instance.port, user: "app.\(org)")) {
                    sessions.append(session)
                }
                slowest = max(slowest, Date().timeIntervalSince(started))
            }
        }
        // Each instance admitted its share, floor(10 / 3) = 3, and refused the 4th.
        #expect(sessions.count == 9)
        #expect(slowest < 2, "slowest connect during the outage: \(slowest) s")
        let view = try Self.cluster(instances[0], org)
        #expect(view["mode"] as? String == "fallback", "\(view)")
        #expect(view["ceilingHere"] as? Int == 3, "\(view)")
        #expect(instances[0].process.log.components(separatedBy: "session leases unavailable").count == 2,
                "the switch is logged once")

        try link.restore()
        // The heartbeats write back what each instance holds: 9 sessions, cluster-wide.
        #expect(try Self.waitForClusterCount(instances[0], org, 9, timeout: 10))
        #expect(try Self.cluster(instances[0], org)["mode"] as? String == "shared")
        sessions.removeAll()
        #expect(try Self.waitForClusterCount(instances[2], org, 0, timeout: 10))
    }

    @Test func downgradeAcrossInstances_closesExactlyTheClusterWideExcess() throws {
        let org = TestOrgs.unique("org_cl_down")
        try TestOrgs.put(org, tier: "STARTER")
        defer { TestOrgs.remove(org) }
        let instances = try Self.cluster(["--downgrade-grace", "2", "--local-cache-ttl", "600"])
        for instance in instances { try AdminProxy.waitFor("subscribed to tier invalidations", in: instance.process) }
        // 3 on each: 9 of STARTER's 10, none over FREE's 5 on its own instance.
        let sessions = try instances.flatMap { instance in
            try (0..<3).map { _ in try PostgresConnection(conninfo: conninfo(port: instance.port, user: "app.\(org)")) }
        }
        try TestOrgs.put(org, tier: "FREE", updatedAt: Date().addingTimeInterval(1))
        #expect(try AdminSocketClient(path: instances[0].socket).command("INVALIDATE \(org)")["ok"] as? Bool == true)
        // The announcement reaches the other instances asynchronously (pub/sub).
        #expect(try eventually(timeout: 5) {
            try AdminSocketClient(path: instances[2].socket).command("SHOW ORG \(org)")["tier"] as? String == "FREE"
        })
        if let error = expectRefusal(conninfo(port: instances[2].port, user: "app.\(org)"), "a session over FREE's shared ceiling") {
            #expect(error.sqlState == "53300")
        }
        // After the grace, the instances together close 9 - 5 = 4, claimed atomically.
        #expect(try Self.waitForClusterCount(instances[1], org, 5, timeout: 10))
        Thread.sleep(forTimeInterval: 0.5)
        let alive = sessions.filter { (try? $0.query("select 1")) != nil }.count
        #expect(alive == 5)
    }

    /// Redis answers one instance, late: its replies are held 250 ms, five times the lease
    /// wait. The org is at its ceiling through another instance, so the late instance's share
    /// grants a session provisionally (Redis is quiet), and Redis' refusal, when it comes,
    /// ends it: the ceiling holds. (A starved instance once admitted from its share here,
    /// taking its own slowness for Redis' silence, and the org got 13 of 8.)
    @Test func redisLateForOneInstance_itsShareGrantIsRevoked_theCeilingHolds() throws {
        let org = TestOrgs.unique("org_cl_late")
        // A database of its own, so the org's backends can be counted; postgres is trusted on
        // loopback, so a raw client can log in without SCRAM.
        let database = try OrgDatabase()
        try TestOrgs.put(org, tier: "FREE", database: database.name, burst: nil, roles: ["app", "postgres"],
                         otherDatabases: ["tiergate_test"])
        defer { TestOrgs.remove(org) }
        let link = try Self.redisLink()
        defer { link.stop() }
        let prompt = try Self.start(["--local-cache-ttl", "600"])
        let late = try Self.start(behind: link, knowing: org)
        #expect(try Self.waitForClusterCount(prompt, org, 0, timeout: 5))
        var full = try (0..<5).map { _ in
            try PostgresConnection(conninfo: conninfo(port: prompt.port, user: "app.\(org)", database: database.name))
        }
        link.delayReplies(.milliseconds(250))
        // Refused at login or ended when Redis' verdict comes: either way with a 53300 FATAL,
        // and the proxy closes the connection (within the 10 s receive timeout).
        let over = try RawConnection(port: late.port)
        over.send(StartupMessage(parameters: [("user", "postgres.\(org)"), ("database", database.name)]).encoded())
        let received = over.readToEnd()
        #expect(ReceivedMessages.errors(received).map { $0.sqlState?.rawValue } == ["53300"], "\(ReceivedMessages.errors(received))")
        link.delayReplies(.zero)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(full.filter { (try? $0.query("select 1")) != nil }.count == 5)
        #expect(try Self.waitForClusterCount(prompt, org, 5, timeout: 5))
        let cluster = try AdminSocketClient(path: late.socket).command("SHOW STATS")["cluster"] as? [String: Any] ?? [:]
        #expect(cluster["revocations"] as? Int == 1, "\(cluster)")
        #expect(cluster["fallbackDecisions"] as? Int ?? 0 >= 1, "\(cluster)")
        // Nothing of the revoked session stays taken: its backend is gone, and once the
        // others end the org's count and backends are back to zero.
        #expect(try eventually(timeout: 5) { try database.backends().count == 5 }, "\((try? database.backends()) ?? [])")
        full.removeAll()
        #expect(try Self.waitForClusterCount(late, org, 0, timeout: 5))
        #expect(try eventually(timeout: 5) { try database.backends().isEmpty }, "\((try? database.backends()) ?? [])")
    }

    /// The same over a race: 300 attempts over three instances, one of which hears Redis
    /// 150 ms late; exactly 5 sessions live on.
    @Test func freeOrgRace_withOneInstanceHearingRedisLate_exactlyFiveLiveOn() throws {
        let org = TestOrgs.unique("org_cl_race_late")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let link = try Self.redisLink()
        defer { link.stop() }
        let instances = [try Self.start(["--local-cache-ttl", "600"]), try Self.start(["--local-cache-ttl", "600"]),
                         try Self.start(behind: link, knowing: org)]
        #expect(try Self.waitForClusterCount(instances[0], org, 0, timeout: 5))
        link.delayReplies(.milliseconds(150))
        let (sessions, refusals) = Self.race(300, org: org, over: instances)
        #expect(Set(refusals) == ["53300"], "\(Set(refusals))")
        link.delayReplies(.zero)
        Thread.sleep(forTimeInterval: 1)
        #expect(sessions.filter { (try? $0.query("select 1")) != nil }.count == 5)
        #expect(try Self.waitForClusterCount(instances[0], org, 5, timeout: 5))
    }

    /// Frozen Redis, org at its ceiling across two instances: on the frozen one (2 of the 5
    /// sessions, at least its share of 5 between two or more live instances) a connection
    /// the share refuses waits for Redis a little (4 × the lease wait), then gets its 53300;
    /// it never waits out Redis' 1 s command timeout.
    @Test func redisFrozen_aConnectionOverTheShare_isRefusedPromptly() throws {
        let org = TestOrgs.unique("org_cl_frozen_full")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let link = try Self.redisLink()
        defer { link.stop() }
        let other = try Self.start()
        let instance = try Self.start(behind: link, knowing: org)
        let full = try (0..<3).map { _ in try PostgresConnection(conninfo: conninfo(port: other.port, user: "app.\(org)")) }
            + (0..<2).map { _ in try PostgresConnection(conninfo: conninfo(port: instance.port, user: "app.\(org)")) }
        link.freeze()
        defer { link.thaw() }
        let started = Date()
        if let error = expectRefusal(conninfo(port: instance.port, user: "app.\(org)"), "a 6th FREE session with Redis frozen") {
            #expect(error.sqlState == "53300")
        }
        let waited = Date().timeIntervalSince(started)
        #expect(waited < 0.8, "refused after \(waited) s")
        _ = full
    }

    /// A Redis that accepts and never answers (frozen, as SIGSTOP leaves it): admissions wait
    /// for it no longer than the lease wait (50 ms), then the local share decides.
    @Test func redisFrozen_admissionsWaitAtMostTheLeaseWait_thenTheShareDecides() throws {
        let org = TestOrgs.unique("org_cl_frozen")
        try TestOrgs.put(org, tier: "ENTERPRISE")
        defer { TestOrgs.remove(org) }
        let link = try Self.redisLink()
        defer { link.stop() }
        let instance = try Self.start(behind: link, knowing: org)
        link.freeze()
        var thawed = false
        defer { if !thawed { link.thaw() } }
        var sessions: [PostgresConnection] = []
        var slowest: TimeInterval = 0
        for _ in 0..<6 {
            let started = Date()
            sessions.append(try PostgresConnection(conninfo: conninfo(port: instance.port, user: "app.\(org)")))
            slowest = max(slowest, Date().timeIntervalSince(started))
        }
        // A login through this debug build takes tens of ms; waiting out Redis' 1 s command
        // timeout would show here.
        #expect(slowest < 0.6, "slowest connect with Redis frozen: \(slowest) s")
        #expect(try eventually(timeout: 5) { try Self.cluster(instance, org)["mode"] as? String == "fallback" })
        link.thaw()
        thawed = true
        #expect(try eventually(timeout: 10) { try Self.cluster(instance, org)["mode"] as? String == "shared" })
        #expect(try Self.waitForClusterCount(instance, org, sessions.count, timeout: 5))
    }
}
