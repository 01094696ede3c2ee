import TierModel

/// One reply line: a JSON object with `"ok"` first, then the command's fields.
public struct AdminReply: Sendable, Equatable {
    public var ok: Bool
    public var fields: JSONObject

    public init(ok: Bool, fields: JSONObject) {
        self.ok = ok
        self.fields = fields
    }

    public static func success(_ fields: JSONObject = [:]) -> AdminReply {
        AdminReply(ok: true, fields: fields)
    }

    public static func failure(_ message: String) -> AdminReply {
        AdminReply(ok: false, fields: ["error": .string(message)])
    }

    public static func failure(_ error: AdminCommandError) -> AdminReply {
        failure(error.description)
    }

    /// `{"ok":...,...}` and a newline: one object per line, as `socat` and scripts read it.
    public var line: String {
        var object = JSONObject([(key: "ok", value: .bool(ok))])
        for member in fields.members where member.key != "ok" { object[member.key] = member.value }
        return JSONValue.object(object).serialized + "\n"
    }
}

/// What runs the commands: the serving process's tier admission, resolver and caches.
/// Called off the socket's event loop, one command at a time per connection; may block
/// (MongoDB, Redis).
public protocol AdminBackend: Sendable {
    func execute(_ command: AdminCommand) -> AdminReply
}

/// The protocol of one admin connection without the socket: bytes in, commands to run and
/// ready replies out, in order.
public struct AdminConversation: Sendable {
    public enum Step: Sendable, Equatable {
        case run(AdminCommand)
        case reply(AdminReply)
    }

    private var lines: AdminLineBuffer

    public init(lineLimit: Int = 4096) { lines = AdminLineBuffer(limit: lineLimit) }

    public var lineLimit: Int { lines.limit }

    public mutating func receive(_ bytes: some Sequence<UInt8>) -> [Step] {
        lines.feed(bytes).map { step(for: $0) }
    }

    /// What one line asks for.
    public func step(for line: AdminLineBuffer.Line) -> Step {
        switch line {
        case .tooLong:
            return .reply(.failure(.lineTooLong(limit: lines.limit)))
        case .notText:
            return .reply(.failure(.notText))
        case .text(let text):
            // Every line gets exactly one reply, a blank one too, so a client can pair
            // replies with the lines it sent by counting.
            do throws(AdminCommandError) {
                return .run(try AdminCommand.parse(text))
            } catch {
                return .reply(.failure(error))
            }
        }
    }
}
