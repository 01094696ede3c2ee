import PostgresWire
import TierModel

/// Keeps a client from lifting its own tier ceiling from inside the session.
///
/// TierGate injects the tier's GUCs through the startup packet, so they are the session's
/// reset values: `RESET work_mem`, `RESET ALL`, `DISCARD ALL` and `SET work_mem TO DEFAULT`
/// return to the tier's value and pass. What is refused is raising a tier GUC above the tier:
/// `SET [SESSION | LOCAL] <guc> {= | TO} <value>`, `set_config('<guc>', '<value>', ...)`
/// anywhere in a statement, a `SET <guc> = <value>` clause of `CREATE FUNCTION`,
/// `CREATE PROCEDURE` or `ALTER FUNCTION | PROCEDURE | ROUTINE` (which would apply it while
/// the function runs), and `UPDATE pg_settings`. A GUC is recognized by every name Postgres
/// accepts for it: any letter case, quoted, Unicode-escaped (`U&"work!005fmem" UESCAPE '!'`)
/// or by an old name (`sort_mem` is work_mem: `SessionSettings.Parameter(gucName:)`).
///
/// Four kinds of client message can change a setting, and each is judged:
/// - a Query's text (`check(query:prepared:)`);
/// - a Parse's statement (`check(parse:prepared:)`). A `set_config` whose name or value is
///   a bound parameter (`select set_config($1, $2, false)`, as JDBC and psycopg send for
///   application_name) cannot be judged there: the statement is remembered
///   (`BoundSetConfig`, kept per session in `PreparedSetConfigs`) and judged at every Bind;
/// - a Bind of such a statement, by its parameter values in text or binary format
///   (`check(bind:against:)`), each time the statement is bound;
/// - a FunctionCall of set_config (function OID 2078, `check(functionCall:)`).
///
/// Guarantees:
/// - Text is read with Postgres' own lexical rules (`SQLLexer`), so SQL inside string
///   constants, quoted identifiers, dollar-quoted bodies and comments is data, not a `SET`.
///   Because `standard_conforming_strings` may have been turned off earlier in the session,
///   and the session's client_encoding may be one whose multibyte characters contain ASCII
///   bytes (SJIS, BIG5, GBK, UHC, GB18030: a `\` inside a character), the text is judged
///   under every reading the server could apply (`ClientTextReading`), and refused if any
///   reading raises a limit. Text in any encoding is judged, never passed unread.
/// - A value it cannot read is refused, never guessed (`Limit.allows(clientValue:)` is nil,
///   or the value is an expression, or a non-ASCII parameter value); so is a `set_config`
///   whose name is an expression, since it could name any GUC.
/// - A statement once prepared as a bound `set_config` is judged at every later Bind of its
///   name and every `EXECUTE` of it, even after the client closed it or prepared another
///   statement under that name: the server may have skipped that Close or Parse (after an
///   error, until Sync), and the proxy does not see the server's replies to them.
///
/// Known limits: code that runs later as text is not inspected: dollar-quoted or string
/// bodies of `DO` blocks and functions (a PL/pgSQL `SET work_mem = '1GB'` or `EXECUTE`
/// inside them), functions created earlier or by another role that call set_config or
/// carry a SET clause, and SQL run by extensions such as dblink; after the statements
/// that can run such code the proxy checks the settings instead (`SettingsBlindSpots`). `ALTER ROLE | DATABASE ...
/// SET` is not refused: those apply at the next connection, where the startup packet's
/// values take precedence (PGC_S_CLIENT over PGC_S_USER/PGC_S_DATABASE). A Bind to a
/// statement name that once held a bound `set_config`, with the same number of parameters
/// and values that would raise a tier GUC through it, is refused even if the statement now
/// under that name is another one.
public struct SettingsGuard: Sendable {
    public let tier: Tier
    public let settings: SessionSettings
    public let matrix: TierMatrix
    /// The session reaches Postgres through PgBouncer's transaction pool, where the tier's
    /// values come from the pool's connect_query: session values, not reset values, on
    /// server connections shared by the org's clients. There, anything that changes a tier
    /// GUC beyond the current transaction is refused too, even a lower value: `RESET <guc>`,
    /// `RESET ALL`, `DISCARD ALL` and `SET <guc> TO DEFAULT` would fall back to the server's
    /// defaults (statement_timeout 0), and a session-level `SET` or `set_config(..., false)`
    /// would stay on the server connection for the org's next client. `SET LOCAL` and
    /// `set_config(..., true)` within the tier pass.
    public let pooled: Bool

