/// The `options` string's word syntax (libpq/Postgres `pg_split_opts`): words separated by
/// whitespace, a backslash makes the next character literal.
enum OptionWords {
    static func split(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var escaping = false
        var inWord = false
        for ch in text {
            if escaping {
                current.append(ch)
                escaping = false
                inWord = true
            } else if ch == "\\" {
                escaping = true
                inWord = true
            } else if ch == " " || ch == "\t" || ch == "\n" || ch == "\r" {
                if inWord { words.append(current); current = ""; inWord = false }
            } else {
                current.append(ch)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    static func escape(_ word: String) -> String {
        var out = ""
        for ch in word {
            if ch == " " || ch == "\\" || ch == "\t" { out.append("\\") }
            out.append(ch)
        }
        return out
    }
}
