import Foundation
import PostgresClient
import PostgresWire
import Testing
import TierModel

/// Overload control: the per-org connect rate (shared through Redis, local without it),
/// tier priority when the upstream fills, and the wait queue (`--queue`) with its metrics.
@Suite(.serialized)
struct OverloadControlTests {
    static func proxy(_ extra: [String], redis: Bool = true) throws -> TierGateProcess {
        try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)", "--mongo", Stack.mongoURL]
                            + (redis ? ["--redis", Stack.redisURL] : []) + extra)
    }

    static func startup(_ org: String) -> [UInt8] {
        StartupMessage(parameters: [("user", "app.\(org)"), ("database", "tiergate_test")]).encoded()
    }

    /// The first message the proxy answers a startup packet with: an ErrorResponse, or
    /// (nil) anything else (Postgres' authentication request: the connection was admitted).
    static func firstReply(_ connection: RawConnection) -> ErrorResponse? {
        let header = connection.readExactly(5)
        guard header.count == 5 else { return ErrorResponse(fields: [(ErrorResponse.Field.sqlState.rawValue, "?"), (ErrorResponse.Field.message.rawValue, "no reply")]) }
        let length = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
        let payload = connection.readExactly(length - 4)
        return header[0] == UInt8(ascii: "E") ? ReceivedMessages.errors(header + payload).first : nil
    }

    // MARK: Connect rate

    /// FREE: 10 at once, then 5 per second, counted across two instances sharing Redis. Eleven
    /// startups sent together (six to one instance, five to the other) get exactly one
    /// refusal for the rate; a moment later a connection is admitted again.
    @Test func free_eleventhConnectInASecond_isRefusedAcrossInstances_andAdmittedAgainAfter() throws {
        let org = TestOrgs.unique("org_rate")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let (a, b) = (try Self.proxy([]), try Self.proxy([]))
        // Both instances know the org before the burst, so lookups do not spread it out.
        _ = try PostgresConnection(conninfo: conninfo(port: a.port, user: "app.\(org)"))
        _ = try PostgresConnection(conninfo: conninfo(port: b.port, user: "app.\(org)"))
        Thread.sleep(forTimeInterval: 2.1)  // the bucket is full again: 10 tokens
        let sockets = try (0..<11).map { i in try RawConnection(port: i % 2 == 0 ? a.port : b.port) }
        for socket in sockets { socket.send(Self.startup(org)) }
        let replies = sockets.map(Self.firstReply)
        let overRate = replies.compactMap { $0 }.filter { $0[.detail]?.contains("connection_rate_exceeded") == true }
        #expect(overRate.count == 1, "\(replies.map { $0?.message ?? "admitted" })")
        if let refusal = overRate.first {
            #expect(refusal[.sqlState] == "53300")
            #expect(refusal.message == "connection rate exceeded for org \"\(org)\": more than 10 at once or 5 per second (tier FREE)")
            #expect(refusal[.detail]?.hasPrefix(#"{"error":"connection_rate_exceeded","tier":"FREE","rate":5,"burst":10,"retryAfterMs":"#) == true,
                    "\(refusal[.detail] ?? "")")
            #expect(refusal[.hint] == "Upgrade to STARTER for 10 connections per second")
        }
        for socket in sockets { socket.reset() }
        Thread.sleep(forTimeInterval: 0.4)  // two tokens back
        let again = try PostgresConnection(conninfo: conninfo(port: b.port, user: "app.\(org)"))
        #expect(try again.query("select 1").rows == [["1"]])
        #expect(a.log.contains("refused: connect rate") || b.log.contains("refused: connect rate"))
    }

    /// A storm: 150 startups at once over three instances, for an org whose bucket holds 10
    /// and barely refills. Each instance's requests queue behind each other's round trips,
    /// which must not pass for Redis' silence: exactly 10 get past the rate (the rest are
    /// refused for it), however long the storm keeps the instances busy.
    @Test func connectStorm_overThreeInstances_takesExactlyTheSharedBurst() throws {
        let org = TestOrgs.unique("org_ratestorm")
        try TestOrgs.put(org, tier: "ENTERPRISE")
        defer { TestOrgs.remove(org) }
        let tiers = try TierFile.write(#"{"ENTERPRISE": {"postgres": {"connectRate": 0.01, "connectBurst": 12}}}"#)
        let proxies = try (0..<3).map { _ in try Self.proxy(["--tiers", tiers, "--local-cache-ttl", "600"]) }
        // Each instance knows the org (and has spent one token) before the storm.
        for proxy in proxies { _ = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        let sockets = try (0..<150).map { i in try RawConnection(port: proxies[i % 3].port) }
        for socket in sockets { socket.send(Self.startup(org)) }
        let replies = sockets.map(Self.firstReply)
        let overRate = replies.compactMap { $0 }.filter { $0[.detail]?.contains("connection_rate_exceeded") == true }
        #expect(overRate.count == 141, "\(replies.map { $0?.message ?? "admitted" })")
        for socket in sockets { socket.reset() }
    }

    /// Without Redis, or with Redis unreachable, each instance keeps its own buckets: the
    /// limit still holds, and connections never wait for the dead Redis.
    @Test(arguments: ["none", "unreachable"])
    func connectRate_withoutRedis_isLocal(redis: String) throws {
        let org = TestOrgs.unique("org_ratelocal")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        // One token per two seconds after the burst of 10, so eleven logins in a row (well
        // under two seconds even on a loaded machine) meet the limit.
        let tiers = try TierFile.write(#"{"FREE": {"postgres": {"connectRate": 0.5}}}"#)
        let deadRedis = "redis://127.0.0.1:\(try FreePort.pick())"
        let proxy = try Self.proxy(["--tiers", tiers] + (redis == "none" ? [] : ["--redis", deadRedis]), redis: false)
        let started = Date()
        for _ in 0..<10 {
            let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
            _ = session
        }
        let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "11th connect")
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 2, "eleven logins took \(elapsed) s: the 11th may have found a new token")
        #expect(error?.sqlState == "53300")
        #expect(error?.message == "connection rate exceeded for org \"\(org)\": more than 10 at once or 0.5 per second (tier FREE)")
        Thread.sleep(forTimeInterval: 2.1)
        let again = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        #expect(try again.query("select 1").rows == [["1"]])
    }

    /// A Redis that accepts connections and never answers: a connection waits for it at most
    /// the limiter's 50 ms, not the Redis timeout (250 ms), then this instance's own bucket
    /// decides, so the limit still holds.
    @Test func connectRate_withAHangingRedis_fallsBackAfterABoundedWait() throws {
        let org = TestOrgs.unique("org_ratehang")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let hole = try BlackHoleListener()
        // One token per five seconds after the burst of 10.
        let tiers = try TierFile.write(#"{"FREE": {"postgres": {"connectRate": 0.2}}}"#)
        let proxy = try Self.proxy(["--tiers", tiers, "--redis", "redis://127.0.0.1:\(hole.port)"], redis: false)
        // The first login also waits for the tier cache's Redis timeout, once; the tier stays
        // in process after it.
        _ = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        // After a failed call the limiter tries Redis again a second later: each of these
        // logins finds a fresh connection to the hung Redis and a script that never returns.
        var logins: [TimeInterval] = []
        for _ in 0..<2 {
            Thread.sleep(forTimeInterval: 1.2)
            let started = Date()
            _ = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
            logins.append(Date().timeIntervalSince(started))
        }
        #expect((logins.min() ?? 1) < 0.2, "logins took \(logins) s: they waited for the hung Redis")
        for _ in 0..<7 { _ = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "11th connect")
        #expect(error?.message.hasPrefix("connection rate exceeded") == true, "\(String(describing: error))")
    }

    // MARK: Upstream capacity

    /// An upstream of 4 sessions: FREE (reserve 30%) may hold 2 of them, ENTERPRISE all 4.
    @Test func smallUpstream_freeIsRefusedAtCapacity_whileEnterpriseIsAdmitted() throws {
        let free = TestOrgs.unique("org_capfree")
        let top = TestOrgs.unique("org_captop")
        try TestOrgs.put(free, tier: "FREE")
        try TestOrgs.put(top, tier: "ENTERPRISE")
        defer { TestOrgs.remove(free); TestOrgs.remove(top) }
        let proxy = try Self.proxy(["--upstream-max-connections", "4"])
        var frees = try (0..<2).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(free)")) }
        let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(free)"), "a 3rd FREE session on a 4-session upstream")
        #expect(error?.sqlState == "53300")
        #expect(error?.message == "the database server is at capacity: no connection is free for this tier")
        #expect(error?.detail == #"{"error":"server_at_capacity","tier":"FREE","inUse":2,"tierLimit":2,"capacity":4,"suggestion":"Retry shortly, or upgrade to STARTER for priority when the server is busy"}"#)
        #expect(error?.message.contains("connection limit") == false)
        // ENTERPRISE takes the last two.
        let tops = try (0..<2).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(top)")) }
        #expect(try tops[1].query("select 1").rows == [["1"]])
        let full = expectRefusal(conninfo(port: proxy.port, user: "app.\(top)"), "a 5th session on a 4-session upstream")
        #expect(full?.detail?.contains(#""tier":"ENTERPRISE","inUse":4,"tierLimit":4"#) == true, "\(full?.detail ?? "")")
        // A FREE session leaving makes room for ENTERPRISE, not for FREE (still 3 in use).
        frees.removeLast()
        Thread.sleep(forTimeInterval: 0.3)
        _ = expectRefusal(conninfo(port: proxy.port, user: "app.\(free)"), "FREE with 3 of 4 in use")
        let last = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(top)"))
        _ = (frees, last)
    }

    /// Without --upstream-max-connections, the capacity is learned through
    /// --upstream-check-conninfo: max_connections less the superuser reserve.
    @Test func capacity_isLearnedFromTheUpstream() throws {
        let admin = try PostgresConnection(conninfo: Stack.adminConninfo)
        let row = try admin.query("select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int").rows
        let expected = try #require(row.first?.first ?? nil)
        let proxy = try Self.proxy(["--upstream-check-conninfo", "user=postgres dbname=postgres"])
        let deadline = Date().addingTimeInterval(10)
        while !proxy.log.contains("upstream capacity learned") && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let line = proxy.log.split(separator: "\n").first { $0.contains("upstream capacity learned") } ?? ""
        #expect(line.contains("sessions=\(expected)"), "\(line)")
    }

    /// An org routed to a Postgres of its own (here the same server by another name) has
    /// that upstream's capacity learned when its first session goes there.
    @Test func capacity_ofAnOrgsOwnUpstream_isLearnedAtItsFirstSession() throws {
        let org = TestOrgs.unique("org_ownpg")
        try TestOrgs.collection.replaceOrganization(orgId: org, json: """
            {"orgId":"\(org)","tier":"PRO","postgres":{"host":"127.0.0.1","port":\(Stack.postgresPort),
             "databases":["tiergate_test"],"roles":["app"]}}
            """, upsert: true)
        defer { TestOrgs.remove(org) }
        let admin = try PostgresConnection(conninfo: Stack.adminConninfo)
        let row = try admin.query("select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int").rows
        let expected = try #require(row.first?.first ?? nil)
        // The default upstream is the same server under another name: a different upstream.
        let proxy = try TierGateProcess(arguments: [
            "--upstream", "localhost:\(Stack.postgresPort)", "--mongo", Stack.mongoURL,
            "--upstream-check-conninfo", "user=postgres dbname=postgres"])
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        #expect(try session.query("select 1").rows == [["1"]])
        let deadline = Date().addingTimeInterval(10)
        func learned() -> String? {
            proxy.log.split(separator: "\n").first {
                $0.contains("upstream capacity learned") && $0.contains("upstream=127.0.0.1:\(Stack.postgresPort)")
            }.map(String.init)
        }
        while learned() == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(learned()?.contains("sessions=\(expected)") == true, "\(proxy.log)")
    }

    // MARK: Wait queue

    @Test func queued6thFreeConnection_getsInWhenOneOfFiveLeaves_andQueueMetricsMove() throws {
        let org = TestOrgs.unique("org_queue")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let metricsPort = try FreePort.pick()
        let url = "http://127.0.0.1:\(metricsPort)/metrics"
        let proxy = try Self.proxy(["--queue", "--metrics", "127.0.0.1:\(metricsPort)"])
        var five = try (0..<5).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        let sixth = LockedList<Result<PostgresConnection, PostgresError>>()
        let started = Date()
        Thread.detachNewThread {
            do throws(PostgresError) {
                sixth.append(.success(try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))))
            } catch {
                sixth.append(.failure(error))
            }
        }
        Thread.sleep(forTimeInterval: 1)
        #expect(sixth.items.isEmpty, "the 6th did not wait")
        let waiting = try MetricsEndpointTests.scrape(url)
        #expect(waiting[#"tiergate_connection_queue_length{tier="FREE"}"#] == 1)
        five.removeFirst()  // one of the five leaves
        let deadline = Date().addingTimeInterval(3)
        while sixth.items.isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let waited = Date().timeIntervalSince(started)
        guard case .success(let session)? = sixth.items.first else {
            Issue.record("the queued 6th connection did not get in: \(sixth.items)")
            return
        }
        #expect(try session.query("select 1").rows == [["1"]])
        #expect(waited < 4, "\(waited)")
        let served = try MetricsEndpointTests.scrape(url)
        #expect(served[#"tiergate_connection_queue_length{tier="FREE"}"#] == 0)
        #expect(served[#"tiergate_connection_wait_seconds_count{tier="FREE"}"#] == 1)
        let total = served[#"tiergate_connection_wait_seconds_sum{tier="FREE"}"#] ?? 0
        #expect(total > 0.9 && total < 4, "\(total)")
        #expect(served[#"tiergate_connections_admitted_total{tier="FREE"}"#] == 6)
        _ = five
    }

    @Test func queued6thFreeConnection_timesOutWith53300_atTheTiersConnectionTimeout() throws {
        let org = TestOrgs.unique("org_queuewait")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy(["--queue"])
        let five = try (0..<5).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        let started = Date()
        let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "a 6th FREE connection while none leaves")
        let waited = Date().timeIntervalSince(started)
        #expect(error?.sqlState == "53300")
        #expect(error?.message == "connection limit exceeded for org \"\(org)\": 5 of 5 (tier FREE)")
        #expect(error?.hint == "Upgrade to STARTER for 10 connections")
        // FREE's connection timeout is 5 s.
        #expect(waited > 4.8 && waited < 7, "\(waited)")
        _ = five
    }

    /// Waiters are served by tier priority, not arrival: with no reserve for any tier (so
    /// only the queue's order decides), a FREE connection queued first and an ENTERPRISE one
    /// queued after it both wait for a full upstream; the one slot that frees goes to
    /// ENTERPRISE, and FREE gets the next.
    @Test func queuedWaiters_areServedByTierPriority() throws {
        let free = TestOrgs.unique("org_prifree")
        let top = TestOrgs.unique("org_pritop")
        try TestOrgs.put(free, tier: "FREE")
        try TestOrgs.put(top, tier: "ENTERPRISE")
        defer { TestOrgs.remove(free); TestOrgs.remove(top) }
        let tiers = try TierFile.write(#"{"FREE": {"postgres": {"capacityReserve": 0}}, "STARTER": {"postgres": {"capacityReserve": 0}}, "PRO": {"postgres": {"capacityReserve": 0}}}"#)
        let proxy = try Self.proxy(["--queue", "--upstream-max-connections", "2", "--tiers", tiers])
        var held = try (0..<2).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(top)")) }
        let order = LockedList<String>()
        func connect(_ org: String, as name: String) -> LockedList<PostgresConnection> {
            let sessions = LockedList<PostgresConnection>()
            Thread.detachNewThread {
                if let session = try? PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) {
                    sessions.append(session)
                    order.append(name)
                }
            }
            return sessions
        }
        let freeWaiter = connect(free, as: "FREE")
        Thread.sleep(forTimeInterval: 0.5)
        let topWaiter = connect(top, as: "ENTERPRISE")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(order.items.isEmpty, "\(order.items): nobody should be in yet")
        held.removeFirst()  // one slot
        Thread.sleep(forTimeInterval: 1)
        #expect(order.items == ["ENTERPRISE"], "\(order.items)")
        held.removeFirst()  // the next
        Thread.sleep(forTimeInterval: 1)
        #expect(order.items == ["ENTERPRISE", "FREE"], "\(order.items)")
        _ = (held, freeWaiter.items, topWaiter.items)
    }

    /// An upgrade while a connection waits raises the ceiling it waits under: it gets in
    /// without any session leaving.
    @Test func queuedConnection_getsInWhenTheOrgIsUpgraded() throws {
        let org = TestOrgs.unique("org_queueup")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let (proxy, socket) = try AdminProxy.start(extra: ["--queue"])
        let admin = try AdminSocketClient(path: socket)
        let five = try (0..<5).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        let sixth = LockedList<PostgresConnection>()
        Thread.detachNewThread {
            if let session = try? PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) {
                sixth.append(session)
            }
        }
        Thread.sleep(forTimeInterval: 0.7)
        #expect(sixth.items.isEmpty, "the 6th did not wait")
        try TestOrgs.put(org, tier: "STARTER")
        _ = try admin.command("INVALIDATE \(org)")
        let deadline = Date().addingTimeInterval(3)
        while sixth.items.isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(sixth.items.count == 1, "the queued connection did not get in after the upgrade")
        _ = five
    }

    /// A client that gives up while queued leaves nothing: the line is empty at once, and
    /// the slot that frees later goes to the next connection, not to the departed one.
    @Test func clientLeavingTheQueue_costsNothing() throws {
        let org = TestOrgs.unique("org_queueleave")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let metricsPort = try FreePort.pick()
        let url = "http://127.0.0.1:\(metricsPort)/metrics"
        let proxy = try Self.proxy(["--queue", "--metrics", "127.0.0.1:\(metricsPort)"])
        var five = try (0..<5).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        let leaver = try RawConnection(port: proxy.port)
        leaver.send(Self.startup(org))
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try MetricsEndpointTests.scrape(url)[#"tiergate_connection_queue_length{tier="FREE"}"#] == 1)
        leaver.reset()
        // The proxy sees the reset on its loop and takes the waiter out; on a busy machine
        // that may take a moment.
        #expect(try eventually(timeout: 5) {
            try MetricsEndpointTests.scrape(url)[#"tiergate_connection_queue_length{tier="FREE"}"#] == 0
        })
        let after = try MetricsEndpointTests.scrape(url)
        #expect(after[#"tiergate_connection_queue_length{tier="FREE"}"#] == 0)
        #expect(after[#"tiergate_connection_wait_seconds_count{tier="FREE"}"#] == 1)
        #expect(after[#"tiergate_open_sessions{tier="FREE"}"#] == 5)
        five.removeFirst()
        Thread.sleep(forTimeInterval: 0.3)
        // The freed slot is there for a new connection (no one took it for the departed client)...
        let next = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        #expect(try next.query("select 1").rows == [["1"]])
        // ...and the org is at five again: the departed client holds nothing.
        let settled = try MetricsEndpointTests.scrape(url)
        #expect(settled[#"tiergate_open_sessions{tier="FREE"}"#] == 5)
        _ = five
    }
}

/// A TCP port that accepts connections (the kernel completes them into the backlog) and
/// never answers: a hung server.
final class BlackHoleListener {
    let fd: Int32
    let port: Int

    init() throws {
        let (fd, port) = try FreePort.bindLoopback()
        guard listen(fd, 128) == 0 else {
            close(fd)
            throw TestFailure("cannot listen")
        }
        self.fd = fd
        self.port = port
    }

    deinit { close(fd) }
}
