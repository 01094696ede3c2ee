import Testing
@testable import PostgresWire

@Suite struct ByteWriterTests {
    @Test func integers_areWrittenBigEndian() {
        var writer = ByteWriter()
        writer.writeInt32(0x0102_0304)
        writer.writeInt32(-2)
        writer.writeInt16(0x0506)
        writer.writeInt16(-1)
        writer.writeUInt8(0xAB)
        #expect(writer.bytes == [1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE, 5, 6, 0xFF, 0xFF, 0xAB])
    }

    @Test func integers_matchTheTestEncoder() {
        for value: Int32 in [0, 1, -1, .max, .min, 80877103] {
            var writer = ByteWriter()
            writer.writeInt32(value)
            #expect(writer.bytes == WireBytes.int32(value))
        }
    }

    @Test func writeCString_appendsUTF8AndNULAndDropsEmbeddedNULs() {
        var writer = ByteWriter()
        writer.writeCString("é")
        writer.writeCString("\0a\0")
        writer.writeCString("")
        #expect(writer.bytes == [0xC3, 0xA9, 0, 0x61, 0, 0])
    }

    @Test func message_patchesTheLengthToCountItselfButNotTheType() {
        let bytes = ByteWriter.message(0x51) { $0.writeBytes([1, 2, 3]) }
        #expect(bytes == [0x51, 0, 0, 0, 7, 1, 2, 3])
        #expect(ByteWriter.message(0x58) { _ in } == [0x58, 0, 0, 0, 4])
    }

    @Test func message_withABodyOver255Bytes_patchesEveryLengthByte() {
        let body = [UInt8](repeating: 0, count: 0x0102_03)
        let bytes = ByteWriter.message(0x64) { $0.writeBytes(body) }
        #expect(Array(bytes[0..<5]) == [0x64, 0x00, 0x01, 0x02, 0x07])
    }

    @Test func startupPacket_patchesTheLengthToCountItself() {
        let bytes = ByteWriter.startupPacket { $0.writeInt32(80877103) }
        #expect(bytes == WireBytes.sslRequest)
    }
}
