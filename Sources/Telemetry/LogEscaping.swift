import Logging

/// Log output in which no value can pass for something else: every metadata value (a user
/// name, a database, a peer, an error text: much of it taken from clients) is written on one
/// line, with its delimiters escaped.
///
/// Rules for a value (`LogText.escaped`):
/// - `\` becomes `\\` and `"` becomes `\"`;
/// - newline, carriage return and tab become `\n`, `\r`, `\t`; every other control character
///   (C0, DEL, C1), the Unicode line and paragraph separators and the bidirectional
///   overrides become `\u{XXXX}`, so nothing can start a line or reorder what a reader sees;
/// - a value that is empty or holds a space or `=` is put in double quotes, so it cannot
///   look like further `key=value` pairs.
///
/// Messages are escaped the same way but never quoted. Metadata keys are the program's own
/// and are written as they are.
public enum LogText {
    public static func escaped(_ value: String) -> String {
        var out = ""
        var quote = value.isEmpty
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""; quote = true
            case " ", "=": out.unicodeScalars.append(scalar); quote = true
            default: append(scalar, to: &out)
            }
        }
        return quote ? "\"\(out)\"" : out
    }

    /// A message: control characters escaped as in values, nothing quoted.
    public static func escapedMessage(_ message: String) -> String {
        guard message.unicodeScalars.contains(where: needsEscape) else { return message }
        var out = ""
        for scalar in message.unicodeScalars { append(scalar, to: &out) }
        return out
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout String) {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where needsEscape(scalar):
            out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
        default:
            out.unicodeScalars.append(scalar)
        }
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true          // C0, DEL, C1 (NEL among them)
        case 0x2028, 0x2029: true                    // line and paragraph separators
        case 0x202A...0x202E, 0x2066...0x2069: true  // bidirectional embeddings and overrides
        default: false
        }
    }
}

/// Wraps the handler that writes lines (swift-log's `StreamLogHandler`) so every value
/// reaches it escaped (`LogText`): the one place log lines are formed, whoever logs what.
/// Installed by the executable's `LoggingSystem.bootstrap`; libraries only take loggers.
public struct EscapingLogHandler: LogHandler {
    private var inner: any LogHandler
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(_ inner: any LogHandler) {
        var inner = inner
        metadata = inner.metadata
        inner.metadata = [:]
        // Read once and taken over; set only when there is one (handlers without provider
        // support complain about being given any).
        if let provider = inner.metadataProvider {
            metadataProvider = provider
            inner.metadataProvider = nil
        }
        self.inner = inner
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        var escaped = event
        // An error's text may hold client input too: written as a value like the others.
        if let error = event.error {
            all["error"] = .string("\(error)")
            escaped.error = nil
        }
        escaped.metadata = all.isEmpty ? nil : all.mapValues { .string(LogText.escaped(Self.text($0))) }
        escaped.message = Logger.Message(stringLiteral: LogText.escapedMessage(event.message.description))
        inner.log(event: escaped)
    }

    private static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): s
        default: value.description
        }
    }
}
