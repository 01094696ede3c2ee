/// One token of Postgres SQL as `scan.l` splits it, with just enough decoding for the
/// settings guard: identifiers folded as the parser folds them, string constants decoded.
struct SQLToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// An unquoted identifier or keyword; `value` is ASCII-lowercased (`downcase_identifier`).
        case word
        /// `"..."` or `U&"..." [UESCAPE '<c>']`; `value` is the identifier as written (Unicode
        /// escapes decoded), nil when undecodable.
        case quotedIdentifier
        /// `'...'`, `E'...'`, `N'...'`, `U&'...' [UESCAPE '<c>']`; `value` is the decoded text,
        /// nil when undecodable or unterminated.
        case string
        /// `B'...'`, `X'...'`: never a valid GUC value or name.
        case bitString
        /// A numeric constant; `value` is what the parser hands SET: integers in decimal
        /// (`010` is 10, `0x10` is 16, `1_000` is 1000), other numbers as written.
        case number
        /// `$1`; `value` is the number in decimal.
        case parameter
        /// `$$...$$` or `$tag$...$tag$`: opaque data.
        case dollarQuoted
        /// Punctuation or one operator character; `::`, `:=`, `=>` are one token.
        case symbol
    }

    let kind: Kind
    let value: String?
    /// The token's text as the client wrote it.
    let source: String

    func isWord(_ word: String) -> Bool { kind == .word && value == word }
    func isSymbol(_ symbol: String) -> Bool { kind == .symbol && value == symbol }
}

/// Splits SQL text into statements of tokens the way Postgres' lexer does (scan.l, Postgres
/// docs 4.1 "Lexical Structure"), so text that only looks like SQL is never mistaken for it:
/// string constants, quoted identifiers, dollar-quoted bodies, `--` and nested `/* */`
/// comments are single tokens or skipped, and statements end at `;` outside all of them.
///
/// One switch is not visible in the text: `standard_conforming_strings`. With it off, a
/// backslash escapes the next character inside `'...'` too, so the same bytes split into
/// different tokens. The caller lexes both ways when it must not be fooled.
///
/// Not modelled, because they can only turn tokens into fewer, longer tokens the caller
/// treats conservatively: string continuation across newlines (`'1'\n'GB'` stays two
/// tokens), the trailing-junk error of Postgres 15 (`1GB` unquoted is a number and a word),
/// and multi-character operators (`<=` is two symbols).
///
/// Only ASCII bytes are structure (quotes, backslashes, operators, keywords); every byte
/// from 0x80 up is part of an identifier or a constant, as in scan.l. So the bytes of any
/// client_encoding whose multibyte characters use only such bytes (UTF-8, LATIN1, EUC_*, ...)
/// split exactly as the server splits them after converting them; for the encodings whose
/// second bytes can be ASCII (SJIS, BIG5, GBK, UHC, GB18030) see `ClientTextReading`.
/// Constants and quoted identifiers whose bytes are not UTF-8 have no `value`.
enum SQLLexer {
    /// The statements of `sql`, each a non-empty token list without the `;`.
    static func statements(in sql: String, standardConformingStrings: Bool = true) -> [[SQLToken]] {
        statements(in: Array(sql.utf8), standardConformingStrings: standardConformingStrings)
    }

    /// The statements of a text given as bytes.
    static func statements(in bytes: [UInt8], standardConformingStrings: Bool = true) -> [[SQLToken]] {
        var statements: [[SQLToken]] = []
        var current: [SQLToken] = []
        for token in tokens(in: bytes, standardConformingStrings: standardConformingStrings) {
            if token.isSymbol(";") {
                if !current.isEmpty { statements.append(current) }
                current = []
            } else {
                current.append(token)
            }
        }
        if !current.isEmpty { statements.append(current) }
        return statements
    }

    /// All tokens of `sql`, comments and whitespace dropped.
    static func tokens(in sql: String, standardConformingStrings: Bool = true) -> [SQLToken] {
        tokens(in: Array(sql.utf8), standardConformingStrings: standardConformingStrings)
    }

    static func tokens(in bytes: [UInt8], standardConformingStrings: Bool = true) -> [SQLToken] {
        var scanner = Scanner(bytes: bytes, standardConformingStrings: standardConformingStrings)
        return scanner.run()
    }

