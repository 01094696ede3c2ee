import TierModel

/// libFuzzer target: the SQL lexer and the settings guard that reads a client's query with it
/// (`SQLLexer`, `SettingsGuard`, and TierModel's GUC value parsing under `judge`).
///
/// The input is a query's text, as the proxy takes it from a Query or Parse message (bytes
/// that are not UTF-8 are replaced, as the proxy never passes them on to the guard).
///
/// Invariants, beyond "no crash, no hang, no leak":
/// - Lexing, with standard_conforming_strings on and off: every token has source text, the
///   sources appear in the query in order, a word's value is its source folded to ASCII
///   lowercase, a symbol's value is its source.
/// - The byte pre-check is sound: when it lets a query skip the lexer, the rules themselves
///   (`checkStatements`) find nothing either, for FREE and ENTERPRISE, pooled or not.
/// - Refusals are ordered: what a higher tier refuses, a lower one refuses too (when the
///   matrix orders the limits so); what a direct session refuses, a pooled one refuses too.
/// - A refusal is safe to send: `requested` is bounded, `detail` is JSON naming the reason,
///   and the refusal statement is one `DO` statement, under either standard_conforming_strings,
///   whose string constants read back as exactly the SQLSTATE, message, detail and hint.

private struct GuardCase: Sendable {
    let tier: Tier
    let pooled: Bool
    let settingsGuard: SettingsGuard
}

/// A direct and a pooled FREE session, and a direct ENTERPRISE one: enough to compare tiers
/// and pooling, and each case costs two lexes of every input.
private let guardCases: [GuardCase] = [(Tier.free, false), (.free, true), (.enterprise, false)].map { tier, pooled in
    GuardCase(tier: tier, pooled: pooled,
              settingsGuard: SettingsGuard(tier: tier, settings: SessionSettings(limits: TierMatrix.builtIn[tier]),
                                           matrix: .builtIn, pooled: pooled))
}

/// Whether every tier GUC's limit grows with the tier in the built-in matrix, which makes
/// "refused by a higher tier implies refused by a lower one" hold.
private let tiersOrderLimits: Bool = SessionSettings.Parameter.allCases.allSatisfy { parameter in
    let limits = Tier.allCases.map { SessionSettings(limits: TierMatrix.builtIn[$0])[parameter]?.baseValue ?? .infinity }  // unset: no limit
    return zip(limits, limits.dropFirst()).allSatisfy { $0 <= $1 }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSettingsGuard(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let sql = String(decoding: fuzzerBytes(data, size), as: UTF8.self)
    for standardConformingStrings in [true, false] {
        checkTokens(SQLLexer.tokens(in: sql, standardConformingStrings: standardConformingStrings), of: sql)
    }

    let prechecked = SettingsGuard.mightChangeSettings(sql)
    let refusals = guardCases.map { $0.settingsGuard.checkStatements(in: sql) }
    for (refusal, guardCase) in zip(refusals, guardCases) {
        invariant(prechecked || refusal == nil,
                  "the pre-check skips a query that \(guardCase.tier) (pooled: \(guardCase.pooled)) refuses: \(refusal!)")
    }
    // One refusal per input is checked: the texts differ between cases only by the tier's
    // numbers, and checking a refusal lexes its statement three times.
    if let (refusal, guardCase) = zip(refusals, guardCases).first(where: { $0.0 != nil }) {
        checkRefusal(refusal!, from: guardCase.settingsGuard)
    }
    for (passed, passedCase) in zip(refusals, guardCases) where passed == nil {
        for (refused, refusedCase) in zip(refusals, guardCases) where refused != nil {
            invariant(!(passedCase.pooled == refusedCase.pooled && passedCase.tier < refusedCase.tier && tiersOrderLimits),
                      "\(refusedCase.tier) refuses what \(passedCase.tier) lets through: \(refused!)")
            invariant(!(passedCase.tier == refusedCase.tier && passedCase.pooled && !refusedCase.pooled),
                      "a pooled \(passedCase.tier) session may do what a direct one may not: \(refused!)")
        }
    }
    return 0
}

private func checkTokens(_ tokens: [SQLToken], of sql: String) {
    let text = Array(sql.utf8)
    var cursor = 0
    for token in tokens {
        // A U& constant with its UESCAPE clause is one token whose source is the three parts
        // joined by single spaces (whatever separated them): its first part is in the text.
        let whole = Array(token.source.utf8)
        let source = token.source.lowercased().contains("uescape")
            ? Array((token.source.split(separator: " ", maxSplits: 1).first.map(String.init) ?? token.source).utf8)
            : whole
        invariant(!source.isEmpty, "a token without source text")
        guard let found = firstIndex(of: source, in: text, from: cursor) else {
            invariant(false, "token \(token.source.debugDescription) is not in the query after byte \(cursor)")
            return
        }
        cursor = found + source.count
        switch token.kind {
        case .word: invariant(token.value == token.source.asciiLowercased, "word \(token.source) folded to \(String(describing: token.value))")
        case .symbol: invariant(token.value == token.source, "symbol \(token.source) read as \(String(describing: token.value))")
        default: break
        }
    }
}

private func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard needle.count <= haystack.count - start else { return nil }
    return (start...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
}

private func checkRefusal(_ refusal: SettingsViolation, from settingsGuard: SettingsGuard) {
    invariant(refusal.requested.count <= 103, "requested text of \(refusal.requested.count) characters")
    guard case .object(let detail)? = try? JSONValue(parsing: refusal.detail) else {
        invariant(false, "detail is not a JSON object: \(refusal.detail)")
        return
    }
    invariant(detail["error"] == .string(refusal.reason.rawValue), "detail names another reason: \(refusal.detail)")

    let statement = settingsGuard.refusalStatement(for: refusal)
    var body: String?
    for standardConformingStrings in [true, false] {
        let statements = SQLLexer.statements(in: statement, standardConformingStrings: standardConformingStrings)
        guard statements.count == 1, statements[0].count == 2, statements[0][0].isWord("do"),
              statements[0][1].kind == .dollarQuoted, let value = statements[0][1].value
        else {
            invariant(false, "the refusal is not one DO statement: \(statement)")
            return
        }
        body = value
    }
    let constants = SQLLexer.tokens(in: body!).filter { $0.kind == .string }.map(\.value)
    let texts = [refusal.sqlState.rawValue, refusal.message, refusal.detail, refusal.hint]
        .map { String(String.UnicodeScalarView($0.unicodeScalars.filter { $0 != "\0" })) }
    invariant(constants == texts, "the refusal's constants do not read back as its texts: \(statement)")
}
