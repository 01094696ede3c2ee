import Foundation
import Testing

/// TLS from the proxy to the stack's Postgres (ssl = on, a self-signed certificate for
/// localhost and 127.0.0.1) and to its PgBouncer (no TLS), in each `--upstream-tls` mode.
@Suite(.serialized)
struct UpstreamTLSTests {
    static var postgresCertificate: String {
        Stack.repoRoot.appendingPathComponent(".stack/postgres/data/server.crt").path
    }
    static let sslQuery = "select ssl from pg_stat_ssl where pid = pg_backend_pid()"

    static func proxy(_ mode: String, upstream: String = "127.0.0.1:\(Stack.postgresPort)", ca: String? = postgresCertificate,
                      _ extra: [String] = []) throws -> TierGateProcess {
        try TierGateProcess(arguments: ["--upstream", upstream, "--upstream-tls", mode] + (ca.map { ["--upstream-ca", $0] } ?? []) + extra)
    }

    @Test(arguments: ["prefer", "require", "verify-full"])
    func plainClient_reachesPostgresOverTLS(mode: String) throws {
        let proxy = try Self.proxy(mode)
        let result = try Command.psql(port: proxy.port, Self.sslQuery)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "t", "\(result.stdout)")
    }

    @Test func verifyFull_byHostName_andByAddress_butNotAgainstAnotherCA() throws {
        let byName = try Self.proxy("verify-full", upstream: "localhost:\(Stack.postgresPort)")
        #expect(try Command.psql(port: byName.port, Self.sslQuery).stdout.contains("t"))
        let otherCA = try ClientTLSTests.certificates.get().caCertificate
        let wrong = try Self.proxy("verify-full", ca: otherCA)
        let refused = try Command.psql(port: wrong.port, "select 1")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("TLS handshake failed: certificate"), "\(refused.stderr)")
    }

    /// libpq's default channel_binding=prefer: binding works end to end when the proxy shows
    /// the server's own certificate; with another certificate the client must disable it.
    @Test func tlsClientToTLSServer_channelBindingHoldsWithTheServersCertificate() throws {
        let key = Stack.repoRoot.appendingPathComponent(".stack/postgres/data/server.key").path
        let same = try Self.proxy("verify-full", ["--tls-cert", Self.postgresCertificate, "--tls-key", key])
        let bound = try Command.run("psql", ["-X", "-A", "-t", "-c", Self.sslQuery,
                                             "host=127.0.0.1 port=\(same.port) user=app dbname=tiergate_test sslmode=require channel_binding=require"],
                                    environment: ["PGPASSWORD": "app_pw"])
        #expect(bound.status == 0, "\(bound.stderr)")
        let certificates = try ClientTLSTests.certificates.get()
        let other = try Self.proxy("verify-full", ["--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey])
        let unbound = try Command.run("psql", ["-X", "-A", "-t", "-c", "select 1",
                                               "host=127.0.0.1 port=\(other.port) user=app dbname=tiergate_test sslmode=require channel_binding=disable"],
                                      environment: ["PGPASSWORD": "app_pw"])
        #expect(unbound.status == 0, "\(unbound.stderr)")
    }

    @Test func pgbouncerWithoutTLS_preferFallsBackToPlainText_requireRefuses08006() throws {
        let prefer = try Self.proxy("prefer", upstream: "127.0.0.1:\(Stack.pgbouncerPort)", ca: nil)
        let plain = try Command.psql(port: prefer.port, "select 1")
        #expect(plain.status == 0, "\(plain.stderr)")
        let require = try Self.proxy("require", upstream: "127.0.0.1:\(Stack.pgbouncerPort)", ca: nil)
        let refused = try StartupClient.run(port: require.port, [("user", "app"), ("database", "tiergate_test")])
        #expect(refused.sqlState == "08006", "\(refused)")
        #expect(refused.error?["D"]?.contains("does not support TLS") == true, "\(refused)")
    }

    /// A PgBouncer of the test's own that accepts clients over TLS only, on the test
    /// certificate: the proxy reaches it with verify-full.
    @Test func pgbouncerRequiringTLS_isReachedWithVerifyFull() throws {
        let certificates = try ClientTLSTests.certificates.get()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-bouncer-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try FreePort.pick()
        let cert = directory.appendingPathComponent("server.crt").path, key = directory.appendingPathComponent("server.key").path
        try FileManager.default.copyItem(atPath: certificates.serverCertificate, toPath: cert)
        try FileManager.default.copyItem(atPath: certificates.serverKey, toPath: key)
        try "\"app\" \"app_pw\"\n".write(toFile: directory.appendingPathComponent("userlist.txt").path, atomically: true, encoding: .utf8)
        let ini = directory.appendingPathComponent("pgbouncer.ini").path
        try """
        [databases]
        * = host=127.0.0.1 port=\(Stack.postgresPort)
        [pgbouncer]
        listen_addr = 127.0.0.1
        listen_port = \(port)
        unix_socket_dir =
        auth_type = scram-sha-256
        auth_file = \(directory.path)/userlist.txt
        pool_mode = transaction
        client_tls_sslmode = require
        client_tls_cert_file = \(cert)
        client_tls_key_file = \(key)
        """.write(toFile: ini, atomically: true, encoding: .utf8)
        for path in [directory.path] { chmod(path, 0o755) }
        for name in ["server.crt", "server.key", "userlist.txt", "pgbouncer.ini"] {
            chmod(directory.appendingPathComponent(name).path, 0o644)
        }
        let bouncer = try ChildProcess(["pgbouncer", "-u", "postgres", ini], environment: ProcessInfo.processInfo.environment,
                                       stdout: directory.appendingPathComponent("out.log").path,
                                       stderr: directory.appendingPathComponent("err.log").path)
        defer {
            bouncer.signal(SIGTERM)
            _ = bouncer.wait(timeout: 10)
        }
        let deadline = Date().addingTimeInterval(10)
        while (try? RawConnection.connect(port: port)).map({ close($0) }) == nil {
            guard Date() < deadline else {
                let log = (try? String(contentsOfFile: directory.appendingPathComponent("err.log").path, encoding: .utf8)) ?? ""
                throw TestFailure("pgbouncer did not listen on \(port): \(log)")
            }
            usleep(50_000)
        }
        let plain = try Self.proxy("disable", upstream: "127.0.0.1:\(port)", ca: nil)
        #expect(try Command.psql(port: plain.port, "select 1").status != 0, "the bouncer takes TLS only")
        let proxy = try Self.proxy("verify-full", upstream: "127.0.0.1:\(port)", ca: certificates.caCertificate)
        let result = try Command.psql(port: proxy.port, "select 5")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5")
    }
}
