import Foundation
import PostgresWire
import Testing

/// CancelRequests with the proxy's own keys, honoured by whichever instance receives them.
@Suite(.serialized)
struct CancelAnywhereTests {
    /// A session logged in by hand (as `postgres.<org>`, trusted on loopback), keeping the
    /// cancel key the proxy handed it.
    final class KeyedSession {
        let connection: RawConnection
        let key: BackendKeyData

        init(port: Int, org: String) throws {
            connection = try RawConnection(port: port, receiveTimeout: 30)
            connection.send(StartupMessage(parameters: [("user", "postgres.\(org)"), ("database", "tiergate_test")]).encoded())
            guard let login = Self.readUntilReady(connection),
                  let message = login.first(where: { $0.id == UInt8(ascii: "K") }),
                  let key = BackendKeyData.decode(payload: message.payload[...]) else {
                throw TestFailure("login without a cancel key")
            }
            self.key = key
        }

        static func readUntilReady(_ connection: RawConnection) -> [(id: UInt8, payload: [UInt8])]? {
            var replies: [(UInt8, [UInt8])] = []
            while true {
                let header = connection.readExactly(5)
                guard header.count == 5 else { return nil }
                let length = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
                let payload = connection.readExactly(length - 4)
                replies.append((header[0], payload))
                if header[0] == UInt8(ascii: "Z") { return replies }
            }
        }

        func send(_ sql: String) { connection.send(Wire.message("Q", Array(sql.utf8) + [0])) }

        /// The replies to the statement sent, up to ReadyForQuery.
        func replies() -> [(id: UInt8, payload: [UInt8])]? { Self.readUntilReady(connection) }

        func value(_ sql: String) -> String? {
            send(sql)
            return replies()?.first { $0.id == UInt8(ascii: "D") }.flatMap { DataRow.decode(payload: $0.payload[...])?.text(0) }
        }
    }

    static func cancel(_ key: BackendKeyData, via port: Int) throws -> [UInt8] {
        let connection = try RawConnection(port: port, receiveTimeout: 5)
        connection.send(CancelRequest(key: key).encoded())
        return connection.readToEnd()
    }

    static func start(_ extra: [String] = []) throws -> TierGateProcess {
        try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)", "--mongo", Stack.mongoURL,
                                        "--redis", Stack.redisURL] + extra)
    }

    @Test func queryStartedThroughA_isCancelledByACancelRequestSentToB() throws {
        let org = TestOrgs.unique("org_cancel")
        try TestOrgs.put(org, tier: "PRO", burst: nil, roles: ["app", "postgres"])
        defer { TestOrgs.remove(org) }
        let a = try Self.start()
        let b = try Self.start()
        let session = try KeyedSession(port: a.port, org: org)
        // The client's key is the proxy's: no backend pid in it.
        let backendPid = session.value("select pg_backend_pid()")
        #expect(backendPid != nil)
        #expect(backendPid != String(session.key.processID))

        session.send("select pg_sleep(30)")
        Thread.sleep(forTimeInterval: 0.5)
        let started = Date()
        #expect(try Self.cancel(session.key, via: b.port).isEmpty, "a CancelRequest gets no reply")
        let replies = session.replies()
        let error = RawSession.errors(replies).first
        #expect(error?[.sqlState] == "57014", "\(String(describing: error))")
        #expect(Date().timeIntervalSince(started) < 5)
        // The session goes on.
        #expect(session.value("select 1") == "1")
    }

    @Test func unknownKey_isIgnoredSilently_andCancelsAreRateLimitedPerAddress() throws {
        let org = TestOrgs.unique("org_cancel_rate")
        try TestOrgs.put(org, tier: "PRO", burst: nil, roles: ["app", "postgres"])
        defer { TestOrgs.remove(org) }
        // One per second, two at once.
        let proxy = try Self.start(["--cancel-rate", "1"])
        let session = try KeyedSession(port: proxy.port, org: org)
        let unknown = BackendKeyData(processID: 12345, secretKey: [1, 2, 3, 4])
        #expect(try Self.cancel(unknown, via: proxy.port).isEmpty)
        // The burst is spent on unknown keys: the real one is dropped too...
        _ = try Self.cancel(unknown, via: proxy.port)
        session.send("select pg_sleep(3)")
        Thread.sleep(forTimeInterval: 0.3)
        _ = try Self.cancel(session.key, via: proxy.port)
        let finished = session.replies()
        #expect(finished != nil && RawSession.errors(finished).isEmpty, "a cancel over the rate was dropped: \(RawSession.errors(finished).map { "\($0[.sqlState] ?? "") \($0.message ?? "")" })")
        // ...and honoured once the bucket has refilled.
        Thread.sleep(forTimeInterval: 1.5)
        session.send("select pg_sleep(30)")
        Thread.sleep(forTimeInterval: 0.3)
        _ = try Self.cancel(session.key, via: proxy.port)
        let cancelled = session.replies()
        #expect(RawSession.errors(cancelled).first?[.sqlState] == "57014")
    }
}
