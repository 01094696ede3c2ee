import Foundation
import Testing

/// A serving TierGate keeps PgBouncer's per-org file in step with
/// tiers — at start, on the admin PGBOUNCER command, and after a tier change made through
/// its admin socket.
@Suite(.serialized)
struct PgBouncerUpkeepTests {
    static func entry(for org: String, in path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("\(org) =") }.map(String.init)
    }

    @Test func tierChangeThroughAdminSocket_resizesTheOrgsPoolEntry() throws {
        let org = TestOrgs.unique("org_pool")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("databases-\(UUID().uuidString).ini").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let (proxy, socket) = try AdminProxy.start(extra: ["--pgbouncer-output", output])
        defer { try? FileManager.default.removeItem(atPath: socket) }

        // Written at start.
        #expect(eventually { Self.entry(for: org, in: output)?.contains("pool_size=5") == true },
                "\(Self.entry(for: org, in: output) ?? "no entry")\n\(proxy.log)")

        // Billing upgrades the org, then tells this instance.
        try TestOrgs.put(org, tier: "PRO")
        let admin = try AdminSocketClient(path: socket)
        #expect(try admin.command("INVALIDATE \(org)")["ok"] as? Bool == true)
        #expect(eventually { Self.entry(for: org, in: output)?.contains("pool_size=50") == true },
                "\(Self.entry(for: org, in: output) ?? "no entry")")
        #expect(Self.entry(for: org, in: output)?.contains("max_db_connections=50") == true)

        // PGBOUNCER regenerates at once and reports what it wrote.
        let reply = try admin.command("PGBOUNCER")
        #expect(reply["ok"] as? Bool == true, "\(reply)")
        #expect((reply["pgbouncer"] as? String)?.contains(output) == true, "\(reply)")
    }

    @Test func withoutPgBouncerOutput_pgbouncerCommandSaysNotConfigured() throws {
        let (proxy, socket) = try AdminProxy.start()
        defer { try? FileManager.default.removeItem(atPath: socket) }
        let reply = try AdminSocketClient(path: socket).command("PGBOUNCER")
        #expect(proxy.process.isRunning)
        #expect(reply["ok"] as? Bool == false)
        #expect((reply["error"] as? String)?.contains("not configured") == true)
    }
}
