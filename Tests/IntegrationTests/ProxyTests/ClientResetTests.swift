import Foundation
import PostgresWire
import Testing

/// A client that goes away with a TCP reset instead of a Terminate (it crashed, was killed
/// with unread data, or a middlebox cut it off). Whatever phase its session is in, the proxy
/// notices at once and gives back everything the session held: the org's slot, the Postgres
/// backend and both descriptors, within a second or two, not at some later timeout.
@Suite(.serialized)
struct ClientResetTests {
    /// The reset lands somewhere in the proxy's reading the startup, deciding admission,
    /// connecting upstream and relaying the authentication; twenty attempts, as where varies.
    /// Role `app` leaves the backend waiting for a password (SCRAM); role `postgres` is
    /// trusted on loopback, so the session is established at once and its backend idles.
    @Test(arguments: ["app", "postgres"])
    func resetRightAfterStartup_freesSlotBackendAndDescriptors(role: String) throws {
        let gated = try GatedOrgProxy(tier: "PRO")
        let baseline = try gated.baseline()
        for _ in 0..<20 {
            let client = try RawConnection(port: gated.port)
            client.send(gated.startup(role: role))
            client.reset()
        }
        let after = try gated.footprint(releasedWithin: 2, comparedTo: baseline)
        #expect(after.openSessions == 0, "\(after)")
        #expect(after.backends.isEmpty, "\(after)")
        #expect(after.descriptors <= baseline.descriptors, "\(baseline.descriptors) descriptors before, now \(after)")
    }

    /// The client pipelines queries and reads none of the replies, until Postgres blocks
    /// writing them and the proxy, its buffers full both ways, stops reading the client.
    /// A reset then must end the session although neither side is being read.
    @Test func resetWhilePipelinedRepliesAreUnread_freesSlotBackendAndDescriptors() throws {
        let gated = try GatedOrgProxy(tier: "PRO")
        let baseline = try gated.baseline()
        let client = try RawConnection(port: gated.port)
        // Trusted on loopback: a raw client logs in without a SCRAM exchange.
        client.send(gated.startup(role: "postgres"))
        try #require(client.readUntilReadyForQuery(), "no ReadyForQuery:\n\(gated.proxy.log)")

        let query = Query(text: "select repeat('x', 10000)").encoded()
        let stalled = client.sendRepeatedlyUntilStalled(query, limit: 64 << 20, stall: 0.5)
        #expect(stalled, "the proxy went on reading 64 MB of queries whose replies nobody read")
        #expect(try eventually(timeout: 10) { try gated.database.hasBackendWaitingInClientWrite() },
                "\(gated.footprintText)")

        client.reset()
        let after = try gated.footprint(releasedWithin: 2, comparedTo: baseline)
        #expect(after.openSessions == 0, "\(after)")
        #expect(after.backends.isEmpty, "\(after)")
        #expect(after.descriptors <= baseline.descriptors, "\(baseline.descriptors) descriptors before, now \(after)")
    }

    /// When a client resets: at once, or only once the proxy holds its descriptor.
    enum ResetMoment: String, CaseIterable, Sendable {
        case atOnce, onceAccepted
    }

    /// Half a startup packet, then a reset: the connection is closed when the reset arrives,
    /// not when the login timeout (60 s here) would have closed it. Thirty clients, one after
    /// the other.
    @Test(arguments: ResetMoment.allCases)
    func resetInsideHalfSentStartup_isNoticedAtOnce_notAtLoginTimeout(moment: ResetMoment) throws {
        let gated = try GatedOrgProxy(tier: "PRO", extra: ["--login-timeout", "60"])
        let baseline = try gated.baseline()
        var ports: [Int] = []
        for _ in 1...30 {
            let client = try RawConnection(port: gated.port)
            ports.append(client.localPort)
            client.send(Array(gated.startup().prefix(6)))
            if moment == .onceAccepted {
                #expect(eventually(timeout: 2) { ProcessTable.holdsConnection(gated.proxy.pid, peerPort: client.localPort) })
            }
            client.reset()
        }
        var unnoticed = ports
        _ = eventually(timeout: 3) {
            let log = gated.proxy.log.split(separator: "\n").filter { $0.contains("connection closed") }
            unnoticed = ports.filter { port in
                ProcessTable.holdsConnection(gated.proxy.pid, peerPort: port)
                    || !log.contains { $0.contains("peer=127.0.0.1:\(port) ") }
            }
            return unnoticed.isEmpty
        }
        #expect(unnoticed.isEmpty, "\(unnoticed.count) of 30 connections still open, or closed without a log line, 3 s after their reset (client ports \(unnoticed))")
        let after = try gated.footprint(releasedWithin: 1, comparedTo: baseline)
        #expect(after.descriptors <= baseline.descriptors, "\(baseline.descriptors) descriptors before, now \(after)")
    }
}
