/// StartupMessage: protocol version and the client's parameters (user, database, options,
/// application_name, ...), in the order the client sent them.
///
/// Parameters stay an ordered list, not a dictionary: the proxy rewrites `user` and
/// `database` and forwards everything else exactly, including parameters it does not know
/// (`_pq_.*` protocol options among them, which Postgres negotiates itself).
public struct StartupMessage: Equatable, Sendable {
    public var protocolVersion: ProtocolVersion
    public var parameters: [(name: String, value: String)]

    public init(protocolVersion: ProtocolVersion = .v3_0, parameters: [(name: String, value: String)]) {
        self.protocolVersion = protocolVersion
        self.parameters = parameters
    }

    public subscript(name: String) -> String? {
        get { parameters.first { $0.name == name }?.value }
        set {
            if let i = parameters.firstIndex(where: { $0.name == name }) {
                if let newValue { parameters[i].value = newValue } else { parameters.remove(at: i) }
            } else if let newValue {
                parameters.append((name, newValue))
            }
        }
    }

    public var user: String? { self["user"] }

    /// Postgres defaults the database to the user name when the client sends none.
    public var database: String? { self["database"] ?? user }

    public func encoded() -> [UInt8] {
        ByteWriter.startupPacket { w in
            w.writeInt32(protocolVersion.code)
            for parameter in parameters {
                w.writeCString(parameter.name)
                w.writeCString(parameter.value)
            }
            w.writeUInt8(0)
        }
    }

    public static func == (lhs: StartupMessage, rhs: StartupMessage) -> Bool {
        lhs.protocolVersion == rhs.protocolVersion
            && lhs.parameters.elementsEqual(rhs.parameters) { $0.name == $1.name && $0.value == $1.value }
    }
}
