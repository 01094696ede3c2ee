/// The statements a session prepared as bound set_config calls, by statement name (bytes,
/// as the server compares them; empty for the unnamed statement), so each Bind and each
/// `EXECUTE` of them is judged by its values (`SettingsGuard.check(bind:against:)`).
///
/// A name is never forgotten and a new statement under it never replaces the old one: the
/// proxy sees the client's Close and Parse but not whether the server ran them (after an
/// error the server skips everything until Sync), so every statement that may be in force
/// under a name is kept. Bounded: a session that prepares more is refused further ones.
public struct PreparedSetConfigs: Sendable {
    private var byName: [[UInt8]: [BoundSetConfig]] = [:]

    /// At most this many statement names, and this many different statements per name.
    public static let nameLimit = 256
    public static let statementsPerName = 8

    public init() {}

    public var isEmpty: Bool { byName.isEmpty }

    /// The statements that may be in force under `name`.
    public func templates(named name: [UInt8]) -> [BoundSetConfig] {
        byName[Self.key(name)] ?? []
    }

    /// Adds a statement prepared under `name`; false when the limits leave no room.
    public mutating func remember(_ statement: BoundSetConfig, named name: [UInt8]) -> Bool {
        let name = Self.key(name)
        var known = byName[name] ?? []
        if known.contains(statement) { return true }
        guard known.count < Self.statementsPerName, known.count > 0 || byName.count < Self.nameLimit else { return false }
        known.append(statement)
        byName[name] = known
        return true
    }

    /// The server keeps prepared statements in a hash keyed by NAMEDATALEN bytes and
    /// compares names on their first 63 bytes only (prepare.c, `HASH_STRINGS`): longer
    /// names that share them are one statement.
    static func key(_ name: [UInt8]) -> [UInt8] {
        name.count > 63 ? Array(name.prefix(63)) : name
    }
}
