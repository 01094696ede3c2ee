import PostgresWire

/// A prepared statement that calls set_config with a bound parameter as its name or value
/// (`select set_config($1, $2, false)`): what `SettingsGuard` needs to judge each Bind of it
/// by the parameter values.
public struct BoundSetConfig: Sendable, Hashable {
    /// Its set_config calls that depend on parameters.
    public let calls: [SetConfigCall]
    /// How many values a Bind of the statement carries: the Parse's declared types or the
    /// highest `$n`, whichever is more.
    public let parameterCount: Int
    /// As declared in the Parse (0 or missing: inferred by the server, text for
    /// set_config's name and value, boolean for its flag).
    public let parameterTypes: [Int32]

    public init(calls: [SetConfigCall], parameterCount: Int, parameterTypes: [Int32]) {
        self.calls = calls
        self.parameterCount = parameterCount
        self.parameterTypes = parameterTypes
    }

    /// `set_config($1, $2, $3)` with set_config's own argument types, for a FunctionCall.
    static let functionCall = BoundSetConfig(
        calls: [SetConfigCall(name: .parameter(1), value: .parameter(2), isLocal: .parameter(3))],
        parameterCount: 3, parameterTypes: [textOID, textOID, boolOID])

    static let textOID: Int32 = 25
    static let boolOID: Int32 = 16
    /// Types whose values, text or binary, are the text itself in the client's encoding
    /// (textrecv, varcharrecv, namerecv, bpcharrecv, unknownrecv), and 0: left to the
    /// server, which infers text for set_config's name and value.
    static let textTypes: Set<Int32> = [0, textOID, 1043, 19, 1042, 705]
}

/// One `set_config(name, value, is_local)` call as the guard reads it.
public struct SetConfigCall: Sendable, Hashable, CustomStringConvertible {
    public enum Argument: Sendable, Hashable {
        /// A constant: the text the function receives.
        case text(String)
        case null
        /// `$n` (1-based), bound later.
        case parameter(Int)
        /// An expression, or a value that cannot be read; the source as written.
        case unreadable(String)
    }

    public var name: Argument
    /// nil: not given (the server refuses the call).
    public var value: Argument?
    public var isLocal: Argument?

    public init(name: Argument, value: Argument?, isLocal: Argument?) {
        self.name = name
        self.value = value
        self.isLocal = isLocal
    }

    /// `set_config('work_mem', '1GB', false)`.
    public var description: String {
        func render(_ argument: Argument?) -> String {
            switch argument {
            case nil: return ""
            case .text(let text)?: return "'" + text.replacing("'", with: "''") + "'"
            case .null?: return "NULL"
            case .parameter(let n)?: return "$\(n)"
            case .unreadable(let source)?: return source
            }
        }
        return "set_config(" + [name, value, isLocal].compactMap { $0 }.map(render).joined(separator: ", ") + ")"
    }

    /// With every parameter replaced: `arguments[n - 1]` for `$n`, unreadable if missing.
    func substituting(_ arguments: [Argument]) -> SetConfigCall {
        func substitute(_ argument: Argument?) -> Argument? {
            guard case .parameter(let n)? = argument else { return argument }
            return n >= 1 && n <= arguments.count ? arguments[n - 1] : .unreadable("$\(n)")
        }
        return SetConfigCall(name: substitute(name)!, value: substitute(value), isLocal: substitute(isLocal))
    }

    /// With every parameter unreadable: how the call is judged where no value can come.
    var unbound: SetConfigCall {
        func unbind(_ argument: Argument?) -> Argument? {
            guard case .parameter(let n)? = argument else { return argument }
            return .unreadable("$\(n)")
        }
        return SetConfigCall(name: unbind(name)!, value: unbind(value), isLocal: unbind(isLocal))
    }

    /// With the values of a Bind (or FunctionCall); nil when a value used here has a format
    /// code the server refuses (it then refuses the whole message).
    func binding(_ values: BoundValues, types: [Int32]) -> SetConfigCall? {
        var unusable = false
        func bind(_ argument: Argument?, flag: Bool) -> Argument? {
            guard case .parameter(let n)? = argument else { return argument }
            let index = n - 1
            guard index >= 0, index < values.count else { return .unreadable("$\(n)") }
            guard let format = values.format(of: index) else {
                unusable = true
                return nil
            }
            guard let bytes = values.values[index] else { return .null }
            let type = index < types.count ? types[index] : 0
            if flag {
                switch (type, format) {
                case (0, .text), (BoundSetConfig.boolOID, .text): return .text(String(decoding: bytes, as: UTF8.self))
                case (0, .binary), (BoundSetConfig.boolOID, .binary):
                    guard bytes.count == 1 else { return .unreadable("$\(n)") }
                    return .text(bytes.first == 0 ? "false" : "true")
                default: return .unreadable("$\(n)")
                }
            }
            // Text in the client's encoding: only ASCII means the same in every encoding, and
            // no GUC name or tier value needs more; anything else reads as U+FFFD, which no
            // tier GUC's name or value contains.
            guard BoundSetConfig.textTypes.contains(type) else { return .unreadable("$\(n)") }
            return .text(String(decoding: bytes, as: UTF8.self))
        }
        let bound = SetConfigCall(name: bind(name, flag: false) ?? .null, value: bind(value, flag: false),
                                  isLocal: bind(isLocal, flag: true))
        return unusable ? nil : bound
    }
}