    /// set_config's OID in pg_proc (fixed in the catalog since Postgres 7.3).
    public static let setConfigOID: UInt32 = 2078

    public init(tier: Tier, settings: SessionSettings, matrix: TierMatrix, pooled: Bool = false) {
        self.tier = tier
        self.settings = settings
        self.matrix = matrix
        self.pooled = pooled
    }

    // MARK: - Messages

    /// The first violation in `sql`, a simple Query's text as UTF-8.
    public func check(sql: String) -> SettingsViolation? {
        check(query: Array(sql.utf8)[...])
    }

    /// The first violation in a Query's text (possibly several statements), given as bytes
    /// in the session's client_encoding, or nil when it stays within the tier. `prepared`:
    /// the session's bound set_config statements, which an `EXECUTE` may run.
    public func check(query text: ArraySlice<UInt8>, prepared: PreparedSetConfigs = PreparedSetConfigs()) -> SettingsViolation? {
        // Runs on every query of a gated session: most queries cannot touch a setting, and a
        // byte scan is far cheaper than lexing the text.
        guard Self.mightChangeSettings(text, orExecute: !prepared.isEmpty) else { return nil }
        for statement in statements(of: text) {
            var unbound: [SetConfigCall]?
            if let violation = check(statement, deferring: &unbound, prepared: prepared) { return violation }
        }
        return nil
    }

    /// The rules alone, without the byte pre-check in front of them: `check(sql:)` must give
    /// the same answer, which the settings-guard fuzz target checks.
    func checkStatements(in sql: String) -> SettingsViolation? {
        let prepared = PreparedSetConfigs()
        for statement in statements(of: Array(sql.utf8)[...]) {
            var unbound: [SetConfigCall]?
            if let violation = check(statement, deferring: &unbound, prepared: prepared) { return violation }
        }
        return nil
    }

    /// What to do with a Parse: forward it, forward it and judge each Bind of the statement
    /// (a `set_config` with bound parameters), or refuse it.
    public enum ParseVerdict: Sendable, Equatable {
        case forward
        case remember(BoundSetConfig)
        case refuse(SettingsViolation)
    }

    public func check(parse: RawParse, prepared: PreparedSetConfigs = PreparedSetConfigs()) -> ParseVerdict {
        guard Self.mightChangeSettings(parse.query, orExecute: !prepared.isEmpty) else { return .forward }
        var calls: [SetConfigCall] = []
        var parameterCount = parse.parameterTypes.count
        for statement in statements(of: parse.query) {
            parameterCount = max(parameterCount, Self.highestParameter(in: statement))
            // `$n` is the Bind's parameter only in statements the extended protocol runs with
            // its values; in `PREPARE`, `CREATE FUNCTION ... BEGIN ATOMIC`, `CREATE RULE`
            // it belongs to something else, and is judged unreadable as in a Query.
            var deferred: [SetConfigCall]? = Self.takesBoundParameters(statement) ? [] : nil
            if let violation = check(statement, deferring: &deferred, prepared: prepared) { return .refuse(violation) }
            for call in deferred ?? [] where !calls.contains(call) { calls.append(call) }
        }
        guard !calls.isEmpty else { return .forward }
        return .remember(BoundSetConfig(calls: calls, parameterCount: parameterCount, parameterTypes: parse.parameterTypes))
    }

