/// Which part of an INVALIDATE failed, as the `stage` label of
/// `tiergate_invalidation_failures_total`.
public enum InvalidationFailure: String, Sendable, CaseIterable {
    /// Redis was not reached: `tier:<org>` may serve the old tier until its TTL ends.
    case redis
    /// The announcement on `tiergate:invalidate` was not published: other instances keep
    /// the old tier in process until their local TTL ends.
    case announce
    /// The org could not be read again from the org source.
    case source
}
