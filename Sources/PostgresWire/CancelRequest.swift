/// CancelRequest: sent on a fresh connection, outside any session, to ask the server to
/// cancel the query running in the backend identified by `key`. No reply is sent.
public struct CancelRequest: Hashable, Sendable {
    public var key: BackendKeyData

    public init(key: BackendKeyData) { self.key = key }

    public static let code = Int32(80877102)  // 1234 << 16 | 5678

    public func encoded() -> [UInt8] {
        ByteWriter.startupPacket { w in
            w.writeInt32(Self.code)
            w.writeInt32(key.processID)
            w.writeBytes(key.secretKey)
        }
    }
}
