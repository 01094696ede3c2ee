import TierModel

/// Keeps a client from lifting its own tier ceiling from inside the session.
///
/// TierGate injects the tier's GUCs through the startup packet, so they are the session's
/// reset values: `RESET work_mem`, `RESET ALL`, `DISCARD ALL` and `SET work_mem TO DEFAULT`
/// return to the tier's value and pass. What is refused is raising a tier GUC above the tier:
/// `SET [SESSION | LOCAL] <guc> {= | TO} <value>`, `set_config('<guc>', '<value>', ...)`
/// anywhere in a statement, and a `SET <guc> = <value>` clause of `CREATE FUNCTION`,
/// `CREATE PROCEDURE` or `ALTER FUNCTION | PROCEDURE | ROUTINE` (which would apply it while
/// the function runs).
///
/// Guarantees:
/// - Text is read with Postgres' own lexical rules (`SQLLexer`), so SQL inside string
///   constants, quoted identifiers, dollar-quoted bodies and comments is data, not a `SET`.
///   Because `standard_conforming_strings` may have been turned off earlier in the session,
///   the text is judged under both settings and refused if either reading raises a limit.
/// - A value it cannot read is refused, never guessed (`Limit.allows(clientValue:)` is nil,
///   or the value is an expression or a `$1` parameter); so is a `set_config` whose name is
///   not a string constant, since it could name any GUC.
///
/// Known limits: code that runs later as text is not inspected: dollar-quoted or string
/// bodies of `DO` blocks and functions (a PL/pgSQL `SET work_mem = '1GB'` or `EXECUTE`
/// inside them), and SQL run by extensions such as dblink. `ALTER ROLE | DATABASE ... SET`
/// is not refused: those apply at the next connection, where the startup packet's
/// values take precedence (PGC_S_CLIENT over PGC_S_USER/PGC_S_DATABASE).
public struct SettingsGuard: Sendable {
    public let tier: Tier
    public let settings: SessionSettings
    public let matrix: TierMatrix
    /// The session reaches Postgres through PgBouncer's transaction pool (issue 6), where
    /// the tier's values come from the pool's connect_query: session values, not reset
    /// values, on server connections shared by the org's clients. There, anything that
    /// changes a tier GUC beyond the current transaction is refused too, even a lower value:
    /// `RESET <guc>`, `RESET ALL`, `DISCARD ALL` and `SET <guc> TO DEFAULT` would fall back to
    /// the server's defaults (statement_timeout 0), and a session-level `SET` or
    /// `set_config(..., false)` would stay on the server connection for the org's next
    /// client. `SET LOCAL` and `set_config(..., true)` within the tier pass.
    public let pooled: Bool

    public init(tier: Tier, settings: SessionSettings, matrix: TierMatrix, pooled: Bool = false) {
        self.tier = tier
        self.settings = settings
        self.matrix = matrix
        self.pooled = pooled
    }

    /// The first violation in `sql` (a simple Query's text, possibly several statements, or
    /// a Parse message's statement), or nil when it stays within the tier.
    public func check(sql: String) -> SettingsViolation? {
        // Runs on every query of a gated session: most queries cannot touch a setting, and a
        // byte scan is far cheaper than lexing the text twice.
        guard Self.mightChangeSettings(sql) else { return nil }
        return checkStatements(in: sql)
    }

    /// The rules alone, without the byte pre-check in front of them: `check(sql:)` must give
    /// the same answer, which the settings-guard fuzz target checks.
    func checkStatements(in sql: String) -> SettingsViolation? {
        for standardConformingStrings in [true, false] {
            for statement in SQLLexer.statements(in: sql, standardConformingStrings: standardConformingStrings) {
                if let violation = checkPooled(statement) ?? checkSet(statement) ?? checkSetConfig(statement)
                    ?? checkFunctionClauses(statement) ?? checkSettingsViewUpdate(statement) {
                    return violation
                }
            }
        }
        return nil
    }

    /// False only when no rule can apply: every refused statement contains `set` (SET,
    /// RESET, set_config, pg_settings, a function's SET clause) or `discard` in any letter
    /// case, or a `U&` Unicode escape that could spell one of them in an identifier.
    /// Keywords cannot be escaped or split, so text without these cannot change a setting.
    static func mightChangeSettings(_ sql: String) -> Bool {
        sql.utf8.withContiguousStorageIfAvailable(containsSettingsWord)
            ?? Array(sql.utf8).withUnsafeBufferPointer(containsSettingsWord)
    }

