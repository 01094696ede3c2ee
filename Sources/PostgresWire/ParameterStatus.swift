/// ParameterStatus ('S'): the server reports a run-time parameter's value. Sent by
/// Postgres after authentication and after every SET of a GUC_REPORT parameter.
public struct ParameterStatus: Equatable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public func encoded() -> [UInt8] {
        ByteWriter.message(BackendMessageID.parameterStatus.rawValue) { w in
            w.writeCString(name)
            w.writeCString(value)
        }
    }

    public static func decode(payload: ArraySlice<UInt8>) -> ParameterStatus? {
        var reader = ByteReader(payload)
        guard case .string(let name) = reader.readCString(),
              case .string(let value) = reader.readCString(), reader.remaining == 0
        else { return nil }
        return ParameterStatus(name: name, value: value)
    }
}
