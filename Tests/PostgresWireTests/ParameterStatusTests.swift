import Testing
@testable import PostgresWire

@Suite struct ParameterStatusTests {
    @Test func encoder_writesExactBytes() {
        let expected: [UInt8] = [0x53, 0, 0, 0, 11, 0x54, 0x5A, 0, 0x55, 0x54, 0x43, 0]  // S len TZ\0 UTC\0
        #expect(ParameterStatus(name: "TZ", value: "UTC").encoded() == expected)
    }

    @Test func decode_readsNameAndValue() {
        let payload = WireBytes.cString("server_version") + WireBytes.cString("17.2")
        #expect(ParameterStatus.decode(payload: payload[...]) == ParameterStatus(name: "server_version", value: "17.2"))
    }

    @Test func encodeThenDecode_roundTrips() throws {
        let status = ParameterStatus(name: "application_name", value: "zoë's app")
        let framed = try #require(WireBytes.unframe(status.encoded()))
        #expect(framed.id == 0x53)
        #expect(ParameterStatus.decode(payload: framed.payload[...]) == status)
    }

    @Test func decodeWithEmptyValue_isAccepted() {
        let payload = WireBytes.cString("search_path") + WireBytes.cString("")
        #expect(ParameterStatus.decode(payload: payload[...])?.value == "")
    }

    @Test func decodeWithTrailingBytes_isNil() {
        let payload = WireBytes.cString("a") + WireBytes.cString("b") + [0]
        #expect(ParameterStatus.decode(payload: payload[...]) == nil)
    }

    @Test func decodeWithoutValue_isNil() {
        #expect(ParameterStatus.decode(payload: WireBytes.cString("a")[...]) == nil)
        #expect(ParameterStatus.decode(payload: (WireBytes.cString("a") + [0x62])[...]) == nil)
        #expect(ParameterStatus.decode(payload: [][...]) == nil)
    }

    @Test func decodeWithInvalidUTF8_isNil() {
        let payload: [UInt8] = WireBytes.cString("a") + [0xC0, 0x80, 0]
        #expect(ParameterStatus.decode(payload: payload[...]) == nil)
    }
}