    private struct Scanner {
        let b: [UInt8]
        let standardConformingStrings: Bool
        var i = 0
        var out: [SQLToken] = []
        /// For each `U&` token (by index in `out`): its text with quotes undoubled but escapes
        /// not yet decoded (nil when unterminated), since a `UESCAPE` after it may change the
        /// escape character.
        var unicodeEscaped: [Int: String?] = [:]

        init(bytes: [UInt8], standardConformingStrings: Bool) {
            b = bytes
            self.standardConformingStrings = standardConformingStrings
        }

        func at(_ k: Int) -> UInt8? { k < b.count ? b[k] : nil }

        func text(_ range: Range<Int>) -> String { String(decoding: b[range], as: UTF8.self) }

        mutating func emit(_ kind: SQLToken.Kind, _ value: String?, from start: Int) {
            out.append(SQLToken(kind: kind, value: value, source: text(start..<i)))
        }

        mutating func run() -> [SQLToken] {
            while i < b.count {
                let c = b[i]
                let next = at(i + 1)
                let start = i
                if isSpace(c) {
                    i += 1
                } else if c == ascii("-"), next == ascii("-") {
                    while i < b.count, b[i] != ascii("\n"), b[i] != ascii("\r") { i += 1 }
                } else if c == ascii("/"), next == ascii("*") {
                    skipBlockComment()
                } else if c == ascii("'") {
                    let value = quoted(backslashEscapes: !standardConformingStrings)
                    emit(.string, value, from: start)
                } else if c | 0x20 == ascii("e"), next == ascii("'") {
                    i += 1
                    let value = quoted(backslashEscapes: true)
                    emit(.string, value, from: start)
                } else if c | 0x20 == ascii("n"), next == ascii("'") {
                    i += 1
                    let value = quoted(backslashEscapes: !standardConformingStrings)
                    emit(.string, value, from: start)
                } else if c | 0x20 == ascii("b") || c | 0x20 == ascii("x"), next == ascii("'") {
                    i += 1
                    _ = quoted(backslashEscapes: false)
                    emit(.bitString, nil, from: start)
                } else if c | 0x20 == ascii("u"), next == ascii("&"), at(i + 2) == ascii("'") || at(i + 2) == ascii("\"") {
                    // U&'...' and U&"...": only quote doubling ends them; escapes are decoded
                    // once a possible UESCAPE clause is known (`applyUnicodeEscapes`).
                    let quote = b[i + 2]
                    i += 2
                    let raw = quoted(backslashEscapes: false, quote: quote)
                    unicodeEscaped[out.count] = raw
                    emit(quote == ascii("'") ? .string : .quotedIdentifier, nil, from: start)
                } else if c == ascii("\"") {
                    let value = quoted(backslashEscapes: false, quote: ascii("\""))
                    emit(.quotedIdentifier, value, from: start)
                } else if c == ascii("$") {
                    dollar()
                } else if isDigit(c) || (c == ascii(".") && next.map(isDigit) == true) {
                    number()
                } else if isIdentifierStart(c) {
                    while i < b.count, isIdentifierPart(b[i]) { i += 1 }
                    emit(.word, String(decoding: b[start..<i].map(asciiLower), as: UTF8.self), from: start)
                } else if (c == ascii(":") && (next == ascii(":") || next == ascii("=")))
                            || (c == ascii("=") && next == ascii(">")) {
                    i += 2
                    emit(.symbol, text(start..<i), from: start)
                } else {
                    // One byte, or one whole UTF-8 scalar outside an identifier.
                    i += 1
                    while i < b.count, b[i] & 0xC0 == 0x80 { i += 1 }
                    emit(.symbol, text(start..<i), from: start)
                }
            }
            return unicodeEscaped.isEmpty ? out : applyUnicodeEscapes()
        }

