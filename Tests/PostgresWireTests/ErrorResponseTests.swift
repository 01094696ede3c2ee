import Testing
@testable import PostgresWire

/// Protocol docs, "ErrorResponse" and "Error and Notice Message Fields".
@Suite struct ErrorResponseTests {
    @Test func tinyFatalMessage_encodesToExactlyTheHandWrittenBytes() {
        let error = ErrorResponse(severity: .fatal, sqlState: .protocolViolation, message: "x")
        let expected: [UInt8] = [
            0x45, 0, 0, 0, 29,                            // 'E', length 29
            0x53, 0x46, 0x41, 0x54, 0x41, 0x4C, 0,        // S FATAL\0
            0x56, 0x46, 0x41, 0x54, 0x41, 0x4C, 0,        // V FATAL\0
            0x43, 0x30, 0x38, 0x50, 0x30, 0x31, 0,        // C 08P01\0
            0x4D, 0x78, 0,                                // M x\0
            0,                                            // end of fields
        ]
        #expect(error.encoded() == expected)
    }

    @Test func encodedAsNotice_usesTypeN() {
        let notice = ErrorResponse(severity: .error, sqlState: SQLState(rawValue: "01000")!, message: "m")
        #expect(notice.encoded(as: .noticeResponse).first == 0x4E)
        #expect(Array(notice.encoded(as: .noticeResponse).dropFirst()) == Array(notice.encoded().dropFirst()))
    }

    @Test func encodeThenDecode_roundTripsWithDetailAndHint() throws {
        let error = ErrorResponse(severity: .error, sqlState: .tooManyConnections, message: "too many connections",
                                  detail: "free tier: 5 connections", hint: "upgrade to pro")
        let framed = try #require(WireBytes.unframe(error.encoded()))
        #expect(framed.id == 0x45)
        let decoded = try #require(ErrorResponse.decode(payload: framed.payload[...]))
        #expect(decoded == error)
        #expect(decoded.fields.map(\.code) == [0x53, 0x56, 0x43, 0x4D, 0x44, 0x48])
        #expect(decoded.sqlState == .tooManyConnections)
        #expect(decoded.message == "too many connections")
        #expect(decoded[.detail] == "free tier: 5 connections")
        #expect(decoded[.hint] == "upgrade to pro")
    }

