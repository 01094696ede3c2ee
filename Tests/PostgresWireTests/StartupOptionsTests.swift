import PostgresWire
import Testing

/// `options` read as a Postgres backend reads it, only `-c`/`--` settings accepted.
struct StartupOptionsTests {
    static func settings(_ text: String) -> [String]? {
        try? StartupOptions.parse(text).get().map(\.description)
    }

    @Test func everySettingForm_isRead_inOrder_dashesBecomeUnderscores() {
        #expect(Self.settings("-c work_mem=1MB -cgeqo=off --statement-timeout=5s") ==
                ["work_mem=1MB", "geqo=off", "statement_timeout=5s"])
        #expect(Self.settings("") == [])
        #expect(Self.settings("  \t ") == [])
    }

    @Test func aValueMayHoldEscapedSpacesAndEqualSigns() {
        #expect(Self.settings(#"-c application_name=my\ app\ =1"#) == ["application_name=my app =1"])
    }

    @Test(arguments: ["-S 1000000", "-B 100", "-F", "-f s", "-e", "-d 5", "-E", "-O", "-P", "-W 10", "-j", "-s",
                      "work_mem=1GB", "--", "-c", "-c work_mem", "--work_mem", "-c =1", "-c -S"])
    func anythingButASetting_isRefusedAsAProtocolViolation(_ options: String) {
        guard case .failure(let violation) = StartupOptions.parse(options) else {
            Issue.record("\(options) was accepted")
            return
        }
        #expect(violation.sqlState == .protocolViolation)
    }

    @Test func serverSwitchInTheMiddle_refusesTheWhole() {
        #expect(Self.settings("-c geqo=off -S 1000000 -c x=1") == nil)
    }

    /// pg_split_opts treats every C `isspace` byte as a separator and a backslash as
    /// "the next byte is literal".
    @Test func words_followPgSplitOpts() {
        #expect(StartupOptions.words("a\tb\nc\u{0B}d\u{0C}e\r\nf") == ["a", "b", "c", "d", "e", "f"])
        #expect(StartupOptions.words(#"a\\b \ c\"#) == [#"a\b"#, " c"])
    }

    @Test(arguments: ["my app", "tab\there", "new\nline", "cr\r\nlf", #"back\slash"#, "plain", "üñí cödé", "\u{0B}\u{0C}"])
    func encodedSettings_readBackUnchanged(_ value: String) throws {
        let settings = [StartupOptions.Setting(name: "application_name", value: value),
                        StartupOptions.Setting(name: "search_path", value: "a, b")]
        #expect(try StartupOptions.parse(StartupOptions.encode(settings)).get() == settings)
    }
}
