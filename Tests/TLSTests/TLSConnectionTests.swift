import Testing
import TLS
import TestCertificates

/// A server and a client connection wired to each other through memory: the handshake,
/// data both ways, SNI, certificate checks and refused key pairs, with real OpenSSL.
@Suite struct TLSConnectionTests {
    /// Moves ciphertext between the two until neither has anything to say.
    static func pump(_ a: TLSConnection, _ b: TLSConnection) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(a, b), (b, a)] where from.outputCount > 0 {
                let n = buffer.withUnsafeMutableBytes { from.takeOutput(into: $0) }
                buffer.withUnsafeBytes { to.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                moved = true
            }
            _ = a.handshake()
            _ = b.handshake()
        }
    }

    static func readAll(_ connection: TLSConnection) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case .bytes(let n) = buffer.withUnsafeMutableBytes({ connection.read(into: $0) }) {
            out += buffer[0..<n]
        }
        return out
    }

    @Test func handshake_thenDataFlowsBothWays_andSNIIsSeen() throws {
        let certificates = try TestCertificates.make(names: ["org_acme.db.tiergate.test"])
        defer { certificates.remove() }
        let serverContext = try TLSContext.server(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey)
        let clientContext = try TLSContext.client(caFile: certificates.caCertificate)
        let server = try #require(TLSConnection(context: serverContext, role: .server))
        let client = try #require(TLSConnection(context: clientContext, role: .client(
            serverName: "org_acme.db.tiergate.test", verifyHost: "org_acme.db.tiergate.test")))
        #expect(client.handshake() == .inProgress)
        Self.pump(client, server)
        #expect(server.isEstablished && client.isEstablished)
        #expect(server.serverName == "org_acme.db.tiergate.test")
        #expect(server.protocolVersion == "TLSv1.3")
        let query: [UInt8] = Array("Q select 1".utf8)
        query.withUnsafeBytes { _ = client.write($0) }
        Self.pump(client, server)
        #expect(Self.readAll(server) == query)
        let reply = [UInt8](repeating: 7, count: 100_000)  // several records
        reply.withUnsafeBytes { _ = server.write($0) }
        Self.pump(client, server)
        #expect(Self.readAll(client) == reply)
        server.shutdown()
        Self.pump(client, server)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(buffer.withUnsafeMutableBytes { client.read(into: $0) } == .closed)
    }

    @Test func clientVerifyingAnotherHostName_failsOnTheCertificate() throws {
        let certificates = try TestCertificates.make(names: ["localhost"])
        defer { certificates.remove() }
        let serverContext = try TLSContext.server(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey)
        let clientContext = try TLSContext.client(caFile: certificates.caCertificate)
        let server = try #require(TLSConnection(context: serverContext, role: .server))
        let client = try #require(TLSConnection(context: clientContext, role: .client(serverName: "db.elsewhere.test",
                                                                                      verifyHost: "db.elsewhere.test")))
        _ = client.handshake()
        Self.pump(client, server)
        guard case .failed(let failure) = client.handshake() else {
            Issue.record("a certificate for another host was accepted")
            return
        }
        #expect(failure.reason == .certificate, "\(failure)")
        #expect(!server.isEstablished)
    }

    @Test func plainTextInsteadOfAHandshake_failsAsNotTLS() throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = try #require(TLSConnection(context: try TLSContext.server(
            certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey), role: .server))
        let startup: [UInt8] = [0, 0, 0, 8, 4, 210, 22, 47] + Array("GET / HTTP/1.1\r\n\r\n".utf8)
        startup.withUnsafeBytes { server.receive($0) }
        guard case .failed(let failure) = server.handshake() else {
            Issue.record("plain text passed for a handshake")
            return
        }
        #expect(failure.reason == .notTLS, "\(failure)")
    }

    @Test func keyOfAnotherCertificate_isRefusedNamingTheFiles() throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        #expect(throws: TLSConfigurationError.self) {
            try TLSContext.server(certificateChain: certificates.serverCertificate, privateKey: certificates.otherKey)
        }
        do {
            _ = try TLSContext.server(certificateChain: certificates.serverCertificate, privateKey: certificates.otherKey)
        } catch {
            #expect(error.message.contains("other.key") && error.message.contains("mismatch"), "\(error)")
        }
        do {
            _ = try TLSContext.server(certificateChain: "/nonexistent.crt", privateKey: certificates.serverKey)
            Issue.record("a missing certificate loaded")
        } catch {
            #expect(error.message.contains("/nonexistent.crt"), "\(error)")
        }
    }
}
