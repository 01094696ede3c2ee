/// The ways the server may split a client's text into characters before it parses it.
///
/// The server converts a Query or Parse text from the session's client_encoding to its own
/// before lexing, and the proxy cannot know the encoding a message is in: the client may
/// change it in the same batch (`SET client_encoding`) without waiting for the server's
/// ParameterStatus. So the text is read every way an encoding Postgres accepts could read
/// it, and judged under each (Postgres docs 24.3.1 "Supported Character Sets"):
///
/// - Every encoding a server can use (UTF8, LATIN1-10, WIN125x, KOI8, EUC_*, MULE_INTERNAL,
///   SQL_ASCII) keeps ASCII bytes for ASCII characters and uses only bytes from 0x80 up in
///   the others, so its text splits exactly as `SQLLexer` splits the raw bytes: one reading.
/// - The client-only encodings have multibyte characters whose later bytes can be ASCII: a
///   `\` or a letter inside a character, not a backslash or a word. They take the bytes
///   their character length says (wchar.c's `pg_*_mblen`): SJIS and SHIFT_JIS_2004 two
///   bytes for a lead byte outside 0xA1-0xDF; BIG5, GBK and UHC two for every byte from
///   0x80; GB18030 four when the second byte is a digit, else two (JOHAB's later bytes are
///   never ASCII in text its validator accepts).
///
/// A reading is skipped when the server would refuse the text under that encoding: a
/// character cut short by the end, or a second byte below 0x40 (SJIS's validator refuses
/// it, and no character of BIG5, GBK, UHC or GB18030's two-byte range has one, so the
/// conversion fails), which is what keeps quotes, `;` and spaces after a non-ASCII byte
/// from being swallowed in readings the server cannot use. A reading that swallows no ASCII
/// byte splits like the raw bytes and is skipped too.
enum ClientTextReading: CaseIterable {
    case shiftJIS
    case doubleByte
    case gb18030

    /// The raw bytes first, then each differing reading, with every multibyte character
    /// replaced by U+FFFD (non-ASCII, so it stays inside identifiers and constants).
    static func readings(of bytes: ArraySlice<UInt8>) -> [[UInt8]] {
        let raw = Array(bytes)
        guard raw.contains(where: { $0 >= 0x80 }) else { return [raw] }
        return [raw] + allCases.compactMap { $0.read(raw) }
    }

    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// The text as this encoding splits it, or nil when it is invalid in this encoding or
    /// splits like the raw bytes.
    private func read(_ b: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(b.count + b.count / 2)
        var swallowedASCII = false
        var i = 0
        while i < b.count {
            let c = b[i]
            guard c >= 0x80 else {
                out.append(c)
                i += 1
                continue
            }
            guard let length = characterLength(b, at: i) else { return nil }
            if length == 1 {
                out.append(c)
                i += 1
                continue
            }
            guard i + length <= b.count else { return nil }
            if b[(i + 1)..<(i + length)].contains(where: { $0 < 0x80 }) { swallowedASCII = true }
            out += Self.replacement
            i += length
        }
        return swallowedASCII ? out : nil
    }

    /// The length of the character starting with the non-ASCII byte at `i`, nil when the
    /// server refuses it.
    private func characterLength(_ b: [UInt8], at i: Int) -> Int? {
        let lead = b[i]
        let second = i + 1 < b.count ? b[i + 1] : nil
        switch self {
        case .shiftJIS:
            if (0xA1...0xDF).contains(lead) { return 1 }
            guard (0x81...0x9F).contains(lead) || (0xE0...0xFC).contains(lead), let second,
                  (0x40...0x7E).contains(second) || (0x80...0xFC).contains(second)
            else { return nil }
            return 2
        case .doubleByte:
            guard let second, second >= 0x40 else { return nil }
            return 2
        case .gb18030:
            guard let second else { return nil }
            if (0x30...0x39).contains(second) { return 4 }
            return second >= 0x40 ? 2 : nil
        }
    }
}
