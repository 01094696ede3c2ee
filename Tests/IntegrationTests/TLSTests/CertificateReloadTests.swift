import Foundation
import TestCertificates
import Testing

/// The client certificate is re-read on SIGHUP and on the admin RELOAD; a pair that does not
/// load is refused with the reason and the pair in force keeps being served.
@Suite(.serialized)
struct CertificateReloadTests {
    /// The serial of the certificate the proxy presents now, as `openssl s_client` sees it
    /// after an SSLRequest.
    static func servedSerial(port: Int) throws -> String {
        let result = try Command.run("bash", ["-c",
            "openssl s_client -starttls postgres -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -serial"],
            timeout: 30)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func serial(ofFile path: String) throws -> String {
        try Command.run("openssl", ["x509", "-noout", "-serial", "-in", path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func copy(_ from: String, _ to: URL) throws {
        try? FileManager.default.removeItem(at: to)
        try FileManager.default.copyItem(at: URL(fileURLWithPath: from), to: to)
    }

    @Test func reload_andSIGHUP_serveTheNewPair_aBrokenPairIsRefused_andTheOldOneStays() throws {
        let first = try TestCertificates.make()
        let second = try TestCertificates.make()
        defer { first.remove(); second.remove() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("server.crt"), key = directory.appendingPathComponent("server.key")
        try Self.copy(first.serverCertificate, cert)
        try Self.copy(first.serverKey, key)
        let socketPath = directory.appendingPathComponent("admin.sock").path
        let proxy = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)",
                                                    "--tls-cert", cert.path, "--tls-key", key.path,
                                                    "--admin-socket", socketPath])
        let firstSerial = try Self.serial(ofFile: first.serverCertificate)
        let secondSerial = try Self.serial(ofFile: second.serverCertificate)
        #expect(firstSerial != secondSerial)
        #expect(try Self.servedSerial(port: proxy.port) == firstSerial)

        // RELOAD with a good new pair.
        try Self.copy(second.serverCertificate, cert)
        try Self.copy(second.serverKey, key)
        let admin = try AdminSocketClient(path: socketPath)
        let reloaded = try admin.command("RELOAD")
        #expect(reloaded["ok"] as? Bool == true, "\(reloaded)")
        #expect((reloaded["tls"] as? [String: Any])?["reloaded"] as? Bool == true, "\(reloaded)")
        #expect(try Self.servedSerial(port: proxy.port) == secondSerial)

        // A key that belongs to another certificate: refused, the second pair stays.
        try Self.copy(first.serverKey, key)
        let refused = try admin.command("RELOAD")
        #expect(refused["ok"] as? Bool == false)
        let error = refused["error"] as? String ?? ""
        #expect(error.contains("RELOAD refused") && error.contains("mismatch"), "\(refused)")
        #expect(try Self.servedSerial(port: proxy.port) == secondSerial)
        let session = try StartupClient.run(port: proxy.port, query: "select 1", tls: .init(),
                                            [("user", "app"), ("database", "tiergate_test")])
        #expect(session.rows == [["1"]], "\(session)")

        // SIGHUP with a broken pair: logged, nothing changes; with a good one: in force.
        proxy.signal(SIGHUP)
        try waitFor { proxy.log.contains("TLS certificate not reloaded") }
        #expect(try Self.servedSerial(port: proxy.port) == secondSerial)
        try Self.copy(first.serverCertificate, cert)
        proxy.signal(SIGHUP)
        try waitFor { proxy.log.contains("SIGHUP: TLS certificate reloaded") }
        #expect(try Self.servedSerial(port: proxy.port) == firstSerial)
    }

    func waitFor(_ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < deadline else { throw TestFailure("condition not met within 10 s") }
            usleep(50_000)
        }
    }
}