        /// Decodes each `U&` token, with the escape character of a following
        /// `UESCAPE '<c>'` (which becomes part of the token) or `\` (Postgres' parser.c,
        /// `base_yylex`: UESCAPE must be followed by a simple string literal of one byte that
        /// is not a hex digit, `+`, a quote or white space; anything else is a syntax error,
        /// so the value stays nil).
        func applyUnicodeEscapes() -> [SQLToken] {
            var result: [SQLToken] = []
            result.reserveCapacity(out.count)
            var k = 0
            while k < out.count {
                guard let raw = unicodeEscaped[k] else {
                    result.append(out[k])
                    k += 1
                    continue
                }
                var escape = ascii("\\")
                var valid = raw != nil
                var end = k + 1
                if k + 1 < out.count, out[k + 1].isWord("uescape") {
                    end = min(k + 3, out.count)
                    if k + 2 < out.count, let character = simpleStringValue(out[k + 2]),
                       character.utf8.count == 1, let c = character.utf8.first, isValidUnicodeEscape(c) {
                        escape = c
                    } else {
                        valid = false
                    }
                }
                let value = valid ? raw.flatMap { decodeUnicodeEscapes($0, escape: escape) } : nil
                let source = out[k..<end].map(\.source).joined(separator: " ")
                result.append(SQLToken(kind: out[k].kind, value: value, source: source))
                k = end
            }
            return result
        }

        /// The value of a token the grammar calls SCONST: `'...'`, `E'...'` or a dollar-quoted
        /// string (not `U&'...'`, and not `N'...'`, which is a keyword and a constant).
        func simpleStringValue(_ token: SQLToken) -> String? {
            switch token.kind {
            case .dollarQuoted:
                return token.value
            case .string:
                guard let first = token.source.utf8.first, first | 0x20 != ascii("u"), first | 0x20 != ascii("n")
                else { return nil }
                return token.value
            default:
                return nil
            }
        }

        /// `/* ... */`, nesting as Postgres does (unlike the SQL standard's C-style comments).
        mutating func skipBlockComment() {
            var depth = 0
            repeat {
                if at(i) == ascii("/"), at(i + 1) == ascii("*") {
                    depth += 1
                    i += 2
                } else if at(i) == ascii("*"), at(i + 1) == ascii("/") {
                    depth -= 1
                    i += 2
                } else {
                    i += 1
                }
            } while depth > 0 && i < b.count
        }

        /// Scans from an opening quote at `i` to just past the closing one. Doubling the quote
        /// puts one in the text; with `backslashEscapes`, `\` escapes as in E'' strings.
        /// Returns nil for an unterminated constant (Postgres refuses the whole query) or an
        /// escape that does not decode.
        mutating func quoted(backslashEscapes: Bool, quote: UInt8 = UInt8(ascii: "'")) -> String? {
            i += 1
            var bytes: [UInt8] = []
            var valid = true
            while i < b.count {
                let c = b[i]
                if c == quote {
                    if at(i + 1) == quote {
                        bytes.append(quote)
                        i += 2
                        continue
                    }
                    i += 1
                    guard valid else { return nil }
                    // Invalid UTF-8 from \x escapes: Postgres refuses it; so does the caller.
                    return String(validating: bytes, as: UTF8.self)
                }
                if backslashEscapes, c == ascii("\\"), i + 1 < b.count {
                    valid = escape(into: &bytes) && valid
                    continue
                }
                bytes.append(c)
                i += 1
            }
            return nil
        }

        /// One backslash escape of an E'' string (docs 4.1.2.2), `i` at the backslash.
        mutating func escape(into bytes: inout [UInt8]) -> Bool {
            i += 1
            let c = b[i]
            i += 1
            switch c {
            case ascii("b"): bytes.append(8)
            case ascii("f"): bytes.append(12)
            case ascii("n"): bytes.append(10)
            case ascii("r"): bytes.append(13)
            case ascii("t"): bytes.append(9)
            case ascii("0")...ascii("7"):
                var value = Int(c - ascii("0"))
                for _ in 0..<2 {
                    guard let d = at(i), (ascii("0")...ascii("7")).contains(d) else { break }
                    value = value * 8 + Int(d - ascii("0"))
                    i += 1
                }
                bytes.append(UInt8(truncatingIfNeeded: value))
                return value != 0
            case ascii("x"):
                var value = 0
                var count = 0
                while count < 2, let d = at(i), let h = hexValue(d) {
                    value = value * 16 + h
                    i += 1
                    count += 1
                }
                guard count > 0 else {
                    bytes.append(c)
                    return true
                }
                bytes.append(UInt8(value))
                return value != 0
            case ascii("u"), ascii("U"):
                let width = c == ascii("u") ? 4 : 8
                var value: UInt32 = 0
                for _ in 0..<width {
                    guard let d = at(i), let h = hexValue(d) else { return false }
                    value = value * 16 + UInt32(h)
                    i += 1
                }
                guard value != 0, let scalar = Unicode.Scalar(value) else { return false }
                bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                bytes.append(c)
            }
            return true
        }

