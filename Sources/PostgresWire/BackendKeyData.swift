/// BackendKeyData ('K'): the process id and secret key a client must present in a
/// CancelRequest. Protocol 3.2 (Postgres 18) allows a secret of up to 256 bytes, so the key
/// is kept as bytes rather than an Int32.
public struct BackendKeyData: Hashable, Sendable {
    public var processID: Int32
    public var secretKey: [UInt8]

    public init(processID: Int32, secretKey: [UInt8]) {
        self.processID = processID
        self.secretKey = secretKey
    }

    public static let maxSecretKeyLength = 256

    public static func decode(payload: ArraySlice<UInt8>) -> BackendKeyData? {
        var reader = ByteReader(payload)
        guard let pid = reader.readInt32(), (4...maxSecretKeyLength).contains(reader.remaining),
              let key = reader.readBytes(reader.remaining)
        else { return nil }
        return BackendKeyData(processID: pid, secretKey: Array(key))
    }

    public func encoded() -> [UInt8] {
        ByteWriter.message(BackendMessageID.backendKeyData.rawValue) { w in
            w.writeInt32(processID)
            w.writeBytes(secretKey)
        }
    }
}
