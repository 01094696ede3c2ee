@testable import Gate
import Testing

/// The server converts a text from the session's client_encoding before it lexes it; in the
/// client-only encodings a multibyte character can end in an ASCII byte.
@Suite struct ClientTextReadingTests {
    static func readings(_ bytes: [UInt8]) -> [[UInt8]] { ClientTextReading.readings(of: bytes[...]) }

    @Test func asciiText_hasOneReading() {
        #expect(Self.readings(Array("SET work_mem = '1GB'".utf8)).count == 1)
    }

    @Test func latin1Text_whoseHighBytesPrecedeQuotesOrSpaces_hasOneReading() {
        // é (0xE9) before a quote: no client-only encoding accepts that pair.
        let latin1 = Array("SELECT 'caf".utf8) + [0xE9, 0x27, 0x20, 0xE9, 0x3B]
        #expect(Self.readings(latin1) == [latin1])
    }

    @Test func shiftJIS_swallowsABackslashAfterALeadByte() {
        // UTF-8 "ā" is C4 81; in SJIS C4 is one character and 81 5C another.
        let text = Array("E'".utf8) + [0xC4, 0x81, 0x5C, 0x27]
        let readings = Self.readings(text)
        #expect(readings.count == 2)
        #expect(readings.last == Array("E'".utf8) + [0xC4, 0xEF, 0xBF, 0xBD, 0x27])
    }

    @Test func big5GBKAndUHC_takeTwoBytesForEveryHighByte() {
        let text = Array("E'".utf8) + [0xA5, 0x5C, 0x27]
        #expect(Self.readings(text).contains(Array("E'".utf8) + [0xEF, 0xBF, 0xBD, 0x27]))
    }

    @Test func gb18030_takesFourBytesWhenTheSecondIsADigit() {
        let text: [UInt8] = [0x81, 0x30, 0x81, 0x30, 0x61]
        #expect(Self.readings(text).contains([0xEF, 0xBF, 0xBD, 0x61]))
    }

    @Test func aCharacterCutShortByTheEnd_isNoReading() {
        #expect(Self.readings([0x61, 0x81]) == [[0x61, 0x81]])
    }
}