    private static func containsSettingsWord(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // `| 0x20` maps only 'S' and 's' to 's' (and so on), so no other byte can match.
        func lower(_ byte: UInt8) -> UInt8 { byte | 0x20 }
        let count = bytes.count
        var i = 0
        while i < count {
            switch lower(bytes[i]) {
            case UInt8(ascii: "s"):
                if i + 2 < count, lower(bytes[i + 1]) == UInt8(ascii: "e"), lower(bytes[i + 2]) == UInt8(ascii: "t") {
                    return true
                }
            case UInt8(ascii: "d"):
                if i + 6 < count, zip("iscard".utf8, bytes[(i + 1)...(i + 6)]).allSatisfy({ $0 == lower($1) }) {
                    return true
                }
            case UInt8(ascii: "u"):
                if i + 1 < count, bytes[i + 1] == UInt8(ascii: "&") { return true }
            default:
                break
            }
            i += 1
        }
        return false
    }

    /// A statement to send Postgres instead of the client's, so that Postgres itself raises
    /// the refusal and the protocol sequence stays its own (ErrorResponse then ReadyForQuery,
    /// the transaction block aborted, the extended protocol skipping to Sync).
    ///
    /// The texts are `E''` constants (quotes and backslashes escaped, so the result does not
    /// depend on standard_conforming_strings), and the dollar tag is chosen not to occur in
    /// them. `MESSAGE =` takes an expression, not a format, so `%` needs no escaping.
    public func refusalStatement(for violation: SettingsViolation) -> String {
        let body = "BEGIN RAISE EXCEPTION USING ERRCODE = \(literal(violation.sqlState)), "
            + "MESSAGE = \(literal(violation.message)), DETAIL = \(literal(violation.detail)), "
            + "HINT = \(literal(violation.hint)); END"
        var tag = "$tiergate$"
        var n = 0
        while body.contains(tag) {
            n += 1
            tag = "$tiergate\(n)$"
        }
        return "DO \(tag)\(body)\(tag)"
    }

