/// The startup packet's `options` value, read the way a Postgres backend reads it, but
/// accepting only the switches that set a configuration parameter.
///
/// Postgres splits the value into words (`pg_split_opts`, backend/utils/init/postinit.c:
/// words end at whitespace, a backslash makes the next byte literal), then parses the words
/// as server command-line switches (`process_postgres_switches`, backend/tcop/postgres.c).
/// Most switches set a parameter under another name (`-S 1000000` is work_mem, `-B` is
/// shared_buffers, `-F` fsync, `-f s` turns off sequential scans, `-e` the date style), so a
/// proxy that lets any of them through forwards settings it never looked at. This parser
/// accepts `-c name=value`, `-cname=value` and `--name=value` and refuses every other word;
/// `encode` writes settings back in the one form, so the value sent upstream holds exactly
/// what was checked.
public enum StartupOptions {
    /// One `name=value` from `-c` or `--`. `name` is as written, with `-` turned into `_`
    /// as Postgres' `ParseLongOption` does (`--work-mem=1MB` sets work_mem).
    public struct Setting: Equatable, Sendable, CustomStringConvertible {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }

        public var description: String { "\(name)=\(value)" }
    }

    /// The settings in order (Postgres applies them in order: the last value of a name wins),
    /// or why the value is refused (08P01).
    public static func parse(_ text: String) -> Result<[Setting], ProtocolViolation> {
        let words = words(text)
        var settings: [Setting] = []
        var i = 0
        while i < words.count {
            let word = words[i]
            let assignment: String
            if word == "-c" {
                guard i + 1 < words.count else {
                    return .failure(ProtocolViolation("startup option \"-c\" requires a value (-c name=value)"))
                }
                assignment = words[i + 1]
                i += 2
            } else if word.hasPrefix("-c") {
                assignment = String(word.dropFirst(2))
                i += 1
            } else if word.hasPrefix("--"), word.count > 2 {
                assignment = String(word.dropFirst(2))
                i += 1
            } else {
                return .failure(ProtocolViolation(
                    "startup option \(quoted(word)) is not allowed: options may only set parameters (-c name=value or --name=value)"))
            }
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                return .failure(ProtocolViolation("startup option \(quoted(assignment)) requires the form name=value"))
            }
            let name = String(assignment[..<equals].map { $0 == "-" ? "_" : $0 })
            settings.append(Setting(name: name, value: String(assignment[assignment.index(after: equals)...])))
        }
        return .success(settings)
    }

    /// `-c name=value` for each setting, escaped so that `words` gives them back unchanged.
    public static func encode(_ settings: [Setting]) -> String {
        settings.map { "-c \(escape("\($0.name)=\($0.value)"))" }.joined(separator: " ")
    }

    /// `pg_split_opts`: words separated by whitespace (C `isspace`: space, \t, \n, \v, \f,
    /// \r); a backslash makes the next character part of the word, whatever it is.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        var escaping = false
        var inWord = false
        for scalar in text.unicodeScalars {
            if escaping {
                current.append(scalar)
                escaping = false
            } else if scalar == "\\" {
                escaping = true
                inWord = true
            } else if isSpace(scalar) {
                if inWord { words.append(String(current)); current = .init(); inWord = false }
            } else {
                current.append(scalar)
                inWord = true
            }
        }
        if inWord { words.append(String(current)) }
        return words
    }

    /// A backslash before every character `words` would treat specially.
    public static func escape(_ word: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in word.unicodeScalars {
            if scalar == "\\" || isSpace(scalar) { out.append("\\") }
            out.append(scalar)
        }
        return String(out)
    }

    private static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case " ", "\t", "\n", "\u{0B}", "\u{0C}", "\r": true
        default: false
        }
    }

    /// A client's word inside an error message: quoted, and cut short (the client sent it,
    /// so it may be up to a whole packet long).
    public static func quoted(_ word: String) -> String {
        let limit = 64
        return word.count <= limit ? "\"\(word)\"" : "\"\(word.prefix(limit))...\""
    }
}
