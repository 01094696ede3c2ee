import Foundation
import TestCertificates
import PostgresClient
import Testing

/// Client TLS through the real binary with real clients: psql (sslmode=require and
/// verify-full), pgbench, Python's ssl module for Postgres 17's direct TLS, plain and TLS
/// cancels, and what the proxy refuses. Certificates are made for the run by the openssl CLI.
@Suite(.serialized)
struct ClientTLSTests {
    static let certificates = Result { try TestCertificates.make(names: ["localhost", "org_tls.db.tiergate.test"]) }

    static func proxy(_ extra: [String]) throws -> TierGateProcess { try proxy(mode: "allow", extra) }

    static func proxy(mode: String = "allow", _ extra: [String] = []) throws -> TierGateProcess {
        let certificates = try certificates.get()
        return try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)",
                                               "--tls-cert", certificates.serverCertificate,
                                               "--tls-key", certificates.serverKey, "--client-tls", mode] + extra)
    }

    static func psql(_ conninfo: String, _ sql: String) throws -> CommandResult {
        try Command.run("psql", ["-X", "-A", "-t", "-c", sql, conninfo],
                        environment: ["PGPASSWORD": "app_pw", "PGCONNECT_TIMEOUT": "10"])
    }

    @Test func psqlSslmodeRequire_connectsEncrypted() throws {
        let proxy = try Self.proxy()
        let result = try Self.psql("host=127.0.0.1 port=\(proxy.port) user=app dbname=tiergate_test sslmode=require",
                                   "\\conninfo")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("SSL connection (protocol: TLSv1.3"), "\(result.stdout)")
        #expect(proxy.log.contains("tls=true"), "\(proxy.log)")
    }

    @Test func psqlVerifyFull_checksTheChainAndTheHostName() throws {
        let proxy = try Self.proxy()
        let ca = try Self.certificates.get().caCertificate
        let good = try Self.psql("host=localhost port=\(proxy.port) user=app dbname=tiergate_test sslmode=verify-full sslrootcert=\(ca)",
                                 "select 1")
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        let wrongHost = try Self.psql("host=wrong.tiergate.test hostaddr=127.0.0.1 port=\(proxy.port) user=app dbname=tiergate_test sslmode=verify-full sslrootcert=\(ca)",
                                      "select 1")
        #expect(wrongHost.status != 0)
        #expect(wrongHost.stderr.contains("does not match host name"), "\(wrongHost.stderr)")
    }

    @Test func pgbenchSslmodeRequire_finishesWithoutErrors_reconnectingEachTransaction() throws {
        try PgbenchData.ensure()
        let proxy = try Self.proxy(mode: "require")
        let result = try Command.run("pgbench", ["-n", "-S", "-C", "-c", "4", "-j", "2", "-t", "50",
                                                  "host=127.0.0.1 port=\(proxy.port) user=app dbname=tiergate_test sslmode=require"],
                                     environment: ["PGPASSWORD": "app_pw"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("number of transactions actually processed: 200/200"), "\(result.stdout)")
        #expect(result.stdout.contains("number of failed transactions: 0"), "\(result.stdout)")
    }

    @Test func directTLSWithALPN_isServed_withoutALPN_isRefused08P01() throws {
        let proxy = try Self.proxy()
        let ca = try Self.certificates.get().caCertificate
        let direct = try StartupClient.run(port: proxy.port, query: "select 'direct'",
                                           tls: .init(direct: true, serverName: "localhost", caFile: ca),
                                           [("user", "app"), ("database", "tiergate_test")])
        #expect(direct.error == nil, "\(direct)")
        #expect(direct.rows == [["direct"]])
        #expect(direct.tls?.alpn == "postgresql")
        #expect(direct.tls?.version == "TLSv1.3")
        let noALPN = try StartupClient.run(port: proxy.port, query: "select 1", tls: .init(direct: true, alpn: ""),
                                           [("user", "app"), ("database", "tiergate_test")])
        #expect(noALPN.sqlState == "08P01", "\(noALPN)")
        #expect(!noALPN.authRequested, "a backend started for a direct TLS client without ALPN")
        let otherALPN = try StartupClient.run(port: proxy.port, tls: .init(direct: true, alpn: "http/1.1"),
                                              [("user", "app"), ("database", "tiergate_test")])
        #expect(otherALPN.tlsError?.contains("no application protocol") == true, "\(otherALPN)")
    }

    @Test func require_refusesPlainText08P01_butServesTLS() throws {
        let proxy = try Self.proxy(mode: "require")
        let plain = try Self.psql("host=127.0.0.1 port=\(proxy.port) user=app dbname=tiergate_test sslmode=disable", "select 1")
        #expect(plain.status != 0)
        #expect(plain.stderr.contains("TLS required"), "\(plain.stderr)")
        let raw = try StartupClient.run(port: proxy.port, [("user", "app"), ("database", "tiergate_test")])
        #expect(raw.sqlState == "08P01", "\(raw)")
        #expect(!raw.authRequested)
        let encrypted = try StartupClient.run(port: proxy.port, query: "select 2", tls: .init(),
                                              [("user", "app"), ("database", "tiergate_test")])
        #expect(encrypted.rows == [["2"]], "\(encrypted)")
    }

    @Test func startupPipelinedBehindSSLRequest_isRefused08P01_withoutAnAnswerByte() throws {
        let proxy = try Self.proxy()
        let connection = try RawConnection(port: proxy.port)
        let startup = StartupMessageBytes.make([("user", "app"), ("database", "tiergate_test")])
        connection.send([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f] + startup)
        let reply = connection.readToEnd()
        #expect(reply.first == UInt8(ascii: "E"), "\(reply.prefix(8))")
        let text = String(decoding: reply, as: UTF8.self)
        #expect(text.contains("08P01") && text.contains("received unencrypted data after SSL request"), "\(text)")
    }

    @Test func gssEncRequest_isDeclined_thenSSLIsAccepted() throws {
        let proxy = try Self.proxy()
        let result = try Self.psql("host=127.0.0.1 port=\(proxy.port) user=app dbname=tiergate_test sslmode=require gssencmode=prefer",
                                   "select 3")
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// libpq 15 cancels in plain text even for an encrypted session; a driver may cancel over
    /// TLS. Both reach the backend, also under `require`.
    @Test func cancelOfATLSSession_worksInPlainTextAndOverTLS() throws {
        let proxy = try Self.proxy(mode: "require")
        let connection = try PostgresConnection(conninfo: conninfo(port: proxy.port) + " sslmode=require")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { try? connection.cancel() }
        do {
            _ = try connection.query("select pg_sleep(20)")
            Issue.record("the statement was not cancelled")
        } catch {
            #expect(error.sqlState == "57014", "\(error)")
        }
        #expect(try connection.query("select 2").rows == [["2"]])
        let overTLS = try StartupClient.run(port: proxy.port, query: "select pg_sleep(20)", tls: .init(),
                                            cancelAfter: 0.5, [("user", "app"), ("database", "tiergate_test")])
        #expect(overTLS.sqlState == "57014", "\(overTLS)")
        #expect(overTLS.tlsError == nil, "\(overTLS)")
    }

    /// `openssl s_client -starttls postgres` limited to one version (TLS 1.1 needs security
    /// level 0 on the client to be offered at all).
    static func sClient(port: Int, _ version: String) throws -> CommandResult {
        try Command.run("bash", ["-c", "openssl s_client -starttls postgres -connect 127.0.0.1:\(port) \(version) -cipher 'DEFAULT@SECLEVEL=0' </dev/null 2>&1"],
                        timeout: 30)
    }

    @Test func tls11_isRefused_tls12_isAccepted() throws {
        let proxy = try Self.proxy()
        let old = try Self.sClient(port: proxy.port, "-tls1_1")
        #expect(old.stdout.contains("alert protocol version"), "\(old.stdout)")
        let current = try Self.sClient(port: proxy.port, "-tls1_2")
        #expect(current.stdout.contains("Protocol  : TLSv1.2"), "\(current.stdout)")
        #expect(proxy.log.contains("reason=unsupported_version"), "\(proxy.log)")
    }

    @Test func handshakeThatStalls_endsAtTheLoginTimeout() throws {
        let proxy = try Self.proxy(["--login-timeout", "1"])
        let connection = try RawConnection(port: proxy.port)
        connection.send([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        #expect(connection.readExactly(1) == [UInt8(ascii: "S")])
        let started = Date()
        connection.send([0x16, 0x03, 0x01])  // the start of a ClientHello, and no more
        let rest = connection.readToEnd()
        #expect(rest.isEmpty, "no plain-text error inside a handshake: \(rest)")
        let waited = Date().timeIntervalSince(started)
        #expect(waited > 0.5 && waited < 5, "closed after \(waited) s")
        #expect(proxy.log.contains("reason=timeout"), "\(proxy.log)")
    }

    @Test func plainTextWithTLSAllowed_stillWorks() throws {
        let proxy = try Self.proxy()
        let result = try Self.psql("host=127.0.0.1 port=\(proxy.port) user=app dbname=tiergate_test sslmode=disable", "select 4")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(proxy.log.contains("tls=false"), "\(proxy.log)")
    }
}

/// A StartupMessage as bytes, for raw-socket tests.
enum StartupMessageBytes {
    static func make(_ parameters: [(String, String)]) -> [UInt8] {
        var body: [UInt8] = [0, 3, 0, 0]
        for (name, value) in parameters { body += Array(name.utf8) + [0] + Array(value.utf8) + [0] }
        body.append(0)
        let length = UInt32(body.count + 4)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + body
    }
}
