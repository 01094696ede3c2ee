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

    /// A cheap pass over the bytes, with no allocation: does the text hold one of the words
    /// as a word of its own at all (any case, quoted or not)? The lexer decides the rest.
    /// Most queries stop here. Bytes outside ASCII end a word: under an encoding such as SJIS
    /// a multibyte character can end right before an ASCII letter, which then starts one.
    static func mightMention(_ text: ArraySlice<UInt8>) -> Bool {
        var wordStart: Int?
        for i in text.indices {
            let byte = text[i]
            // Unicode escapes (U&"...") can spell any word.
            if byte == UInt8(ascii: "&") { return true }
            if isWordByte(byte) {
                if wordStart == nil { wordStart = i }
            } else if let start = wordStart {
                if isListed(text[start..<i]) { return true }
                wordStart = nil
            }
        }
        return wordStart.map { isListed(text[$0...]) } ?? false
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (0x61...0x7A).contains(byte | 0x20) || (0x30...0x39).contains(byte) || byte == 0x5F || byte == 0x24
    }

    private static let listedWords: [[UInt8]] = (leadingWords.union(anywhereWords)).map { Array($0.utf8) }

    private static func isListed(_ word: ArraySlice<UInt8>) -> Bool {
        for listed in listedWords where listed.count == word.count {
            if zip(listed, word).allSatisfy({ $0 == ($1 | 0x20) || ($0 == 0x5F && $1 == 0x5F) }) { return true }
        }
        return false
    }
}
