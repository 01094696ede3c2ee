/// Told about sessions the proxy refuses before any admitter has seen them, so they can be
/// counted (the admitter counts its own refusals). Called on a session's loop queue: must
/// be quick and must not block.
public protocol SessionObserver: Sendable {
    func refusedBeforeAdmission(_ refusal: StartupRefusal)
}

/// Why a client was refused before admission.
public enum StartupRefusal: Sendable, Equatable {
    /// Its startup bytes broke the protocol (`ProtocolViolation`), or named no user.
    case protocolViolation
    /// No startup packet within the login timeout.
    case loginTimeout
}
