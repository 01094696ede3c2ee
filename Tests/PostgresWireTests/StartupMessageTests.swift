import Testing
@testable import PostgresWire

@Suite struct StartupMessageTests {
    @Test func encoder_writesLengthVersionParametersAndFinalTerminator() {
        let message = StartupMessage(parameters: [("user", "al"), ("database", "db")])
        let expected: [UInt8] = [0, 0, 0, 29, 0, 3, 0, 0]
            + [0x75, 0x73, 0x65, 0x72, 0] + [0x61, 0x6C, 0]                     // user\0 al\0
            + [0x64, 0x61, 0x74, 0x61, 0x62, 0x61, 0x73, 0x65, 0] + [0x64, 0x62, 0]  // database\0 db\0
            + [0]
        #expect(message.encoded() == expected)
    }

    @Test func encoder_roundTripsThroughDecoderWithOrderAndUnknownParametersKept() {
        let original = StartupMessage(
            protocolVersion: ProtocolVersion(major: 3, minor: 2),
            parameters: [("user", "alice"), ("database", "orders"), ("options", "-c statement_timeout=5s"),
                         ("application_name", "tiergate"), ("_pq_.unknown", "1")])
        let bytes = original.encoded()
        #expect(bytes == WireBytes.startupMessage(minor: 2, original.parameters.map { ($0.name, $0.value) }))
        #expect(StartupDecoder.decode(bytes[...]) == .packet(.startup(original), consumed: bytes.count))
    }

    @Test func encoder_dropsEmbeddedNULSoLaterParametersStayAligned() {
        let message = StartupMessage(parameters: [("user", "a\0b"), ("database", "d")])
        let bytes = message.encoded()
        #expect(bytes == WireBytes.startupMessage([("user", "ab"), ("database", "d")]))
    }

    @Test func subscript_replacesInPlaceAppendsNewAndRemovesOnNil() {
        var message = StartupMessage(parameters: [("user", "alice"), ("database", "orders"), ("options", "-c x=1")])
        message["database"] = "orders_free"
        message["application_name"] = "psql"
        message["options"] = nil
        #expect(message.parameters.map(\.name) == ["user", "database", "application_name"])
        #expect(message.parameters.map(\.value) == ["alice", "orders_free", "psql"])
        #expect(message["options"] == nil)
        message["missing"] = nil
        #expect(message.parameters.count == 3)
    }

    /// Postgres defaults the database to the user name when the client sends none.
    @Test func databaseMissing_defaultsToUser() {
        #expect(StartupMessage(parameters: [("user", "alice")]).database == "alice")
        #expect(StartupMessage(parameters: [("user", "alice"), ("database", "db")]).database == "db")
        #expect(StartupMessage(parameters: []).database == nil)
    }

    @Test func equality_dependsOnParameterOrderAndVersion() {
        let a = StartupMessage(parameters: [("user", "u"), ("database", "d")])
        #expect(a == StartupMessage(parameters: [("user", "u"), ("database", "d")]))
        #expect(a != StartupMessage(parameters: [("database", "d"), ("user", "u")]))
        #expect(a != StartupMessage(protocolVersion: ProtocolVersion(major: 3, minor: 2),
                                    parameters: [("user", "u"), ("database", "d")]))
    }
}
