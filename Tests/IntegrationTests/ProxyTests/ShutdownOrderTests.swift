import Foundation
import PostgresClient
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM with every part running (metrics, Redis, the wait queue, PgBouncer upkeep, the
/// admin socket): the proxy stops accepting, the open session finishes, then each part
/// stops in order, each logged once, and the process exits 0 with nothing left listening.
@Suite(.serialized)
struct ShutdownOrderTests {
    static let steps = [
        "sessions-drained", "metrics-server", "invalidation-subscriber", "policy-timers", "wait-queue",
        "session-leases", "cancel-keys", "pgbouncer-regenerator", "admin-socket",
    ]

    @Test func sigterm_drainsThenStopsEveryPartInOrder_eachLoggedOnce_andExitsZero() throws {
        let org = TestOrgs.unique("org_shutdown")
        try TestOrgs.put(org, tier: "PRO")
        defer { TestOrgs.remove(org) }
        let socket = AdminProxy.socketPath()
        let metricsPort = try FreePort.pick()
        let instanceId = "shutdown-\(UUID().uuidString.prefix(8))"
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tg-shutdown-\(UUID().uuidString).ini")
        defer { try? FileManager.default.removeItem(at: output) }
        let proxy = try TierGateProcess(arguments: [
            "--upstream", "127.0.0.1:\(Stack.postgresPort)", "--mongo", Stack.mongoURL, "--redis", Stack.redisURL,
            "--admin-socket", socket, "--metrics", "127.0.0.1:\(metricsPort)", "--queue",
            "--pgbouncer-output", output.path, "--instance-id", instanceId, "--drain-timeout", "20"])
        #expect(try Self.liveInstances().contains(instanceId))
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))

        proxy.signal(SIGTERM)
        Thread.sleep(forTimeInterval: 0.5)
        // Draining: no new client, but the session works and everything behind it still runs.
        #expect(throws: (any Error).self) { try RawConnection.connect(port: proxy.port) }
        #expect(try session.query("select 'draining'").rows == [["draining"]])
        #expect(try Self.accepts(port: metricsPort), "metrics stopped before the drain ended")
        #expect(try AdminSocketClient(path: socket).command("SHOW STATS")["ok"] as? Bool == true)
        #expect(!proxy.log.contains("shutdown step"), "\(proxy.log)")

        _ = consume session
        #expect(proxy.waitForExit(timeout: 20) == 0, "\(proxy.log)")

        let logged = proxy.log.split(separator: "\n").filter { $0.contains("shutdown step") }
        let order = logged.compactMap { line in Self.steps.first { line.contains("step=\($0)") } }
        #expect(order == Self.steps, "\(logged.joined(separator: "\n"))")
        #expect(logged.count == Self.steps.count)
        let stopped = proxy.log.range(of: "] stopped")
        #expect(stopped != nil && stopped!.lowerBound > proxy.log.range(of: "step=admin-socket")!.lowerBound)

        // Nothing is left listening, and this instance left the live list.
        #expect(throws: (any Error).self) { try RawConnection.connect(port: proxy.port) }
        #expect(throws: (any Error).self) { try RawConnection.connect(port: metricsPort) }
        #expect(!FileManager.default.fileExists(atPath: socket))
        #expect(try !Self.liveInstances().contains(instanceId))
    }

    static func accepts(port: Int) throws -> Bool {
        let fd = try RawConnection.connect(port: port)
        close(fd)
        return true
    }

    /// The instances the shared session counts treat as alive (`tiergate:instances`).
    static func liveInstances() throws -> [String] {
        let result = try Command.run("redis-cli", ["-h", Stack.host, "-p", "\(Stack.redisPort)",
                                                   "zrange", "tiergate:instances", "0", "-1"])
        guard result.status == 0 else { throw TestFailure("redis-cli: \(result.stderr)") }
        return result.stdout.split(separator: "\n").map(String.init)
    }
}
