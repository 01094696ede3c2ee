import Testing
@testable import PostgresWire

@Suite struct ReadyForQueryTests {
    @Test(arguments: [(UInt8(0x49), ReadyForQuery.TransactionStatus.idle),
                      (0x54, .inTransaction), (0x45, .failedTransaction)])
    func decode_readsEachTransactionStatus(byte: UInt8, status: ReadyForQuery.TransactionStatus) {
        #expect(ReadyForQuery.decode(payload: [byte][...]) == ReadyForQuery(status: status))
    }

    @Test func encoder_writesExactBytes() {
        #expect(ReadyForQuery(status: .idle).encoded() == [0x5A, 0, 0, 0, 5, 0x49])
        #expect(ReadyForQuery(status: .inTransaction).encoded() == [0x5A, 0, 0, 0, 5, 0x54])
        #expect(ReadyForQuery(status: .failedTransaction).encoded() == [0x5A, 0, 0, 0, 5, 0x45])
    }

    @Test(arguments: [UInt8(0x58), 0x69, 0, 0xFF])
    func decodeOfUnknownStatusByte_isNil(byte: UInt8) {
        #expect(ReadyForQuery.decode(payload: [byte][...]) == nil)
    }

    @Test func decodeOfWrongPayloadLength_isNil() {
        #expect(ReadyForQuery.decode(payload: [][...]) == nil)
        #expect(ReadyForQuery.decode(payload: [0x49, 0x49][...]) == nil)
    }

    /// The framer hands out payloads as slices of the read buffer.
    @Test func decodeOfSliceInsideALargerBuffer_readsTheSlicesOwnByte() {
        let buffer: [UInt8] = [0x49, 0x49, 0x45, 0x49]
        #expect(ReadyForQuery.decode(payload: buffer[2..<3]) == ReadyForQuery(status: .failedTransaction))
    }
}
