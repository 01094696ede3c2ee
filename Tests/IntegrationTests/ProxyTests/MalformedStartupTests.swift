import Foundation
import PostgresWire
import Testing

/// Each malformed startup gets its FATAL ErrorResponse and a closed socket, and the
/// proxy keeps serving everyone else meanwhile.
@Suite(.serialized)
struct MalformedStartupTests {
    static func packet(length: Int32, _ body: [UInt8]) -> [UInt8] {
        let l = UInt32(bitPattern: length)
        return [UInt8(l >> 24), UInt8(l >> 16 & 0xff), UInt8(l >> 8 & 0xff), UInt8(l & 0xff)] + body
    }

    static func version(_ major: UInt16, _ minor: UInt16) -> [UInt8] {
        [UInt8(major >> 8), UInt8(major & 0xff), UInt8(minor >> 8), UInt8(minor & 0xff)]
    }

    static let userParameter = Array("user\0app\0".utf8)

    static let cases: [(name: String, bytes: [UInt8], sqlState: String)] = [
        ("over 10,000 bytes", packet(length: 10_001, []), "08P01"),
        ("length below minimum", packet(length: 4, []), "08P01"),
        ("negative length", packet(length: -5, []), "08P01"),
        ("protocol 2.0", packet(length: 8 + 9 + 1, version(2, 0) + userParameter + [0]), "0A000"),
        ("protocol 4.0", packet(length: 8 + 9 + 1, version(4, 0) + userParameter + [0]), "0A000"),
        ("no final terminator", packet(length: 8 + 9, version(3, 0) + userParameter), "08P01"),
        ("value missing", packet(length: 8 + 5, version(3, 0) + Array("user\0".utf8)), "08P01"),
        ("invalid UTF-8", packet(length: 8 + 8 + 1, version(3, 0) + Array("user\0".utf8) + [0xff, 0xfe, 0] + [0]), "08P01"),
    ]

    @Test func eachMalformedStartup_getsFatalErrorAndClosedSocket() throws {
        let proxy = try TierGateProcess()
        for testCase in Self.cases {
            let connection = try RawConnection(port: proxy.port)
            connection.send(testCase.bytes)
            let reply = connection.readToEnd()
            let errors = ReceivedMessages.errors(reply)
            #expect(errors.count == 1, "\(testCase.name): got \(reply)")
            #expect(errors.first?[.sqlState] == testCase.sqlState, "\(testCase.name)")
            #expect(errors.first?[.severity] == "FATAL", "\(testCase.name)")
        }
        // The proxy is still there for well-behaved clients.
        let result = try Command.psql(port: proxy.port, "select 'still serving'")
        #expect(result.stdout.contains("still serving"), "\(result.stderr)")
        #expect(proxy.process.isRunning)
    }

    @Test func minorVersionAbove3_0_isPassedToPostgres() throws {
        let proxy = try TierGateProcess()
        let connection = try RawConnection(port: proxy.port)
        let body = Self.version(3, 2) + Array("user\0app\0database\0tiergate_test\0".utf8) + [0]
        connection.send(Self.packet(length: Int32(4 + body.count), body))
        // Postgres 15 answers a 3.2 client with NegotiateProtocolVersion ('v') or goes on to
        // authentication ('R'); either way the reply is Postgres', not a refusal by the proxy.
        let reply = connection.readExactly(1)
        #expect(reply == [UInt8(ascii: "v")] || reply == [UInt8(ascii: "R")], "\(reply)")
    }

    @Test func silentClient_isClosedAfterLoginTimeout() throws {
        let proxy = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)", "--login-timeout", "1"])
        let connection = try RawConnection(port: proxy.port)
        let started = Date()
        let errors = ReceivedMessages.errors(connection.readToEnd())
        #expect(errors.first?[.sqlState] == "08P01")
        #expect(errors.first?.message?.contains("login timeout") == true)
        #expect(Date().timeIntervalSince(started) < 8)
    }

    @Test func unreachableUpstream_getsFatal08006NamingIt() throws {
        let closedPort = try FreePort.pick()
        let proxy = try TierGateProcess(upstream: closedPort)
        let result = try Command.psql(port: proxy.port, "select 1")
        #expect(result.status != 0)
        #expect(result.stderr.contains("127.0.0.1:\(closedPort)"), "\(result.stderr)")
        let raw = try RawConnection(port: proxy.port)
        let body = Self.version(3, 0) + Array("user\0app\0".utf8) + [0]
        raw.send(Self.packet(length: Int32(4 + body.count), body))
        #expect(ReceivedMessages.errors(raw.readToEnd()).first?[.sqlState] == "08006")
    }

    @Test func sslRequest_isAnsweredN() throws {
        let proxy = try TierGateProcess()
        let connection = try RawConnection(port: proxy.port)
        connection.send(Self.packet(length: 8, [0x04, 0xd2, 0x16, 0x2f]))
        #expect(connection.readExactly(1) == [UInt8(ascii: "N")])
        connection.send(Self.packet(length: 8, [0x04, 0xd2, 0x16, 0x30]))  // then GSSENCRequest
        #expect(connection.readExactly(1) == [UInt8(ascii: "N")])
    }
}
