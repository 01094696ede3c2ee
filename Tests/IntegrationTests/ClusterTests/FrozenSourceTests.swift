import Foundation
import PostgresClient
import PostgresWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A MongoDB that accepts connections and never answers (frozen as by SIGSTOP, through a
/// `FaultyLink` so other suites keep theirs): every wait on it is
/// bounded and answered as an outage is, while orgs the proxy knows keep being served.
@Suite(.serialized)
struct FrozenSourceTests {
    @Test func sixtyUnseenOrgs_get57P03WithinTheBound_whileAKnownOrgIsServed() throws {
        let known = TestOrgs.unique("org_known")
        try TestOrgs.put(known, tier: "FREE")
        defer { TestOrgs.remove(known) }
        let link = try FaultyLink(toPort: Stack.mongoPort)
        defer { link.stop() }
        let proxy = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)",
                                                    "--mongo", link.url(scheme: "mongodb"), "--redis", Stack.redisURL])
        _ = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(known)"))
        link.freeze()  // MongoDB accepts and never answers, for this proxy
        defer { link.thaw() }

        let outcomes = LockedList<(sqlState: String, seconds: Double)>()
        let group = DispatchGroup()
        for index in 0..<60 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let org = "org_unseen_\(index)_\(UUID().uuidString.prefix(6).lowercased())"
                guard let connection = try? RawConnection(port: proxy.port, receiveTimeout: 30) else {
                    return outcomes.append(("connect failed", 0))
                }
                let started = Date()
                connection.send(StartupMessage(parameters: [("user", "app.\(org)"), ("database", "tiergate_test")]).encoded())
                let replies = connection.readToEnd()
                let seconds = Date().timeIntervalSince(started)
                outcomes.append((ReceivedMessages.errors(replies).first?[.sqlState] ?? "none", seconds))
            }
        }
        // Meanwhile a known org connects, answered from the caches.
        Thread.sleep(forTimeInterval: 0.3)
        let knownStarted = Date()
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(known)"))
        let knownSeconds = Date().timeIntervalSince(knownStarted)
        #expect(try session.query("select 1").rows == [["1"]])
        #expect(knownSeconds < 1.5, "a known org waited \(knownSeconds) s")

        #expect(group.wait(timeout: .now() + 40) == .success)
        let results = outcomes.items
        #expect(results.count == 60)
        #expect(results.allSatisfy { $0.sqlState == "57P03" }, "\(Dictionary(grouping: results, by: \.sqlState).mapValues(\.count))")
        let slowest = results.map(\.seconds).max() ?? 0
        // The bound is 2 s from the lookup's start; the rest is this loaded machine.
        #expect(slowest < 2.6, "slowest 57P03 after \(slowest) s")
    }
}
