import Testing
@testable import PostgresWire

@Suite struct QueryTests {
    @Test func decode_readsTheTerminatedString() {
        let payload = WireBytes.cString("SELECT 1; SELECT 2")
        #expect(Query.decode(payload: payload[...]) == Query(text: "SELECT 1; SELECT 2"))
    }

    @Test func decodeWithTrailingBytes_isNil() {
        #expect(Query.decode(payload: (WireBytes.cString("SELECT 1") + [0])[...]) == nil)
        #expect(Query.decode(payload: (WireBytes.cString("SELECT 1") + [0x78])[...]) == nil)
    }

    @Test func decodeUnterminated_isNil() {
        #expect(Query.decode(payload: Array("SELECT 1".utf8)[...]) == nil)
        #expect(Query.decode(payload: [][...]) == nil)
    }

    @Test func decodeOfEmptyQueryString_isAccepted() {
        #expect(Query.decode(payload: [0][...]) == Query(text: ""))
    }

    @Test func decodeOfInvalidUTF8_isNil_butItsBytesAreRead() {
        #expect(Query.decode(payload: [0x53, 0xFF, 0][...]) == nil)
        #expect(Query.decodeText(payload: [0x53, 0xFF, 0][...]).map(Array.init) == [0x53, 0xFF])
    }

    @Test func encoder_writesExactBytes() {
        #expect(Query(text: "SET x").encoded() == [0x51, 0, 0, 0, 10, 0x53, 0x45, 0x54, 0x20, 0x78, 0])
    }

    @Test func encoder_dropsEmbeddedNUL() {
        #expect(Query(text: "SEL\0ECT").encoded() == WireBytes.message("Q", WireBytes.cString("SELECT")))
    }

    @Test func encodeThenDecode_roundTrips() throws {
        let query = Query(text: "SET statement_timeout = '5s'; -- ünïcode")
        let framed = try #require(WireBytes.unframe(query.encoded()))
        #expect(framed.id == 0x51)
        #expect(Query.decode(payload: framed.payload[...]) == query)
    }
}