    /// A message from Postgres carries fields TierGate does not interpret (P position,
    /// W where, F file, L line, R routine); they must survive decode and re-encode.
    @Test func decodeThenEncode_keepsFieldOrderAndUninterpretedFieldsByteForByte() throws {
        let payload: [UInt8] = [0x4D] + WireBytes.cString("relation \"t\" does not exist")
            + [0x53] + WireBytes.cString("ERROR")
            + [0x50] + WireBytes.cString("15")
            + [0x43] + WireBytes.cString("42P01")
            + [0x46] + WireBytes.cString("parse_relation.c")
            + [0x4C] + WireBytes.cString("1449")
            + [0x52] + WireBytes.cString("parserOpenTable")
            + [0x56] + WireBytes.cString("ERROR")
            + [0]
        let decoded = try #require(ErrorResponse.decode(payload: payload[...]))
        #expect(decoded.fields.map(\.code) == [0x4D, 0x53, 0x50, 0x43, 0x46, 0x4C, 0x52, 0x56])
        #expect(decoded.fields.map(\.value) == ["relation \"t\" does not exist", "ERROR", "15", "42P01",
                                                "parse_relation.c", "1449", "parserOpenTable", "ERROR"])
        #expect(decoded.encoded() == WireBytes.message("E", payload))
    }

    @Test func decodeOfPayloadSliceInsideALargerBuffer_readsOnlyTheSlice() throws {
        let payload = [0x53] + WireBytes.cString("FATAL") + [0x4D] + WireBytes.cString("bye") + [0]
        let buffer = [0xEE, 0xEE] + payload + [0xEE]
        let decoded = try #require(ErrorResponse.decode(payload: buffer[2..<(2 + payload.count)]))
        #expect(decoded.message == "bye")
    }

    @Test func subscriptSet_replacesInPlaceAndKeepsOrder() {
        var error = ErrorResponse(severity: .fatal, sqlState: .protocolViolation, message: "old")
        error[.message] = "new"
        #expect(error.fields.map(\.code) == [0x53, 0x56, 0x43, 0x4D])
        #expect(error.message == "new")
    }

    @Test func subscriptSet_appendsAMissingField() {
        var error = ErrorResponse(severity: .fatal, sqlState: .tooManyConnections, message: "limit")
        error[.hint] = "upgrade"
        #expect(error.fields.last?.code == 0x48)
        #expect(error.fields.last?.value == "upgrade")
        #expect(error[.hint] == "upgrade")
    }

    @Test func subscriptSetNil_removesTheFieldAndIgnoresAMissingOne() {
        var error = ErrorResponse(severity: .fatal, sqlState: .protocolViolation, message: "m", detail: "d")
        error[.detail] = nil
        #expect(error[.detail] == nil)
        #expect(error.fields.map(\.code) == [0x53, 0x56, 0x43, 0x4D])
        error[.hint] = nil
        #expect(error.fields.count == 4)
    }

    @Test func subscriptGet_returnsTheFirstOfRepeatedFields() {
        let error = ErrorResponse(fields: [(0x4D, "first"), (0x4D, "second")])
        #expect(error.message == "first")
    }

    @Test func encoder_dropsEmbeddedNULInAValue() throws {
        let error = ErrorResponse(fields: [(0x4D, "a\0b"), (0x43, "XX000")])
        let expected = WireBytes.message("E", [0x4D] + WireBytes.cString("ab") + [0x43] + WireBytes.cString("XX000") + [0])
        #expect(error.encoded() == expected)
        let framed = try #require(WireBytes.unframe(error.encoded()))
        #expect(ErrorResponse.decode(payload: framed.payload[...])?.fields.map(\.value) == ["ab", "XX000"])
    }

    @Test func decodeOfPayloadMissingTheFinalZero_isNil() {
        let payload = [0x53] + WireBytes.cString("ERROR") + [0x4D] + WireBytes.cString("m")
        #expect(ErrorResponse.decode(payload: payload[...]) == nil)
    }

    @Test func decodeOfUnterminatedField_isNil() {
        let payload: [UInt8] = [0x53] + WireBytes.cString("ERROR") + [0x4D] + Array("no terminator".utf8)
        #expect(ErrorResponse.decode(payload: payload[...]) == nil)
    }

    @Test func decodeOfFieldCodeWithNoValue_isNil() {
        #expect(ErrorResponse.decode(payload: [0x53][...]) == nil)
    }

    @Test func decodeOfEmptyPayload_isNil() {
        #expect(ErrorResponse.decode(payload: [][...]) == nil)
    }

    @Test func decodeOfBytesAfterTheFinalZero_isNil() {
        let payload = [0x4D] + WireBytes.cString("m") + [0, 0x4D]
        #expect(ErrorResponse.decode(payload: payload[...]) == nil)
    }

    @Test func decodeOfInvalidUTF8Value_isNil() {
        let payload: [UInt8] = [0x4D, 0xFF, 0xFE, 0, 0]
        #expect(ErrorResponse.decode(payload: payload[...]) == nil)
    }

    @Test func decodeOfOnlyTheFinalZero_isAnErrorWithNoFields() {
        #expect(ErrorResponse.decode(payload: [0][...])?.fields.isEmpty == true)
    }

    @Test func equality_comparesFieldsInOrder() {
        let a = ErrorResponse(fields: [(0x43, "1"), (0x4D, "2")])
        #expect(a == ErrorResponse(fields: [(0x43, "1"), (0x4D, "2")]))
        #expect(a != ErrorResponse(fields: [(0x4D, "2"), (0x43, "1")]))
        #expect(a != ErrorResponse(fields: [(0x43, "1")]))
    }
}
