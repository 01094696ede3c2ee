import Testing
@testable import PostgresWire

@Suite struct ProtocolVersionTests {
    @Test func code_isMajorInHighHalfMinorInLowHalf() {
        #expect(ProtocolVersion.v3_0.code == 0x0003_0000)
        #expect(ProtocolVersion(major: 3, minor: 2).code == 0x0003_0002)
        #expect(ProtocolVersion(code: 0x0003_0002) == ProtocolVersion(major: 3, minor: 2))
    }

    @Test func codeWithHighBitSet_roundTrips() {
        let version = ProtocolVersion(major: 0xFFFF, minor: 0xFFFE)
        #expect(version.code == -2)
        #expect(ProtocolVersion(code: version.code) == version)
    }

    @Test func description_isMajorDotMinor() {
        #expect(ProtocolVersion.v3_0.description == "3.0")
        #expect(ProtocolVersion(major: 3, minor: 2).description == "3.2")
    }
}
