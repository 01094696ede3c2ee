import Foundation
import PostgresClient
import PostgresWire
import Testing

/// Bounded memory under a big COPY, and graceful shutdown.
@Suite(.serialized)
struct LifecycleTests {
    @Test func copy200MB_bothWays_keepsChecksumAndBoundedMemory() throws {
        let proxy = try TierGateProcess()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tiergate-copy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("in.txt")
        try CopyData.write(megabytes: 200, to: source)

        _ = try Command.psql(port: Stack.postgresPort,
                             "drop table if exists copy_roundtrip; create table copy_roundtrip(id int, payload text)")
        let baseline = proxy.residentKB
        let sampler = RSSSampler(proxy)
        let copyIn = try Command.run("psql", ["-X", "-q", "-h", "127.0.0.1", "-p", "\(proxy.port)", "-U", "app",
                                              "-d", "tiergate_test", "-c", "copy copy_roundtrip from stdin"],
                                     environment: ["PGPASSWORD": "app_pw"], stdin: source)
        #expect(copyIn.status == 0, "\(copyIn.stderr)")
        let out = dir.appendingPathComponent("out.txt")
        let copyOut = try Command.run("psql", ["-X", "-q", "-h", "127.0.0.1", "-p", "\(proxy.port)", "-U", "app",
                                               "-d", "tiergate_test", "-c", "copy copy_roundtrip to stdout"],
                                      environment: ["PGPASSWORD": "app_pw"], stdout: out)
        #expect(copyOut.status == 0, "\(copyOut.stderr)")
        let peak = sampler.stop()

        #expect(try CopyData.sha256(source) == CopyData.sha256(out))
        let growthKB = peak - baseline
        print("COPY 200 MB through tiergate: RSS baseline \(baseline) kB, peak \(peak) kB, growth \(growthKB) kB")
        #expect(growthKB < 16 * 1024, "proxy RSS grew by \(growthKB) kB")
        _ = try Command.psql(port: Stack.postgresPort, "drop table copy_roundtrip")
    }

    /// Backpressure: the proxy holds at most a read's worth of a result the client does not
    /// read, and stops reading Postgres until the client takes it; Postgres then waits in
    /// ClientWrite. Killing the client (a reset: it had unread data) ends the session.
    @Test func clientReadingNothingOf200MBResult_keepsMemoryFlat_andItsResetEndsTheSession() throws {
        let gated = try GatedOrgProxy(tier: "PRO")
        let baseline = try gated.baseline()
        let client = try RawConnection(port: gated.port)
        // Trusted on loopback: a raw client logs in without a SCRAM exchange.
        client.send(gated.startup(role: "postgres"))
        try #require(client.readUntilReadyForQuery(), "no ReadyForQuery:\n\(gated.proxy.log)")

        let idleKB = gated.proxy.residentKB
        let sampler = RSSSampler(gated.proxy)
        client.send(Query(text: "select repeat('x', 10000) from generate_series(1, 20000)").encoded())
        let blocked = try eventually(timeout: 30) { try gated.database.hasBackendWaitingInClientWrite() }
        let peakKB = max(sampler.stop(), gated.proxy.residentKB)
        #expect(blocked, "Postgres never waited for the client: \(gated.footprintText)")
        print("200 MB result unread: proxy RSS \(idleKB) kB before, peak \(peakKB) kB")
        #expect(peakKB < 64 * 1024, "proxy RSS reached \(peakKB) kB (\(idleKB) kB before the query)")

        client.reset()
        let after = try gated.footprint(releasedWithin: 2, comparedTo: baseline)
        #expect(after.openSessions == 0, "\(after)")
        #expect(after.backends.isEmpty, "\(after)")
        #expect(after.descriptors <= baseline.descriptors, "\(baseline.descriptors) descriptors before, now \(after)")
    }

    @Test func sigterm_stopsAccepting_drainsOpenSession_exitsZero() throws {
        let proxy = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)", "--drain-timeout", "20"])
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port))
        proxy.signal(SIGTERM)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(throws: (any Error).self) { try RawConnection.connect(port: proxy.port) }
        // The open session goes on working during the drain.
        #expect(try session.query("select 'draining'").rows == [["draining"]])
        #expect(proxy.process.isRunning)
        _ = consume session
        #expect(proxy.waitForExit(timeout: 10) == 0)
    }

    @Test func drainTimeout_endsRemainingSessionsWithAdminShutdown() throws {
        let proxy = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)", "--drain-timeout", "1"])
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port))
        proxy.signal(SIGTERM)
        #expect(proxy.waitForExit(timeout: 10) == 0)
        #expect(throws: (any Error).self) { try session.query("select 1") }
    }
}

/// Samples a process' RSS every 50 ms on a background thread and keeps the peak.
final class RSSSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var running = true

    init(_ process: TierGateProcess) {
        Thread.detachNewThread { [self] in
            while lock.withLock({ running }) {
                let rss = process.residentKB
                lock.withLock { peak = max(peak, rss) }
                usleep(50_000)
            }
        }
    }

    func stop() -> Int {
        lock.withLock { running = false; return peak }
    }
}

enum CopyData {
    /// Tab-separated rows of (id, ~1 kB text) adding up to `megabytes`.
    static func write(megabytes: Int, to url: URL) throws {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        let filler = String(repeating: "abcdefghij", count: 100)
        var chunk = ""
        var written = 0
        var id = 0
        while written < megabytes << 20 {
            chunk.removeAll(keepingCapacity: true)
            for _ in 0..<1000 {
                id += 1
                chunk += "\(id)\t\(filler)\(id % 997)\n"
            }
            let data = Data(chunk.utf8)
            handle.write(data)
            written += data.count
        }
    }

    static func sha256(_ url: URL) throws -> String {
        let result = try Command.run("sha256sum", [url.path])
        return String(result.stdout.prefix(64))
    }
}
