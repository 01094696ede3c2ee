import Gate
import Synchronization

/// What the settings guard remembers about one session, across the tier changes that
/// replace its rules: the statements it prepared as bound set_config calls (judged at
/// every Bind), and the Binds refused in a way the server reports as its own error, to be
/// rewritten into the refusal on the way back (`TierSessionRules.decorate(error:)`).
///
/// One per session, made at admission and kept by its `SessionControl`, so the rules a tier
/// change brings use the same memory. Only the session's loop touches it; the lock makes it
/// `Sendable` and costs an uncontended lock per inspected message.
final class SessionGuardMemory: Sendable {
    struct State {
        var prepared = PreparedSetConfigs()
        /// Refused Binds whose server error has not come back yet, oldest first: the
        /// statement each named (bytes, as the server quotes it) and the refusal.
        var refusedBinds: [(statement: [UInt8], violation: SettingsViolation)] = []
    }

    /// Refused Binds remembered at most (more are only ever outstanding when the server
    /// skipped them).
    static let refusedBindLimit = 64

    let state = Mutex(State())
}
