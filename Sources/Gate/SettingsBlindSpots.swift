/// SQL whose effect on the session's settings cannot be read from its text: code that runs
/// later or elsewhere (DO blocks, CALL, EXECUTE of a prepared statement, function and
/// procedure definitions and changes), and set_config with values only known at run time.
/// The settings guard cannot judge these; the proxy checks the settings after them instead.
///
/// Known limits: a plain SELECT of a user function that calls set_config inside is not
/// flagged (it would mean flagging every function call); the proxy's own statement timeout
/// bounds what such a session can run meanwhile, and the next flagged statement restores.
public enum SettingsBlindSpots {
    /// Leading keywords of statements that run code the text does not show.
    static let leadingWords: Set<String> = ["do", "call", "execute"]
    /// Words that, anywhere in a statement, mark a definition or change of code, or a
    /// setting changed through a function.
    static let anywhereWords: Set<String> = ["function", "procedure", "routine", "set_config"]

    /// Whether any statement of `sql` may change settings in ways its text does not show.
    public static func mayChangeSettings(sql: String) -> Bool {
        mayChangeSettings(text: Array(sql.utf8)[...])
    }

    /// The same for a text given as bytes in the session's client_encoding, whatever it is:
    /// judged under every reading the server could apply (`ClientTextReading`), so an SJIS
    /// character that swallows a backslash cannot hide a DO block inside what UTF-8 reads as
    /// a string.
    public static func mayChangeSettings(text: ArraySlice<UInt8>) -> Bool {
        guard mightMention(text) else { return false }
        for reading in ClientTextReading.readings(of: text) {
            for statement in SQLLexer.statements(in: reading) {
                if let first = statement.first(where: { $0.kind == .word }), let word = first.value, leadingWords.contains(word) {
                    return true
                }
                if statement.contains(where: { $0.kind == .word && $0.value.map(anywhereWords.contains) == true }) {
                    return true
                }
                if statement.contains(where: { $0.kind == .quotedIdentifier && $0.value == nil }) {
                    return true  // an identifier it cannot decode
                }
            }
        }
        return false
    }

    /// A cheap pass over the bytes: can the text contain one of the words at all? (Quoted
    /// and escaped forms are letters too; the lexer decides.) Most queries stop here.
    static func mightMention(_ text: ArraySlice<UInt8>) -> Bool {
        var lowered: [UInt8] = []
        lowered.reserveCapacity(text.count)
        for byte in text {
            lowered.append((65...90).contains(byte) ? byte | 0x20 : byte)
        }
        for word in leadingWords.union(anywhereWords) {
            let pattern = Array(word.utf8)
            if lowered.count >= pattern.count,
               (0...(lowered.count - pattern.count)).contains(where: { lowered[$0..<($0 + pattern.count)].elementsEqual(pattern) }) {
                return true
            }
        }
        // Unicode escapes (U&"...") can spell any word.
        return lowered.contains(UInt8(ascii: "&"))
    }
}
