import TierModel

/// Proof that a session holds one of its org's connection slots; given back on close.
///
/// The id is unique within the gate that issued it, so releasing is exact: a ticket
/// released twice (a close path and an error path both running) frees its slot once, and
/// can never free a slot held by another session of the same org.
public struct SessionTicket: Sendable, Hashable, CustomStringConvertible {
    public let id: UInt64
    public let org: OrgId
    /// The tier the session was admitted under; a later tier change does not alter it
    /// (docs/design.md#tier-changes: running work keeps the old limits).
    public let tier: Tier

    public var description: String { "ticket #\(id) (\(org), \(tier))" }
}