        /// `$1` parameters and `$tag$ ... $tag$` constants; a lone `$` is a symbol.
        mutating func dollar() {
            let start = i
            if let d = at(i + 1), isDigit(d) {
                i += 1
                while i < b.count, isDigit(b[i]) { i += 1 }
                let digits = text((start + 1)..<i)
                emit(.parameter, Int(digits).map(String.init) ?? digits, from: start)
                return
            }
            var j = i + 1
            if let c = at(j), isIdentifierStart(c) {
                while let c = at(j), isIdentifierPart(c), c != ascii("$") { j += 1 }
            }
            guard at(j) == ascii("$") else {
                i += 1
                emit(.symbol, "$", from: start)
                return
            }
            let tag = Array(b[i...j])
            i = j + 1
            // The body is opaque until the same tag; unterminated, it runs to the end.
            while i < b.count {
                if b[i] == ascii("$"), b.count - i >= tag.count, Array(b[i..<(i + tag.count)]) == tag {
                    let body = text((start + tag.count)..<i)
                    i += tag.count
                    emit(.dollarQuoted, body, from: start)
                    return
                }
                i += 1
            }
            emit(.dollarQuoted, nil, from: start)
        }

        /// Numeric constants (docs 4.1.2.6, with Postgres 16's `0x`, `0o`, `0b` and `_`).
        mutating func number() {
            let start = i
            if b[i] == ascii("0"), let p = at(i + 1), let radix = radix(p | 0x20),
               let d = at(i + 2), digitValue(d, radix: radix) != nil {
                i += 2
                var value = 0
                var overflow = false
                while i < b.count, let d = digitValue(b[i], radix: radix) ?? (b[i] == ascii("_") ? -1 : nil) {
                    i += 1
                    guard d >= 0 else { continue }
                    let (m, o1) = value.multipliedReportingOverflow(by: radix)
                    let (s, o2) = m.addingReportingOverflow(d)
                    overflow = overflow || o1 || o2
                    value = s
                }
                emit(.number, overflow ? nil : String(value), from: start)
                return
            }
            var isInteger = true
            func digits() {
                while i < b.count, isDigit(b[i]) || (b[i] == ascii("_") && at(i + 1).map(isDigit) == true) { i += 1 }
            }
            digits()
            if at(i) == ascii("."), at(i + 1) != ascii(".") {
                isInteger = false
                i += 1
                digits()
            }
            if let e = at(i), e | 0x20 == ascii("e") {
                var j = i + 1
                if at(j) == ascii("+") || at(j) == ascii("-") { j += 1 }
                if let d = at(j), isDigit(d) {
                    isInteger = false
                    i = j
                    digits()
                }
            }
            let raw = text(start..<i)
            if isInteger {
                let digitsOnly = raw.filter { $0 != "_" }
                emit(.number, Int(digitsOnly).map(String.init) ?? raw, from: start)
            } else {
                emit(.number, raw, from: start)
            }
        }

        private func radix(_ lower: UInt8) -> Int? {
            switch lower {
            case ascii("x"): 16
            case ascii("o"): 8
            case ascii("b"): 2
            default: nil
            }
        }
    }
}

