import Testing
@testable import PostgresWire

@Suite struct ByteReaderTests {
    @Test func integers_areReadBigEndianAndSigned() {
        var reader = ByteReader([0x00, 0x03, 0x00, 0x02, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFE, 0x7F][...])
        #expect(reader.readInt32() == 0x0003_0002)
        #expect(reader.readInt16() == -2)
        #expect(reader.readInt32() == -2)
        #expect(reader.readUInt8() == 0x7F)
        #expect(reader.remaining == 0)
    }

    /// Every read on every too-short input returns nil, leaves the cursor where it was, and
    /// does not trap: a truncated packet becomes a protocol error, never a crash.
    @Test func everyReadOnShortInput_isNilAndConsumesNothing() {
        let bytes: [UInt8] = [0x41, 0x42, 0x43, 0x44, 0x45]
        for length in 0...bytes.count {
            for offset in [0, 2] {
                // A slice that does not start at 0, like the framer's payloads.
                let buffer = [UInt8](repeating: 0xEE, count: offset) + bytes[..<length] + [0xEE]
                let slice = buffer[offset..<(offset + length)]

                var reader = ByteReader(slice)
                if length < 1 { #expect(reader.readUInt8() == nil) }
                if length < 2 { #expect(reader.readInt16() == nil) }
                if length < 4 { #expect(reader.readInt32() == nil) }
                #expect(reader.readBytes(length + 1) == nil)
                #expect(reader.readCStringBytes() == nil)  // these bytes hold no NUL
                #expect(reader.readCString() == .unterminated)
                #expect(reader.remaining == length)
                #expect(reader.index == slice.startIndex)
            }
        }
    }

    @Test func readsAfterTheEnd_keepReturningNil() {
        var reader = ByteReader([0x01][...])
        #expect(reader.readUInt8() == 1)
        for _ in 0..<3 {
            #expect(reader.readUInt8() == nil)
            #expect(reader.readInt16() == nil)
            #expect(reader.readInt32() == nil)
            #expect(reader.readBytes(1) == nil)
            #expect(reader.readCStringBytes() == nil)
        }
        #expect(reader.remaining == 0)
    }

    @Test func readBytesNegativeCount_isNil() {
        var reader = ByteReader([1, 2, 3][...])
        #expect(reader.readBytes(-1) == nil)
        #expect(reader.readBytes(Int.min) == nil)
        #expect(reader.remaining == 3)
    }

    @Test func readBytesZero_isEmptyAndConsumesNothing() {
        var reader = ByteReader([][...])
        #expect(reader.readBytes(0).map(Array.init) == [])
        #expect(reader.remaining == 0)
    }

    @Test func readBytes_returnsExactlyTheRequestedBytes() {
        var reader = ByteReader([9, 1, 2, 3, 4][...].dropFirst())
        #expect(reader.readBytes(3).map(Array.init) == [1, 2, 3])
        #expect(reader.remaining == 1)
    }

    @Test func readCString_consumesTheNULAndStopsAtIt() {
        var reader = ByteReader((WireBytes.cString("ab") + WireBytes.cString("") + [0x63])[...])
        #expect(reader.readCString() == .string("ab"))
        #expect(reader.readCString() == .string(""))
        #expect(reader.remaining == 1)
        #expect(reader.readCString() == .unterminated)
    }

    @Test func readCString_rejectsInvalidUTF8() {
        for invalid: [UInt8] in [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xC0, 0x80], [0xE2, 0x82]] {
            var reader = ByteReader((invalid + [0])[...])
            #expect(reader.readCString() == .invalidUTF8, "\(invalid)")
        }
    }

    @Test func readCStringOnASlice_findsTheNULInsideTheSliceOnly() {
        let buffer: [UInt8] = [0, 0x61, 0x62, 0, 0x63]
        var reader = ByteReader(buffer[1..<3])  // "ab" without its NUL
        #expect(reader.readCString() == .unterminated)
        var whole = ByteReader(buffer[1...])
        #expect(whole.readCString() == .string("ab"))
        #expect(whole.index == 4)
    }
}
