/// The connection gate's answer for one connection attempt (seed 3.1, layer 1).
public enum AdmissionDecision: Sendable, Equatable {
    /// The session holds a slot until the ticket is released.
    case admitted(SessionTicket)
    /// The org is at its ceiling; reject before Postgres is involved (seed 3.2).
    case refused(ConnectionRefusal)

    public var ticket: SessionTicket? {
        if case .admitted(let ticket) = self { ticket } else { nil }
    }

    public var refusal: ConnectionRefusal? {
        if case .refused(let refusal) = self { refusal } else { nil }
    }
}
