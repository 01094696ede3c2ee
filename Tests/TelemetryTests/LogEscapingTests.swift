import Logging
import Synchronization
import Telemetry
import Testing
import TierModel

/// No value taken from a client can forge a log line or a key=value pair.
struct LogEscapingTests {
    @Test func newlinesAndControlCharacters_areEscaped() {
        #expect(LogText.escaped("app\nINFO forged line") == #""app\nINFO forged line""#)
        #expect(LogText.escaped("a\rb\tc") == #"a\rb\tc"#)
        #expect(LogText.escaped("bell\u{07}esc\u{1B}del\u{7F}nel\u{85}") == #"bell\u{7}esc\u{1B}del\u{7F}nel\u{85}"#)
        #expect(LogText.escaped("ls\u{2028}ps\u{2029}rlo\u{202E}") == #"ls\u{2028}ps\u{2029}rlo\u{202E}"#)
    }

    @Test func spacesEqualSignsAndQuotes_makeTheValueQuoted() {
        #expect(LogText.escaped("org_acme") == "org_acme")
        #expect(LogText.escaped("x org=org_delta") == #""x org=org_delta""#)
        #expect(LogText.escaped(#"say "hi""#) == #""say \"hi\"""#)
        #expect(LogText.escaped(#"back\slash"#) == #"back\\slash"#)
        #expect(LogText.escaped("") == #""""#)
        #expect(LogText.escaped("üñí") == "üñí")
    }

    @Test func messages_areEscapedButNotQuoted() {
        #expect(LogText.escapedMessage("session established") == "session established")
        #expect(LogText.escapedMessage("a\nb") == #"a\nb"#)
    }

    @Test func handler_escapesEveryValue_fromTheLoggerAndTheCall() {
        let captured = CapturedEvents()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(CapturingLogHandler(captured)) }
        logger[metadataKey: "user"] = "evil\nINFO: admitted"
        logger.info("connection closed", metadata: ["database": "a b", "count": "\(3)"])
        let event = captured.events.first
        #expect(event?.metadata?["user"] == .string(#""evil\nINFO: admitted""#))
        #expect(event?.metadata?["database"] == .string(#""a b""#))
        #expect(event?.metadata?["count"] == .string("3"))
        #expect(event?.message.description == "connection closed")
    }

    /// FIPS 180-4 test vectors, through the org label.
    @Test func hashedLabels_areTheFirst64BitsOfSHA256() throws {
        // SHA-256("abc") = ba7816bf8f01cfea...
        #expect(OrgLabelMode.hashedLabel(try OrgId("abc")) == "ba7816bf8f01cfea")
        #expect(OrgLabelMode.plain.label(for: try OrgId("org_acme")) == "org_acme")
        #expect(OrgLabelMode.off.label(for: try OrgId("org_acme")) == nil)
        #expect(OrgLabelMode.hashedLabel(try OrgId("org_acme")).count == 16)
    }
}

final class CapturedEvents: Sendable {
    private let state = Mutex<[LogEvent]>([])
    var events: [LogEvent] { state.withLock { $0 } }
    func append(_ event: LogEvent) { state.withLock { $0.append(event) } }
}

struct CapturingLogHandler: LogHandler {
    let captured: CapturedEvents
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(_ captured: CapturedEvents) { self.captured = captured }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) { captured.append(event) }
}