    /// A Bind of a statement remembered from `check(parse:)`: the first violation its
    /// parameter values make. A Bind whose values do not fit the statement (count, format
    /// codes) is left to the server, which refuses it before running anything.
    public func check(bind parameters: BoundValues, against statement: BoundSetConfig) -> SettingsViolation? {
        guard parameters.count == statement.parameterCount else { return nil }
        for call in statement.calls {
            guard let bound = call.binding(parameters, types: statement.parameterTypes) else { return nil }
            if case .refused(let violation) = judge(bound) { return violation }
        }
        return nil
    }

    /// A FunctionCall: set_config's arguments are judged as a Bind of
    /// `set_config($1, $2, $3)`; other functions pass (see Known limits).
    public func check(functionCall: FunctionCall) -> SettingsViolation? {
        guard functionCall.functionOID == Self.setConfigOID else { return nil }
        return check(bind: functionCall.arguments, against: .functionCall)
    }

    /// The refusal for a remembered statement when its Bind cannot be judged later (the
    /// session remembers too many): as if its parameters were unreadable.
    public func unboundViolation(_ statement: BoundSetConfig) -> SettingsViolation? {
        for call in statement.calls {
            if case .refused(let violation) = judge(call.unbound) { return violation }
        }
        return nil
    }

    // MARK: - Refusals