/// The Unicode escapes of a U&'' constant or U&"" identifier with escape character
/// `escape` (parser.c, `str_udeescape`): the escape doubled is itself, followed by 4 hex
/// digits or by `+` and 6 it is that code point; a UTF-16 surrogate pair written as two
/// escapes is one character. nil for anything Postgres refuses (another character after
/// the escape, code point 0 or above U+10FFFF, a lone surrogate).
func decodeUnicodeEscapes(_ text: String, escape: UInt8 = UInt8(ascii: "\\")) -> String? {
    let s = Array(text.utf8)
    var result: [UInt8] = []
    result.reserveCapacity(s.count)
    var pendingHighSurrogate: UInt32?
    var k = 0
    func hex(_ range: Range<Int>) -> UInt32? {
        guard range.upperBound <= s.count else { return nil }
        var value: UInt32 = 0
        for byte in s[range] {
            guard let h = hexValue(byte) else { return nil }
            value = value * 16 + UInt32(h)
        }
        return value
    }
    while k < s.count {
        guard s[k] == escape else {
            guard pendingHighSurrogate == nil else { return nil }
            result.append(s[k])
            k += 1
            continue
        }
        var code: UInt32
        if k + 1 < s.count, s[k + 1] == escape {
            guard pendingHighSurrogate == nil else { return nil }
            result.append(escape)
            k += 2
            continue
        } else if let value = hex((k + 1)..<(k + 5)) {
            code = value
            k += 5
        } else if k + 1 < s.count, s[k + 1] == UInt8(ascii: "+"), let value = hex((k + 2)..<(k + 8)) {
            code = value
            k += 8
        } else {
            return nil
        }
        guard code > 0, code <= 0x10FFFF else { return nil }
        if let high = pendingHighSurrogate {
            guard (0xDC00...0xDFFF).contains(code) else { return nil }
            code = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
            pendingHighSurrogate = nil
        } else if (0xDC00...0xDFFF).contains(code) {
            return nil
        } else if (0xD800...0xDBFF).contains(code) {
            pendingHighSurrogate = code
            continue
        }
        guard let scalar = Unicode.Scalar(code) else { return nil }
        result.append(contentsOf: String(Character(scalar)).utf8)
    }
    guard pendingHighSurrogate == nil else { return nil }
    return String(validating: result, as: UTF8.self)
}

/// parser.c's `check_uescapechar`: not a hex digit, `+`, a quote or scan.l white space.
private func isValidUnicodeEscape(_ c: UInt8) -> Bool {
    hexValue(c) == nil && c != UInt8(ascii: "+") && c != UInt8(ascii: "'") && c != UInt8(ascii: "\"")
        && !(c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C)
}

private func ascii(_ c: Unicode.Scalar) -> UInt8 { UInt8(ascii: c) }

/// scan.l's `space`: space, tab, newline, carriage return, form feed, vertical tab.
func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (0x09...0x0D).contains(c) }

private func isDigit(_ c: UInt8) -> Bool { (ascii("0")...ascii("9")).contains(c) }

private func isLetter(_ c: UInt8) -> Bool { (ascii("a")...ascii("z")).contains(c | 0x20) }

/// scan.l's `ident_start`: letters, `_`, and every byte of a non-ASCII character.
private func isIdentifierStart(_ c: UInt8) -> Bool { isLetter(c) || c == ascii("_") || c >= 0x80 }

/// scan.l's `ident_cont`: also digits and `$`.
private func isIdentifierPart(_ c: UInt8) -> Bool { isIdentifierStart(c) || isDigit(c) || c == ascii("$") }

private func asciiLower(_ c: UInt8) -> UInt8 { (ascii("A")...ascii("Z")).contains(c) ? c | 0x20 : c }

private func hexValue(_ c: UInt8) -> Int? { digitValue(c, radix: 16) }

private func digitValue(_ c: UInt8, radix: Int) -> Int? {
    let value: Int
    switch c {
    case ascii("0")...ascii("9"): value = Int(c - ascii("0"))
    case ascii("a")...ascii("f"): value = Int(c - ascii("a")) + 10
    case ascii("A")...ascii("F"): value = Int(c - ascii("A")) + 10
    default: return nil
    }
    return value < radix ? value : nil
}

extension String {
    /// ASCII-only lowercasing, as Postgres folds identifiers and compares GUC names
    /// (`guc_name_compare`): `"WORK_MEM"` is work_mem, a Kelvin sign is not a `k`.
    var asciiLowercased: String {
        String(decoding: utf8.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 },
               as: UTF8.self)
    }
}
