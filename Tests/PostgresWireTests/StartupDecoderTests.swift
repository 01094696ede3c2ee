import Testing
@testable import PostgresWire

/// The startup phase, as Postgres' `ProcessStartupPacket` (backend/tcop/backend_startup.c)
/// frames and checks it: protocol docs, "Start-up" and "Message Formats".
@Suite struct StartupDecoderTests {
    private func decode(_ bytes: [UInt8]) -> StartupDecoder.Result {
        StartupDecoder.decode(bytes[...])
    }

    private func sqlState(_ result: StartupDecoder.Result) -> SQLState? {
        if case .failure(let violation) = result { return violation.sqlState }
        return nil
    }

    private func startup(_ result: StartupDecoder.Result) -> StartupMessage? {
        if case .packet(.startup(let message), _) = result { return message }
        return nil
    }

    // MARK: Encryption requests

    @Test func sslRequest_isDecodedFromItsEightBytes() {
        let bytes: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]
        #expect(bytes == WireBytes.sslRequest)
        #expect(decode(bytes) == .packet(.sslRequest, consumed: 8))
    }

    @Test func sslRequestWithExtraBytes_isProtocolViolation() {
        let bytes = WireBytes.startupPacket(body: WireBytes.int32(WireBytes.sslRequestCode) + [0, 0, 0, 0])
        #expect(sqlState(decode(bytes)) == .protocolViolation)
    }

    @Test func gssEncRequest_isDecodedFromItsEightBytes() {
        let bytes: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x30]
        #expect(bytes == WireBytes.gssEncRequest)
        #expect(decode(bytes) == .packet(.gssEncRequest, consumed: 8))
    }

    @Test(arguments: [1, 4, 8])
    func gssEncRequestLongerThanEightBytes_isProtocolViolation(extra: Int) {
        let bytes = WireBytes.startupPacket(
            body: WireBytes.int32(WireBytes.gssEncRequestCode) + [UInt8](repeating: 0, count: extra))
        #expect(sqlState(decode(bytes)) == .protocolViolation)
    }

    // MARK: CancelRequest

    @Test func cancelRequestOf16Bytes_carriesProcessIDAndFourByteKey() {
        let bytes = WireBytes.cancelRequest(processID: 4242, secretKey: [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(bytes.count == 16)
        let expected = CancelRequest(key: BackendKeyData(processID: 4242, secretKey: [0xDE, 0xAD, 0xBE, 0xEF]))
        #expect(decode(bytes) == .packet(.cancel(expected), consumed: 16))
    }

    /// Protocol 3.2 (Postgres 18) lets the server hand out a secret key of up to 256 bytes.
    @Test(arguments: [5, 32, 256])
    func cancelRequestWithProtocol32LongerKey_isAccepted(keyLength: Int) {
        let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let bytes = WireBytes.cancelRequest(processID: -7, secretKey: key)
        let expected = CancelRequest(key: BackendKeyData(processID: -7, secretKey: key))
        #expect(decode(bytes) == .packet(.cancel(expected), consumed: 12 + keyLength))
    }

    @Test func cancelRequestWithKeyOver256Bytes_isProtocolViolation() {
        let bytes = WireBytes.cancelRequest(processID: 1, secretKey: [UInt8](repeating: 9, count: 257))
        #expect(sqlState(decode(bytes)) == .protocolViolation)
    }

    @Test(arguments: [0, 1, 3])
    func cancelRequestWithKeyShorterThanFourBytes_isProtocolViolation(keyLength: Int) {
        let bytes = WireBytes.cancelRequest(processID: 1, secretKey: [UInt8](repeating: 9, count: keyLength))
        #expect(sqlState(decode(bytes)) == .protocolViolation)
    }

    @Test func cancelRequestWithoutProcessID_isProtocolViolation() {
        let bytes = WireBytes.startupPacket(body: WireBytes.int32(WireBytes.cancelRequestCode))
        #expect(bytes.count == 8)
        #expect(sqlState(decode(bytes)) == .protocolViolation)
    }

    // MARK: StartupMessage

    @Test func startupMessageV30_keepsParametersInTheOrderSent() {
        let parameters = [("user", "alice"), ("database", "orders"),
                          ("options", "-c search_path=app"), ("application_name", "psql")]
        let bytes = WireBytes.startupMessage(parameters)
        let result = decode(bytes)
        guard case .packet(.startup(let message), let consumed) = result else {
            Issue.record("expected a StartupMessage, got \(result)")
            return
        }
        #expect(consumed == bytes.count)
        #expect(message.protocolVersion == .v3_0)
        #expect(message.parameters.map(\.name) == ["user", "database", "options", "application_name"])
        #expect(message.parameters.map(\.value) == ["alice", "orders", "-c search_path=app", "psql"])
        #expect(message.user == "alice")
        #expect(message.database == "orders")
        #expect(message["options"] == "-c search_path=app")
        #expect(message["application_name"] == "psql")
    }

    /// Minor versions above 3.0 pass on: Postgres itself answers with NegotiateProtocolVersion.
    @Test func startupMessageV32_isAcceptedWithItsMinorVersionAndProtocolOptions() {
        let bytes = WireBytes.startupMessage(minor: 2, [("user", "bob"), ("_pq_.test_option", "on")])
        let message = startup(decode(bytes))
        #expect(message?.protocolVersion == ProtocolVersion(major: 3, minor: 2))
        #expect(message?.protocolVersion.description == "3.2")
        #expect(message?.parameters.map(\.name) == ["user", "_pq_.test_option"])
    }

    @Test func startupMessageWithNoParameters_isAcceptedEmpty() {
        let message = startup(decode(WireBytes.startupMessage([])))
        #expect(message?.parameters.isEmpty == true)
    }

    @Test func startupMessageWithEmptyValue_keepsTheEmptyValue() {
        let message = startup(decode(WireBytes.startupMessage([("user", "u"), ("options", "")])))
        #expect(message?["options"] == "")
    }

    @Test func startupMessageWithNonASCIIUTF8_isAccepted() {
        let message = startup(decode(WireBytes.startupMessage([("user", "zoë"), ("application_name", "日本")])))
        #expect(message?.user == "zoë")
        #expect(message?["application_name"] == "日本")
    }

    @Test(arguments: [UInt16(2), 4, 1, 0, 1234])
    func startupMessageWithMajorVersionOtherThan3_isFeatureNotSupported(major: UInt16) {
        let bytes = WireBytes.startupMessage(major: major, minor: 0, [("user", "u")])
        #expect(sqlState(decode(bytes)) == .featureNotSupported)
    }

    @Test func startupMessageExactly10000Bytes_isAccepted() {
        let fixed = WireBytes.startupMessage([("user", "u"), ("options", "")]).count
        let padding = String(repeating: "x", count: 10_000 - fixed)
        let bytes = WireBytes.startupMessage([("user", "u"), ("options", padding)])
        #expect(bytes.count == 10_000)
        #expect(startup(decode(bytes))?["options"] == padding)
    }

    // MARK: Length limits, decided from the length field alone

    @Test(arguments: [Int32(7), 4, 0, -1, Int32.min])
    func startupPacketShorterThan8Bytes_isProtocolViolation(declaredLength: Int32) {
        let header = WireBytes.startupHeader(declaredLength: declaredLength)
        #expect(sqlState(decode(header)) == .protocolViolation)
    }

    @Test(arguments: [Int32(10_001), 1 << 20, Int32.max])
    func startupPacketOver10000Bytes_isProtocolViolationBeforeTheBytesArrive(declaredLength: Int32) {
        // Only the length has been received; nothing is waited for or allocated from it.
        let header = WireBytes.startupHeader(declaredLength: declaredLength)
        #expect(header.count == 4)
        #expect(sqlState(decode(header)) == .protocolViolation)
    }

    // MARK: Partial packets

    static let wholePackets: [[UInt8]] = [
        WireBytes.sslRequest,
        WireBytes.gssEncRequest,
        WireBytes.cancelRequest(processID: 99, secretKey: [1, 2, 3, 4]),
        WireBytes.cancelRequest(processID: 99, secretKey: Array(0..<64)),
        WireBytes.startupMessage([("user", "alice"), ("database", "orders"), ("application_name", "psql")]),
        WireBytes.startupMessage(minor: 2, [("user", "bob")]),
    ]

    @Test(arguments: wholePackets)
    func partialPacketAtEverySplitPoint_needsMoreData(packet: [UInt8]) {
        for prefixLength in 0..<packet.count {
            #expect(decode(Array(packet[..<prefixLength])) == .needMoreData,
                    "prefix of \(prefixLength) of \(packet.count) bytes")
        }
        guard case .packet(_, let consumed) = decode(packet) else {
            Issue.record("the whole packet did not decode")
            return
        }
        #expect(consumed == packet.count)
    }

    // MARK: Malformed parameter lists

    @Test func startupMessageMissingFinalTerminator_isProtocolViolation() {
        let raw = WireBytes.cString("user") + WireBytes.cString("alice")
        #expect(sqlState(decode(WireBytes.startupMessage(rawParameters: raw))) == .protocolViolation)
    }

    @Test func startupMessageWithOnlyTheVersion_isProtocolViolation() {
        #expect(sqlState(decode(WireBytes.startupMessage(rawParameters: []))) == .protocolViolation)
    }

    @Test func startupMessageNameWithoutValue_isProtocolViolation() {
        let raw = WireBytes.cString("user")
        #expect(sqlState(decode(WireBytes.startupMessage(rawParameters: raw))) == .protocolViolation)
    }

    @Test func startupMessageWithUnterminatedValue_isProtocolViolation() {
        let raw = WireBytes.cString("user") + Array("alice".utf8)
        #expect(sqlState(decode(WireBytes.startupMessage(rawParameters: raw))) == .protocolViolation)
    }

    @Test func startupMessageWithInvalidUTF8InName_isProtocolViolation() {
        let raw: [UInt8] = [0x75, 0xFF, 0xFE, 0] + WireBytes.cString("alice") + [0]
        #expect(sqlState(decode(WireBytes.startupMessage(rawParameters: raw))) == .protocolViolation)
    }

    @Test func startupMessageWithInvalidUTF8InValue_isProtocolViolation() {
        // 0xC3 opens a two-byte sequence that 0x28 does not continue.
        let raw = WireBytes.cString("user") + [0x61, 0xC3, 0x28, 0] + [0]
        #expect(sqlState(decode(WireBytes.startupMessage(rawParameters: raw))) == .protocolViolation)
    }

    @Test(arguments: [[UInt8(0)], [0x78], [0x78, 0], WireBytes.cString("database") + WireBytes.cString("d")])
    func startupMessageWithBytesAfterTerminator_isProtocolViolation(trailing: [UInt8]) {
        let raw = WireBytes.parameterList([("user", "alice")]) + trailing
        #expect(sqlState(decode(WireBytes.startupMessage(rawParameters: raw))) == .protocolViolation)
    }

    // MARK: Several packets in one buffer

    @Test func twoPacketsBackToBack_areDecodedOneAtATimeWithExactConsumedCounts() {
        let startupBytes = WireBytes.startupMessage([("user", "alice"), ("database", "orders")])
        let buffer = WireBytes.sslRequest + startupBytes + [0, 0]  // and the start of a third

        #expect(StartupDecoder.decode(buffer[...]) == .packet(.sslRequest, consumed: 8))
        let rest = buffer[8...]
        let result = StartupDecoder.decode(rest)
        guard case .packet(.startup(let message), let consumed) = result else {
            Issue.record("expected a StartupMessage, got \(result)")
            return
        }
        #expect(consumed == startupBytes.count)
        #expect(message.user == "alice")
        #expect(StartupDecoder.decode(rest.dropFirst(consumed)) == .needMoreData)
    }
}