    /// A statement to send Postgres instead of the client's, so that Postgres itself raises
    /// the refusal and the protocol sequence stays its own (ErrorResponse then ReadyForQuery,
    /// the transaction block aborted, the extended protocol skipping to Sync). Postgres adds
    /// a PL/pgSQL CONTEXT line to it, which the proxy removes on the way back
    /// (`SettingsViolation.isRefusal(detail:)`).
    ///
    /// The text is ASCII only (`SettingsViolation.requested` is), so every client_encoding
    /// reads it the same; the texts are `E''` constants (quotes and backslashes escaped, so
    /// the result does not depend on standard_conforming_strings), and the dollar tag is
    /// chosen not to occur in them. `MESSAGE =` takes an expression, not a format, so `%`
    /// needs no escaping.
    public func refusalStatement(for violation: SettingsViolation) -> String {
        let body = "BEGIN RAISE EXCEPTION USING ERRCODE = \(literal(violation.sqlState.rawValue)), "
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

    /// The refusal statement in place of a Parse's, with as many parameters as the client's
    /// statement has, so the client's Bind still fits and Execute raises the refusal.
    /// Parameters whose type the client left to the server are declared text (the DO
    /// statement gives the server nothing to infer a type from).
    public func refusalParse(for parse: RawParse, violation: SettingsViolation) -> RawParse {
        let referenced = SQLLexer.statements(in: Array(parse.query)).map(Self.highestParameter).max() ?? 0
        var types = parse.parameterTypes.map { $0 == 0 ? BoundSetConfig.textOID : $0 }
        if referenced > types.count { types += Array(repeating: BoundSetConfig.textOID, count: referenced - types.count) }
        return RawParse(statementName: parse.statementName, query: Array(refusalStatement(for: violation).utf8)[...],
                        parameterTypes: types)
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

    // MARK: - Reading text

    /// Every statement under every reading: both settings of standard_conforming_strings,
    /// every way a client_encoding can split the bytes.
    private func statements(of text: ArraySlice<UInt8>) -> [[SQLToken]] {
        ClientTextReading.readings(of: text).flatMap { reading in
            [true, false].flatMap { SQLLexer.statements(in: reading, standardConformingStrings: $0) }
        }
    }

    /// False only when no rule can apply: every refused statement contains `set` (SET,
    /// RESET, set_config, pg_settings, a function's SET clause) or `discard` in any letter
    /// case, or a `U&` Unicode escape that could spell one of them in an identifier; with
    /// `orExecute`, also `execute`, which can run a remembered bound set_config. Keywords
    /// cannot be escaped or split, and no reading of the bytes makes ASCII letters that are
    /// not there, so text without these cannot change a setting.
    static func mightChangeSettings(_ sql: String) -> Bool {
        mightChangeSettings(Array(sql.utf8)[...], orExecute: false)
    }

    static func mightChangeSettings(_ bytes: ArraySlice<UInt8>, orExecute: Bool) -> Bool {
        bytes.withContiguousStorageIfAvailable { containsSettingsWord($0, orExecute: orExecute) }
            ?? Array(bytes).withUnsafeBufferPointer { containsSettingsWord($0, orExecute: orExecute) }
    }

    private static func containsSettingsWord(_ bytes: UnsafeBufferPointer<UInt8>, orExecute: Bool) -> Bool {
        // `| 0x20` maps only 'S' and 's' to 's' (and so on), so no other byte can match.
        func lower(_ byte: UInt8) -> UInt8 { byte | 0x20 }
        func follows(_ word: String, at i: Int) -> Bool {
            let rest = word.utf8
            return i + rest.count < bytes.count && zip(rest, bytes[(i + 1)...(i + rest.count)]).allSatisfy { $0 == lower($1) }
        }
        let count = bytes.count
        var i = 0
        while i < count {
            switch lower(bytes[i]) {
            case UInt8(ascii: "s"):
                if follows("et", at: i) { return true }
            case UInt8(ascii: "d"):
                if follows("iscard", at: i) { return true }
            case UInt8(ascii: "e"):
                if orExecute, follows("xecute", at: i) { return true }
            case UInt8(ascii: "u"):
                if i + 1 < count, bytes[i + 1] == UInt8(ascii: "&") { return true }
            default:
                break
            }
            i += 1
        }
        return false
    }

    /// The highest `$n` in a statement: the number of parameters the server gives it at
    /// least (more when the Parse declares more types).
    static func highestParameter(in tokens: [SQLToken]) -> Int {
        tokens.lazy.filter { $0.kind == .parameter }.compactMap { $0.value.flatMap { Int($0) } }.max() ?? 0
    }

    /// Whether a Parse's statement runs with the Bind's values for its `$n`.
    static func takesBoundParameters(_ tokens: [SQLToken]) -> Bool {
        guard let first = tokens.first else { return false }
        if first.isSymbol("(") { return true }
        return ["select", "with", "values", "table", "insert", "update", "delete", "merge", "explain", "declare", "call"]
            .contains { first.isWord($0) }
    }

    // MARK: - Statements

    /// The first violation in one statement. `deferring`: when non-nil, set_config calls
    /// that can only be judged with their parameters' values are collected there instead
    /// of refused.
    private func check(_ tokens: [SQLToken], deferring unbound: inout [SetConfigCall]?,
                       prepared: PreparedSetConfigs) -> SettingsViolation? {
        if let violation = checkPooled(tokens) ?? checkSet(tokens) { return violation }
        for call in setConfigCalls(in: tokens) {
            switch judge(call) {
            case .allowed:
                continue
            case .refused(let violation):
                return violation
            case .needsParameters:
                if unbound != nil {
                    unbound?.append(call)
                } else if case .refused(let violation) = judge(call.unbound) {
                    return violation
                }
            }
        }
        return checkFunctionClauses(tokens) ?? checkSettingsViewUpdate(tokens) ?? checkExecute(tokens, prepared: prepared)
    }

    /// In pooled mode: `RESET`/`DISCARD ALL`, session-level `SET` (any value, `DEFAULT`
    /// included) and `SET LOCAL ... TO DEFAULT` of a tier GUC (set_config: `judge(_:)`).
    /// Nil outside pooled mode.
    private func checkPooled(_ tokens: [SQLToken]) -> SettingsViolation? {
        guard pooled, let verb = tokens.first else { return nil }
        let statement = sourceText(tokens)
        if verb.isWord("discard"), tokens.count >= 2, tokens[1].isWord("all") {
            return violation(.sessionChangeWhilePooled, parameter: nil, requested: statement)
        }
        if verb.isWord("reset"), tokens.count >= 2 {
            if tokens[1].isWord("all") { return violation(.sessionChangeWhilePooled, parameter: nil, requested: statement) }
            if let name = tokens[1].value, let parameter = settings.parameter(named: name) {
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
                  let parameter = settings.parameter(named: name)
            else { return nil }
            let toDefault = tokens.count == i + 3 && tokens[i + 2].isWord("default")
            if !local || toDefault { return violation(.sessionChangeWhilePooled, parameter: parameter, requested: statement) }
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
        guard let parameter = settings.parameter(named: nameText) else { return nil }
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

    /// `EXECUTE name(args)` (alone, under EXPLAIN or CREATE TABLE AS) of a statement the
    /// session prepared as a bound set_config: the arguments are its parameter values.
    private func checkExecute(_ tokens: [SQLToken], prepared: PreparedSetConfigs) -> SettingsViolation? {
        guard !prepared.isEmpty else { return nil }
        for k in tokens.indices.dropLast() where tokens[k].isWord("execute") {
            let name = tokens[k + 1]
            guard name.kind == .word || name.kind == .quotedIdentifier, let nameText = name.value else { continue }
            let hasArguments = k + 2 < tokens.count && tokens[k + 2].isSymbol("(")
            let arguments = hasArguments ? self.arguments(tokens, openingAt: k + 2).map { argument($0, flag: true) } : []
            // An argument that is itself a parameter (`EXECUTE s($1, $2)` in a Parse) is
            // judged unreadable: its value would come with another Bind.
            for statement in prepared.templates(named: Array(nameText.utf8)) where statement.parameterCount == arguments.count {
                for call in statement.calls {
                    if case .refused(let violation) = judge(call.substituting(arguments).unbound) { return violation }
                }
            }
        }
        return nil
    }

    // MARK: - set_config

    /// Every `set_config(...)` call in the statement, schema-qualified or quoted, with
    /// positional or named (`setting_name =>`, `new_value =>`, `is_local =>`) arguments.
    private func setConfigCalls(in tokens: [SQLToken]) -> [SetConfigCall] {
        var calls: [SetConfigCall] = []
        for k in tokens.indices.dropLast()
        where tokens[k + 1].isSymbol("(")
            && (tokens[k].kind == .word || tokens[k].kind == .quotedIdentifier)
            && tokens[k].value?.asciiLowercased == "set_config" {
            var positional: [[SQLToken]] = []
            var named: [String: [SQLToken]] = [:]
            for argument in arguments(tokens, openingAt: k + 1) {
                if argument.count >= 2, argument[0].kind == .word || argument[0].kind == .quotedIdentifier,
                   argument[1].isSymbol("=>") || argument[1].isSymbol(":="), let key = argument[0].value {
                    named[key.asciiLowercased] = Array(argument.dropFirst(2))
                } else {
                    positional.append(argument)
                }
            }
            guard let name = positional.first ?? named["setting_name"] else { continue }
            let value = positional.count > 1 ? positional[1] : named["new_value"]
            let isLocal = positional.count > 2 ? positional[2] : named["is_local"]
            calls.append(SetConfigCall(name: argument(name, flag: false), value: value.map { argument($0, flag: false) },
                                       isLocal: isLocal.map { argument($0, flag: true) }))
        }
        return calls
    }

    /// One argument of set_config as the server would receive it: a constant (a string,
    /// optionally `::text`; a number; for the flag also `true`/`false`), NULL, a bound
    /// parameter (`$n`, optionally `::text`), or an expression TierGate does not evaluate.
    private func argument(_ tokens: [SQLToken], flag: Bool) -> SetConfigCall.Argument {
        if tokens.count == 1, tokens[0].isWord("null") { return .null }
        if let first = tokens.first, first.kind == .parameter, let n = first.value.flatMap({ Int($0) }),
           tokens.count == 1 || (tokens.count == 3 && tokens[1].isSymbol("::") && tokens[2].isWord("text")) {
            return .parameter(n)
        }
        if flag, tokens.count == 1, tokens[0].isWord("true") || tokens[0].isWord("false") { return .text(tokens[0].value!) }
        if let text = stringConstant(tokens) ?? literalValue(tokens, allowWords: false) { return .text(text) }
        return .unreadable(sourceText(tokens))
    }

    private enum Judgment {
        case allowed
        case refused(SettingsViolation)
        /// Depends on a bound parameter's value.
        case needsParameters
    }

    /// One set_config call. A NULL value resets the GUC to its reset value, the tier's
    /// (except through PgBouncer's pool, where that is the server's default).
    private func judge(_ call: SetConfigCall) -> Judgment {
        let parameter: SessionSettings.Parameter
        switch call.name {
        case .null: return .allowed  // the server refuses: "SET requires parameter name"
        case .parameter: return .needsParameters
        case .unreadable(let source): return .refused(violation(.unnamedParameter, parameter: nil, requested: source))
        case .text(let name):
            guard let tierParameter = settings.parameter(named: name) else { return .allowed }
            parameter = tierParameter
        }
        if pooled {
            if case .parameter? = call.isLocal { return .needsParameters }
            if case .parameter? = call.value { return .needsParameters }
            let local: Bool
            if case .text(let flag)? = call.isLocal { local = Self.booleanValue(flag) == true } else { local = false }
            let resets: Bool
            switch call.value {
            case nil, .null?: resets = true
            default: resets = false
            }
            if !local || resets {
                return .refused(violation(.sessionChangeWhilePooled, parameter: parameter, requested: call.description))
            }
        }
        switch call.value {
        case nil, .null?: return .allowed
        case .parameter?: return .needsParameters
        case .unreadable(let source)?: return .refused(violation(.unreadableValue, parameter: parameter, requested: source))
        case .text(let value)?:
            return judge(parameter, value: value, source: []).map(Judgment.refused) ?? .allowed
        }
    }

    /// Postgres' `parse_bool`: unique prefixes of true/false/yes/no, on/off, 1/0, any case,
    /// surrounding white space ignored (boolin); nil for anything else.
    static func booleanValue(_ text: String) -> Bool? {
        let value = String(decoding: text.utf8.drop { isSpace($0) }.reversed().drop { isSpace($0) }.reversed(),
                           as: UTF8.self).asciiLowercased
        guard !value.isEmpty else { return nil }
        if "true".hasPrefix(value) || "yes".hasPrefix(value) || value == "on" || value == "1" { return true }
        if "false".hasPrefix(value) || "no".hasPrefix(value) || value == "off" || value == "of" || value == "0" { return false }
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
        if !current.isEmpty || !arguments.isEmpty { arguments.append(current) }
        return arguments
    }

    /// `source` is the value as written, for the message when the value is nil.
    private func judge(_ parameter: SessionSettings.Parameter, value: String?,
                       source: [SQLToken]) -> SettingsViolation? {
        guard let value else {
            return violation(.unreadableValue, parameter: parameter, requested: sourceText(source))
        }
        // Re-quoted so `Limit`'s unquoting yields exactly the constant's text.
        let quoted = "'" + value.replacing("'", with: "''") + "'"
        switch settings[parameter]?.limit.allows(clientValue: quoted) {
        case true?: return nil
        case false?: return violation(.aboveLimit, parameter: parameter, requested: value)
        case nil: return settings[parameter] == nil ? nil  // a parameter this tier leaves unset
            : violation(.unreadableValue, parameter: parameter, requested: value)
        }
    }

    private func sourceText(_ tokens: [SQLToken]) -> String {
        tokens.map(\.source).joined(separator: " ")
    }

    private func violation(_ reason: SettingsViolation.Reason, parameter: SessionSettings.Parameter?,
                           requested: String) -> SettingsViolation {
        SettingsViolation(reason: reason, parameter: parameter, requested: requested, tier: tier,
                          limit: parameter.flatMap { settings[$0]?.limit }, matrix: matrix)
    }
}
