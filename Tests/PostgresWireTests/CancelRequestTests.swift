import Testing
@testable import PostgresWire

@Suite struct CancelRequestTests {
    @Test func encoder_writesLengthCodeProcessIDAndKey() {
        let request = CancelRequest(key: BackendKeyData(processID: 0x0102_0304, secretKey: [0xAA, 0xBB, 0xCC, 0xDD]))
        let expected: [UInt8] = [0, 0, 0, 16, 0x04, 0xD2, 0x16, 0x2E, 1, 2, 3, 4, 0xAA, 0xBB, 0xCC, 0xDD]
        #expect(request.encoded() == expected)
    }

    @Test func code_is1234Then5678() {
        #expect(CancelRequest.code == Int32(1234) << 16 | 5678)
    }

    @Test(arguments: [4, 32, 256])
    func encoder_roundTripsThroughDecoder(keyLength: Int) {
        let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: 255 - $0) }
        let request = CancelRequest(key: BackendKeyData(processID: 31337, secretKey: key))
        let bytes = request.encoded()
        #expect(bytes == WireBytes.cancelRequest(processID: 31337, secretKey: key))
        #expect(StartupDecoder.decode(bytes[...]) == .packet(.cancel(request), consumed: bytes.count))
    }
}