    private func literal(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars where scalar != "\0" {
            switch scalar {
            case "'": escaped += "''"
            case "\\": escaped += "\\\\"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "E'\(escaped)'"
    }

    // MARK: - Statements

    /// In pooled mode: `RESET`/`DISCARD ALL`, session-level `SET` (any value, `DEFAULT`
    /// included) and `SET LOCAL ... TO DEFAULT` of a tier GUC; `set_config` of a tier GUC
    /// that is not `is_local => true` with a value. Nil outside pooled mode.
    private func checkPooled(_ tokens: [SQLToken]) -> SettingsViolation? {
        guard pooled, let verb = tokens.first else { return nil }
        let statement = sourceText(tokens)
        if verb.isWord("discard"), tokens.count >= 2, tokens[1].isWord("all") {
            return violation(.sessionChangeWhilePooled, parameter: nil, requested: statement)
        }
        if verb.isWord("reset"), tokens.count >= 2 {
            if tokens[1].isWord("all") { return violation(.sessionChangeWhilePooled, parameter: nil, requested: statement) }
            if let name = tokens[1].value, let parameter = SessionSettings.Parameter(rawValue: name.asciiLowercased) {
                return violation(.sessionChangeWhilePooled, parameter: parameter, requested: statement)
            }
            return nil
        }
        if verb.isWord("set") {
            var i = 1
            var local = false
            if i < tokens.count, tokens[i].isWord("session") || tokens[i].isWord("local") {
                local = tokens[i].isWord("local")
                i += 1
            }
            guard i < tokens.count, let name = tokens[i].value,
                  let parameter = SessionSettings.Parameter(rawValue: name.asciiLowercased)
            else { return nil }
            let toDefault = tokens.count == i + 3 && tokens[i + 2].isWord("default")
            if !local || toDefault { return violation(.sessionChangeWhilePooled, parameter: parameter, requested: statement) }
            return nil
        }
        for k in tokens.indices.dropLast()
        where tokens[k + 1].isSymbol("(") && tokens[k].value?.asciiLowercased == "set_config" {
            let arguments = self.arguments(tokens, openingAt: k + 1)
            var positional: [[SQLToken]] = []
            var named: [String: [SQLToken]] = [:]
            for argument in arguments {
                if argument.count >= 2, let key = argument[0].value,
                   argument[1].isSymbol("=>") || argument[1].isSymbol(":=") {
                    named[key.asciiLowercased] = Array(argument.dropFirst(2))
                } else {
                    positional.append(argument)
                }
            }
            guard let nameArgument = positional.first ?? named["setting_name"],
                  let name = stringConstant(nameArgument),
                  let parameter = SessionSettings.Parameter(rawValue: name.asciiLowercased)
            else { continue }  // an unnamed parameter is refused by checkSetConfig
            let value = positional.count > 1 ? positional[1] : named["new_value"]
            let isLocal = positional.count > 2 ? positional[2] : named["is_local"]
            let localTrue = isLocal.map { $0.count == 1 && ($0[0].isWord("true") || $0[0].value == "t" || $0[0].value == "true") } ?? false
            let nullValue = value.map { $0.count == 1 && $0[0].isWord("null") } ?? true
            if !localTrue || nullValue {
                return violation(.sessionChangeWhilePooled, parameter: parameter, requested: statement)
            }
        }
        return nil
    }

    /// `SET [SESSION | LOCAL] name {= | TO} value`; the statement must start with SET.
    private func checkSet(_ tokens: [SQLToken]) -> SettingsViolation? {
        guard tokens.first?.isWord("set") == true else { return nil }
        var i = 1
        if i < tokens.count, tokens[i].isWord("session") || tokens[i].isWord("local") { i += 1 }
        return checkAssignment(tokens, at: i, valueEnd: tokens.count)
    }

    /// `name {= | TO} value` starting at `i`, the value running to `valueEnd`.
    private func checkAssignment(_ tokens: [SQLToken], at i: Int, valueEnd: Int) -> SettingsViolation? {
        guard i + 1 < tokens.count else { return nil }
        let name = tokens[i]
        guard name.kind == .word || name.kind == .quotedIdentifier,
              tokens[i + 1].isSymbol("=") || tokens[i + 1].isWord("to")
        else { return nil }  // `SET ROLE x`, `SET TIME ZONE`, `SET a.b = c`, ...
        guard let nameText = name.value else {
            return violation(.unnamedParameter, parameter: nil, requested: name.source)
        }
        guard let parameter = SessionSettings.Parameter(rawValue: nameText.asciiLowercased) else { return nil }
        let value = Array(tokens[(i + 2)..<max(i + 2, valueEnd)])
        if value.count == 1, value[0].isWord("default") { return nil }
        return judge(parameter, value: literalValue(value, allowWords: true), source: value)
    }

    /// `UPDATE pg_settings SET setting = ...` is set_config by another name (Postgres docs,
    /// "pg_settings": "equivalent to executing set_config"), so any statement that updates
    /// the view is refused, whatever it names: its targets are rows chosen by a WHERE clause,
    /// which TierGate cannot evaluate. Reading pg_settings stays allowed.
    private func checkSettingsViewUpdate(_ tokens: [SQLToken]) -> SettingsViolation? {
        guard tokens.contains(where: { $0.kind == .word && $0.value?.asciiLowercased == "update" }),
              tokens.contains(where: {
                  ($0.kind == .word || $0.kind == .quotedIdentifier) && $0.value?.asciiLowercased == "pg_settings"
              })
        else { return nil }
        return violation(.settingsViewUpdate, parameter: nil, requested: "UPDATE pg_settings")
    }

    /// Every `set_config(...)` call in the statement, schema-qualified or quoted, with
    /// positional or named (`setting_name =>`, `new_value =>`) arguments.
    private func checkSetConfig(_ tokens: [SQLToken]) -> SettingsViolation? {
        for k in tokens.indices.dropLast()
        where tokens[k + 1].isSymbol("(")
            && (tokens[k].kind == .word || tokens[k].kind == .quotedIdentifier)
            && tokens[k].value?.asciiLowercased == "set_config" {
            let arguments = self.arguments(tokens, openingAt: k + 1)
            var positional: [[SQLToken]] = []
            var named: [String: [SQLToken]] = [:]
            for argument in arguments {
                if argument.count >= 2, argument[0].kind == .word || argument[0].kind == .quotedIdentifier,
                   argument[1].isSymbol("=>") || argument[1].isSymbol(":="), let key = argument[0].value {
                    named[key.asciiLowercased] = Array(argument.dropFirst(2))
                } else {
                    positional.append(argument)
                }
            }
            guard let nameArgument = positional.first ?? named["setting_name"] else { continue }
            guard let name = stringConstant(nameArgument) else {
                return violation(.unnamedParameter, parameter: nil, requested: sourceText(nameArgument))
            }
            guard let parameter = SessionSettings.Parameter(rawValue: name.asciiLowercased),
                  let valueArgument = positional.dropFirst().first ?? named["new_value"]
            else { continue }
            // A NULL value resets the GUC to its reset value, the tier's.
            if valueArgument.count == 1, valueArgument[0].isWord("null") { continue }
            let value = stringConstant(valueArgument) ?? literalValue(valueArgument, allowWords: false)
            if let violation = judge(parameter, value: value, source: valueArgument) { return violation }
        }
        return nil
    }

    /// `SET name {= | TO} value` clauses of function and procedure definitions.
    private func checkFunctionClauses(_ tokens: [SQLToken]) -> SettingsViolation? {
        var i = 0
        guard let verb = tokens.first, verb.isWord("create") || verb.isWord("alter") else { return nil }
        i = 1
        if i + 1 < tokens.count, tokens[i].isWord("or"), tokens[i + 1].isWord("replace") { i += 2 }
        guard i < tokens.count,
              tokens[i].isWord("function") || tokens[i].isWord("procedure")
                || (verb.isWord("alter") && tokens[i].isWord("routine"))
        else { return nil }
        var depth = 0
        for k in tokens.indices.dropFirst(i) {
            if tokens[k].isSymbol("(") { depth += 1 }
            if tokens[k].isSymbol(")") { depth -= 1 }
            guard depth == 0, tokens[k].isWord("set"), k + 2 < tokens.count else { continue }
            // The value is one constant, or a signed number; FROM CURRENT has no `=`/TO.
            let valueStart = k + 3
            var valueEnd = min(valueStart + 1, tokens.count)
            if valueStart < tokens.count, tokens[valueStart].isSymbol("-") || tokens[valueStart].isSymbol("+") {
                valueEnd = min(valueStart + 2, tokens.count)
            }
            if let violation = checkAssignment(tokens, at: k + 1, valueEnd: valueEnd) { return violation }
        }
        return nil
    }

    // MARK: - Values

    /// The text Postgres would hand the GUC for a SET value: one constant, a signed number,
    /// or (for SET, not for a function argument) a bare word or quoted identifier. nil for
    /// anything else, which the caller refuses.
    private func literalValue(_ tokens: [SQLToken], allowWords: Bool) -> String? {
        switch tokens.count {
        case 1:
            let token = tokens[0]
            switch token.kind {
            case .string, .number: return token.value
            case .word, .quotedIdentifier: return allowWords ? token.value : nil
            default: return nil
            }
        case 2 where tokens[1].kind == .number:
            guard let number = tokens[1].value else { return nil }
            if tokens[0].isSymbol("-") { return "-" + number }
            if tokens[0].isSymbol("+") { return number }
            return nil
        default:
            return nil
        }
    }

    /// A function argument that is a string constant, optionally cast `::text`.
    private func stringConstant(_ tokens: [SQLToken]) -> String? {
        guard let first = tokens.first, first.kind == .string else { return nil }
        if tokens.count == 1 { return first.value }
        if tokens.count == 3, tokens[1].isSymbol("::"), tokens[2].isWord("text") { return first.value }
        return nil
    }

    /// The comma-separated arguments of the call whose `(` is at `open`, up to its `)` (or the
    /// statement's end, which Postgres refuses anyway).
    private func arguments(_ tokens: [SQLToken], openingAt open: Int) -> [[SQLToken]] {
        var arguments: [[SQLToken]] = []
        var current: [SQLToken] = []
        var depth = 0
        for token in tokens[(open + 1)...] {
            if token.isSymbol("(") || token.isSymbol("[") { depth += 1 }
            if token.isSymbol(")") || token.isSymbol("]") {
                if depth == 0 { break }
                depth -= 1
            }
            if depth == 0, token.isSymbol(",") {
                arguments.append(current)
                current = []
            } else {
                current.append(token)
            }
        }
        arguments.append(current)
        return arguments
    }

    private func judge(_ parameter: SessionSettings.Parameter, value: String?,
                       source: [SQLToken]) -> SettingsViolation? {
        guard let value else {
            return violation(.unreadableValue, parameter: parameter, requested: sourceText(source))
        }
        // Re-quoted so `Limit`'s unquoting yields exactly the constant's text.
        let quoted = "'" + value.replacing("'", with: "''") + "'"
        switch settings[parameter].limit.allows(clientValue: quoted) {
        case true?: return nil
        case false?: return violation(.aboveLimit, parameter: parameter, requested: value)
        case nil: return violation(.unreadableValue, parameter: parameter, requested: value)
        }
    }

    private func sourceText(_ tokens: [SQLToken]) -> String {
        tokens.map(\.source).joined(separator: " ")
    }

    private func violation(_ reason: SettingsViolation.Reason, parameter: SessionSettings.Parameter?,
                           requested: String) -> SettingsViolation {
        SettingsViolation(reason: reason, parameter: parameter, requested: requested, tier: tier,
                          limit: parameter.map { settings[$0].limit }, matrix: matrix)
    }
}

/// A client's attempt to raise a tier GUC, and everything the client is told about it.
///
/// Sent as Postgres' own error (`SettingsGuard.refusalStatement(for:)`) with `sqlState`,
/// `message`, `detail` and `hint`; this type is the one source of their text.
public struct SettingsViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// `insufficient_privilege`: what Postgres reports for a SET the role may not do.
    public static let sqlState = "42501"

    public enum Reason: String, Sendable, CaseIterable {
        /// The value is above the tier's limit (statement_timeout 0, no timeout, always is).
        case aboveLimit = "setting_limit_exceeded"
        /// The value is an expression, a parameter, or text TierGate cannot read as the
        /// GUC's type: refused rather than guessed.
        case unreadableValue = "setting_value_unchecked"
        /// `set_config`'s name is not a string constant, so it could be any tier GUC.
        case unnamedParameter = "setting_name_unchecked"
        /// Through PgBouncer's transaction pool: a change that would outlive the transaction
        /// on a shared server connection (`SettingsGuard.pooled`).
        case sessionChangeWhilePooled = "setting_session_change_pooled"
        /// `UPDATE pg_settings`, which sets parameters like set_config.
        case settingsViewUpdate = "settings_view_update"
    }

    public let reason: Reason
    /// The tier GUC; nil only for `.unnamedParameter`.
    public let parameter: SessionSettings.Parameter?
    /// The value as the client wrote it (a constant's text without quotes), or for
    /// `.unnamedParameter` the name argument.
    public let requested: String
    public let tier: Tier
    /// The tier's ceiling for `parameter`.
    public let limit: SessionSettings.Limit?
    /// What the client can do about it: an upgrade where one raises the limit.
    public let suggestion: String

    public init(reason: Reason, parameter: SessionSettings.Parameter?, requested: String, tier: Tier,
                limit: SessionSettings.Limit?, matrix: TierMatrix) {
        self.reason = reason
        self.parameter = parameter
        // Bounded: the text comes from the client and goes into logs and an ErrorResponse.
        self.requested = requested.count > 100 ? String(requested.prefix(100)) + "..." : requested
        self.tier = tier
        self.limit = limit
        self.suggestion = Self.suggestion(reason: reason, parameter: parameter, limit: limit, tier: tier,
                                          matrix: matrix)
    }

    public var sqlState: String { Self.sqlState }

    /// The tier's limit as SHOW prints it: `4MB`, `10s`, `2`.
    public var maximum: String? {
        limit.map { $0.parameter.render($0.maximum) }
    }

    /// `permission denied to set parameter "work_mem" to '1GB': the FREE tier allows at most 4MB`.
    public var message: String {
        if reason == .sessionChangeWhilePooled {
            let what = parameter.map { "permission denied to change parameter \"\($0.name)\" beyond the transaction" }
                ?? "permission denied to reset the session's settings"
            return "\(what) (\(requested)): sessions go through PgBouncer's transaction pool, where the change "
                + "would stay on a server connection shared by the org's clients"
        }
        if reason == .settingsViewUpdate {
            return "permission denied to update pg_settings: it changes parameters like set_config, and the "
                + "\(tier) tier limits "
                + SessionSettings.Parameter.allCases.map(\.name).joined(separator: ", ")
        }
        guard let parameter, let maximum else {
            let names = SessionSettings.Parameter.allCases.map(\.name)
            return "permission denied to call set_config with a parameter name that is not a string constant "
                + "(\(requested)): the \(tier) tier limits \(names.dropLast().joined(separator: ", ")) "
                + "and \(names.last!)"
        }
        var text = "permission denied to set parameter \"\(parameter.name)\" to '\(requested)'"
        if reason == .aboveLimit, parameter.zeroMeansUnlimited,
           parameter.parse(clientValue: "'" + requested.replacing("'", with: "''") + "'") == 0 {
            text += " (no timeout)"
        }
        if reason == .unreadableValue { text += ": TierGate cannot read that value" }
        return text + (reason == .unreadableValue ? "; " : ": ") + "the \(tier) tier allows at most \(maximum)"
    }

    /// Shown by psql as `HINT:`.
    public var hint: String { suggestion }

    /// Compact JSON in the shape of seed 1.2's response:
    /// `{"error":"setting_limit_exceeded","tier":"FREE","parameter":"work_mem","requested":"1GB","max":"4MB","suggestion":"..."}`.
    public var detail: String {
        JSONValue.object([
            "error": .string(reason.rawValue),
            "tier": .string(tier.rawValue),
            "parameter": parameter.map { .string($0.name) } ?? .null,
            "requested": .string(requested),
            "max": maximum.map(JSONValue.string) ?? .null,
            "suggestion": .string(suggestion),
        ]).serialized
    }

    public var description: String { message }

    private static func suggestion(reason: Reason, parameter: SessionSettings.Parameter?,
                                   limit: SessionSettings.Limit?, tier: Tier, matrix: TierMatrix) -> String {
        if reason == .sessionChangeWhilePooled {
            guard let parameter, let limit else {
                return "Use SET LOCAL inside a transaction to change a setting for that transaction only"
            }
            return "Use SET LOCAL \(parameter.name) = '...' inside a transaction (BEGIN ... COMMIT); "
                + "the \(tier) tier allows at most \(parameter.render(limit.maximum))"
        }
        if reason == .settingsViewUpdate {
            return "Use SET name = 'value' (within the tier's limits) instead of updating pg_settings"
        }
        guard let parameter, let limit else {
            return "Name the parameter with a string constant, e.g. set_config('search_path', $1, false)"
        }
        if reason == .unreadableValue {
            return "Write the value as a constant, e.g. SET \(parameter.name) = '\(parameter.render(limit.maximum))'"
        }
        switch parameter {
        case .statementTimeout: return UpgradeHint.queryTimeout(tier: tier, matrix: matrix).text
        case .workMem, .tempBuffers: return UpgradeHint.workMemory(tier: tier, matrix: matrix).text
        case .maxParallelWorkersPerGather: return parallelWorkers(tier: tier, matrix: matrix)
        }
    }

    /// `Upgrade to STARTER for up to 4 parallel workers per gather`, in the manner of
    /// `UpgradeHint`: the cheapest tier that actually raises the limit, else what is left.
    static func parallelWorkers(tier: Tier, matrix: TierMatrix) -> String {
        let current = matrix[tier].postgres.maxParallelWorkers
        if let better = Tier.allCases.first(where: { $0 > tier && matrix[$0].postgres.maxParallelWorkers > current }) {
            return "Upgrade to \(better) for up to \(matrix[better].postgres.maxParallelWorkers) parallel workers per gather"
        }
        return tier.next == nil
            ? "Use at most \(current) parallel workers per gather: that is the \(tier) limit"
            : "Use at most \(current) parallel workers per gather: no tier offers more"
    }
}
