import Gate
import PostgresWire
import Proxy
import TierModel

/// The settings check after statements the guard cannot judge: which ones trigger it, the
/// query that reads the tier's settings back, and the restore of those a client raised.
extension TierSessionRules {
    func mayChangeSettingsUnseen(id: UInt8, payload: ArraySlice<UInt8>) -> Bool {
        guard checkedSettings != nil else { return false }
        switch FrontendMessageID(rawValue: id) {
        case .query:
            // A malformed message is one the server refuses; checking after it costs little.
            guard let text = Query.decodeText(payload: payload) else { return true }
            return SettingsBlindSpots.mayChangeSettings(text: text)
        case .parse:
            guard let parse = RawParse.decode(payload: payload) else { return true }
            return SettingsBlindSpots.mayChangeSettings(text: parse.query)
        case .functionCall:
            // A FunctionCall names a function by oid: any function may set anything.
            return true
        default:
            return false
        }
    }

    var settingsCheck: SettingsCheck? {
        checkedSettings.map(Self.check)
    }

    /// Puts back every tier setting whose current value (pg_settings' `setting`, in the GUC's
    /// base unit) is above the tier's ceiling, or at its "unlimited" value, and returns their
    /// names. Values below the ceiling stay: a client may lower its settings.
    static func check(_ settings: SessionSettings) -> SettingsCheck {
        let rows = settings.settings.map { setting in
            let unlimited = setting.parameter.unlimitedValue.map { "\($0)" } ?? "NULL"
            return "('\(setting.name)', \(setting.baseValue)::numeric, \(unlimited)::numeric, '\(setting.value)')"
        }.joined(separator: ", ")
        return SettingsCheck(statement: "SELECT s.name, set_config(s.name, t.value, false) FROM pg_catalog.pg_settings s "
            + "JOIN (VALUES \(rows)) AS t(name, maximum, unlimited, value) ON s.name = t.name "
            // A tier whose ceiling is the unlimited value itself limits nothing.
            + "WHERE t.maximum IS DISTINCT FROM t.unlimited "
            + "AND (s.setting::numeric > t.maximum OR s.setting::numeric = t.unlimited)")
    }
}
