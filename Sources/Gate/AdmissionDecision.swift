/// The connection gate's answer for one connection attempt (docs/design.md#ceiling).
public enum AdmissionDecision: Sendable, Equatable {
    /// The session holds a slot until the ticket is released.
    case admitted(SessionTicket)
    /// The org is at its ceiling; reject before Postgres is involved (docs/design.md#ceiling).
    case refused(ConnectionRefusal)

    public var ticket: SessionTicket? {
        if case .admitted(let ticket) = self { ticket } else { nil }
    }

    public var refusal: ConnectionRefusal? {
        if case .refused(let refusal) = self { refusal } else { nil }
    }
}
