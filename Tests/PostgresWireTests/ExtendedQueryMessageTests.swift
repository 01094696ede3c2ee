import Testing
@testable import PostgresWire

/// Parse, Bind and FunctionCall as the settings guard reads them: strings as bytes in any
/// client_encoding, counts unsigned, values with their format codes.
@Suite struct ExtendedQueryMessageTests {
    static func bindPayload(portal: String, statement: String, formats: [Int16], values: [[UInt8]?], results: [Int16]) -> [UInt8] {
        var payload = WireBytes.cString(portal) + WireBytes.cString(statement) + WireBytes.int16(Int16(formats.count))
        payload += formats.flatMap(WireBytes.int16) + WireBytes.int16(Int16(values.count))
        for value in values {
            payload += value.map { WireBytes.int32(Int32($0.count)) + $0 } ?? WireBytes.int32(-1)
        }
        return payload + WireBytes.int16(Int16(results.count)) + results.flatMap(WireBytes.int16)
    }

    @Test func bind_decodesNamesFormatsValuesAndNull() throws {
        let payload = Self.bindPayload(portal: "p", statement: "S_1", formats: [0, 1],
                                       values: [Array("work_mem".utf8), nil], results: [1])
        let bind = try #require(Bind.decode(payload: payload[...]))
        #expect(Array(bind.portal) == Array("p".utf8))
        #expect(Array(bind.statement) == Array("S_1".utf8))
        #expect(bind.parameters.values.map { $0.map(Array.init) } == [Array("work_mem".utf8), nil])
        #expect(bind.parameters.format(of: 0) == .text)
        #expect(bind.parameters.format(of: 1) == .binary)
        #expect(bind.resultFormatCodes == [1])
    }

    @Test func bind_encoderWritesWhatTheDecoderReads() throws {
        let payload = Self.bindPayload(portal: "", statement: "", formats: [], values: [Array("x".utf8)], results: [])
        let bind = try #require(Bind.decode(payload: payload[...]))
        #expect(bind.encoded() == WireBytes.message("B", payload))
    }

    @Test func bind_truncatedOrWithTrailingBytes_isNil() {
        let payload = Self.bindPayload(portal: "", statement: "s", formats: [], values: [Array("abc".utf8)], results: [])
        #expect(Bind.decode(payload: payload.dropLast()) == nil)
        #expect(Bind.decode(payload: (payload + [0])[...]) == nil)
    }

    @Test func boundValues_formatCodes_noneOneOrOnePerValue() {
        let values: [ArraySlice<UInt8>?] = [[1], [2]]
        #expect(BoundValues(formatCodes: [], values: values).format(of: 1) == .text)
        #expect(BoundValues(formatCodes: [1], values: values).format(of: 1) == .binary)
        #expect(BoundValues(formatCodes: [1, 0], values: values).format(of: 1) == .text)
        // The server refuses these messages: three codes for two values, an unknown code.
        #expect(BoundValues(formatCodes: [0, 0, 0], values: values).format(of: 0) == nil)
        #expect(BoundValues(formatCodes: [2], values: values).format(of: 0) == nil)
    }

    @Test func functionCall_decodesOIDArgumentsAndResultFormat() throws {
        let payload = WireBytes.int32(2078) + WireBytes.int16(1) + WireBytes.int16(1) + WireBytes.int16(3)
            + WireBytes.int32(8) + Array("work_mem".utf8) + WireBytes.int32(3) + Array("1GB".utf8)
            + WireBytes.int32(1) + [0] + WireBytes.int16(0)
        let call = try #require(FunctionCall.decode(payload: payload[...]))
        #expect(call.functionOID == 2078)
        #expect(call.arguments.count == 3)
        #expect(call.arguments.format(of: 2) == .binary)
        #expect(call.arguments.values[1].map(Array.init) == Array("1GB".utf8))
        #expect(call.encoded() == WireBytes.message("F", payload))
        #expect(FunctionCall.decode(payload: payload.dropLast()) == nil)
    }

    @Test func rawParse_keepsBytesThatAreNotUTF8_andReadsCountsUnsigned() throws {
        let latin1: [UInt8] = Array("SELECT 'caf".utf8) + [0xE9, 0x27]
        let payload = [0x73, 0] + latin1 + [0] + WireBytes.int16(1) + WireBytes.int32(25)
        let parse = try #require(RawParse.decode(payload: payload[...]))
        #expect(Array(parse.query) == latin1)
        #expect(parse.parameterTypes == [25])
        #expect(Parse.decode(payload: payload[...]) == nil)  // not UTF-8
        #expect(parse.encoded() == WireBytes.message("P", payload))
        // 40000 declared types: more than an Int16 holds, as many as the server reads.
        let many = WireBytes.cString("") + WireBytes.cString("select $1") + WireBytes.int16(Int16(bitPattern: 40000))
            + Array(repeating: WireBytes.int32(0), count: 40000).flatMap { $0 }
        #expect(RawParse.decode(payload: many[...])?.parameterTypes.count == 40000)
    }

    @Test func queryText_asBytes_inAnyEncoding() {
        let sjis: [UInt8] = Array("SELECT E'".utf8) + [0x81, 0x5C] + Array("'".utf8)
        #expect(Query.decodeText(payload: (sjis + [0])[...]).map(Array.init) == sjis)
        #expect(Query.decodeText(payload: sjis[...]) == nil)
    }

    @Test func errorFields_contextAndRoutine_areTheirProtocolLetters() {
        #expect(ErrorResponse.Field.context.rawValue == UInt8(ascii: "W"))
        #expect(ErrorResponse.Field.routine.rawValue == UInt8(ascii: "R"))
        #expect(FrontendMessageID.functionCall.rawValue == UInt8(ascii: "F"))
    }
}
