/// What INVALIDATE did for one org: what was known before, what the source says now (or
/// why it could not be read), whether Redis was reached, and how many instances were told.
public struct OrgReload: Sendable {
    public let org: OrgId
    public let old: OrgTier?
    /// The org as re-read, or the lookup's error text.
    public let new: Result<OrgTier, Failure>
    public let redisReached: Bool
    /// Subscribers the announcement reached; nil when it was not published.
    public let announcedTo: Int?

    /// A lookup error's text.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public init(org: OrgId, old: OrgTier?, new: Result<OrgTier, Failure>, redisReached: Bool, announcedTo: Int?) {
        self.org = org
        self.old = old
        self.new = new
        self.redisReached = redisReached
        self.announcedTo = announcedTo
    }
}
