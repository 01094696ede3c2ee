import Testing
@testable import PostgresWire

@Suite struct StartupPacketTests {
    /// A single 'N' declines SSLRequest and GSSENCRequest (protocol docs, "SSL Session
    /// Encryption"); the client then carries on in plain text on the same socket.
    @Test func declineEncryption_isTheSingleByteN() {
        #expect(StartupPacket.declineEncryption == [0x4E])
    }

    @Test func requestCodes_are1234Then5679And5680() {
        #expect(StartupPacket.sslRequestCode == WireBytes.sslRequestCode)
        #expect(StartupPacket.gssEncRequestCode == WireBytes.gssEncRequestCode)
        #expect(ProtocolVersion(code: StartupPacket.sslRequestCode) == ProtocolVersion(major: 1234, minor: 5679))
        #expect(ProtocolVersion(code: StartupPacket.gssEncRequestCode) == ProtocolVersion(major: 1234, minor: 5680))
    }
}
