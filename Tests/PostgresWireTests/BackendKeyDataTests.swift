import Testing
@testable import PostgresWire

@Suite struct BackendKeyDataTests {
    @Test func decodeOfProtocol30Payload_readsProcessIDAndFourByteKey() {
        let payload = WireBytes.int32(12345) + [0x01, 0x02, 0x03, 0x04]
        #expect(BackendKeyData.decode(payload: payload[...])
                == BackendKeyData(processID: 12345, secretKey: [1, 2, 3, 4]))
    }

    /// Protocol 3.2 (Postgres 18): the secret key may be up to 256 bytes.
    @Test(arguments: [32, 256])
    func decodeOfProtocol32LongKey_isAccepted(keyLength: Int) {
        let key = [UInt8](repeating: 0x5A, count: keyLength)
        let payload = WireBytes.int32(-1) + key
        #expect(BackendKeyData.decode(payload: payload[...]) == BackendKeyData(processID: -1, secretKey: key))
    }

    @Test(arguments: [0, 3, 4, 7])
    func decodeOfShortPayload_isNil(length: Int) {
        let payload = [UInt8](repeating: 1, count: length)
        #expect(BackendKeyData.decode(payload: payload[...]) == nil)
    }

    @Test func decodeOfKeyOver256Bytes_isNil() {
        let payload = WireBytes.int32(1) + [UInt8](repeating: 0, count: 257)
        #expect(BackendKeyData.decode(payload: payload[...]) == nil)
    }

    @Test func encoder_writesExactBytes() {
        let expected: [UInt8] = [0x4B, 0, 0, 0, 12, 0, 0, 0x30, 0x39, 0xCA, 0xFE, 0xBA, 0xBE]
        #expect(BackendKeyData(processID: 12345, secretKey: [0xCA, 0xFE, 0xBA, 0xBE]).encoded() == expected)
    }

    @Test func encodeThenDecode_roundTrips() throws {
        let key = BackendKeyData(processID: .min, secretKey: Array(0..<200))
        let framed = try #require(WireBytes.unframe(key.encoded()))
        #expect(framed.id == 0x4B)
        #expect(BackendKeyData.decode(payload: framed.payload[...]) == key)
    }
}
