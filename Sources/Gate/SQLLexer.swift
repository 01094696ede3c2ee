/// One token of Postgres SQL as `scan.l` splits it, with just enough decoding for the
/// settings guard: identifiers folded as the parser folds them, string constants decoded.
struct SQLToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// An unquoted identifier or keyword; `value` is ASCII-lowercased (`downcase_identifier`).
        case word
        /// `"..."` or `U&"..."`; `value` is the identifier as written, nil when undecodable.
        case quotedIdentifier
        /// `'...'`, `E'...'`, `N'...'`, `U&'...'`; `value` is the decoded text, nil when
        /// undecodable or unterminated.
        case string
        /// `B'...'`, `X'...'`: never a valid GUC value or name.
        case bitString
        /// A numeric constant; `value` is what the parser hands SET: integers in decimal
        /// (`010` is 10, `0x10` is 16, `1_000` is 1000), other numbers as written.
        case number
        /// `$1`.
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
/// and multi-character operators (`<=` is two symbols). The text is read as UTF-8: a client
/// using a multibyte client_encoding whose second bytes can be `\` (SJIS, BIG5, GBK) is
/// read differently by the server, which converts before lexing.
enum SQLLexer {
    /// The statements of `sql`, each a non-empty token list without the `;`.
    static func statements(in sql: String, standardConformingStrings: Bool = true) -> [[SQLToken]] {
        var statements: [[SQLToken]] = []
        var current: [SQLToken] = []
        for token in tokens(in: sql, standardConformingStrings: standardConformingStrings) {
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
        var scanner = Scanner(bytes: Array(sql.utf8), standardConformingStrings: standardConformingStrings)
        return scanner.run()
    }

    private struct Scanner {
        let b: [UInt8]
        let standardConformingStrings: Bool
        var i = 0
        var out: [SQLToken] = []

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
                    // U&'...' and U&"...": only quote doubling ends them; \XXXX escapes decoded.
                    let quote = b[i + 2]
                    i += 2
                    let raw = quoted(backslashEscapes: false, quote: quote)
                    emit(quote == ascii("'") ? .string : .quotedIdentifier, raw.flatMap(decodeUnicodeEscapes),
                         from: start)
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
            // `U&'...' UESCAPE '!'` changes the escape character: the decoded value is wrong.
            // Only a Unicode constant or identifier takes UESCAPE; after any other token
            // `uescape` is an ordinary name (a column, a parameter), and the token before it
            // keeps its value: a `(` or `)` read as something else would hide a call or
            // misplace a function's SET clause.
            for k in out.indices.dropLast()
            where out[k + 1].isWord("uescape") && (out[k].kind == .string || out[k].kind == .quotedIdentifier)
                && out[k].source.utf8.first.map({ $0 | 0x20 }) == ascii("u") {
                out[k] = SQLToken(kind: out[k].kind, value: nil, source: out[k].source)
            }
            return out
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
                emit(.parameter, nil, from: start)
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

/// `\XXXX`, `\+XXXXXX` and `\\` of U&'' constants with the default escape character.
private func decodeUnicodeEscapes(_ text: String) -> String? {
    let s = Array(text.unicodeScalars)
    var result = String.UnicodeScalarView()
    var k = 0
    while k < s.count {
        guard s[k] == "\\" else {
            result.append(s[k])
            k += 1
            continue
        }
        if k + 1 < s.count, s[k + 1] == "\\" {
            result.append("\\")
            k += 2
            continue
        }
        let plus = k + 1 < s.count && s[k + 1] == "+"
        let width = plus ? 6 : 4
        let first = k + (plus ? 2 : 1)
        guard first + width <= s.count else { return nil }
        var value: UInt32 = 0
        for scalar in s[first..<(first + width)] {
            guard scalar.isASCII, let h = hexValue(UInt8(scalar.value)) else { return nil }
            value = value * 16 + UInt32(h)
        }
        guard value != 0, let scalar = Unicode.Scalar(value) else { return nil }
        result.append(scalar)
        k = first + width
    }
    return String(result)
}

private func ascii(_ c: Unicode.Scalar) -> UInt8 { UInt8(ascii: c) }

/// scan.l's `space`: space, tab, newline, carriage return, form feed, vertical tab.
private func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (0x09...0x0D).contains(c) }

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
