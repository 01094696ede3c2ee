/// What one instance may admit for an org while the shared count is unreachable: an equal
/// share of the ceiling among the instances last seen alive, rounded down so that the
/// instances together never exceed the ceiling, but at least one session, so an org is never
/// locked out by an outage of Redis (with more instances than ceiling the org can then get
/// one session per instance).
public enum FallbackShare {
    public static func ceiling(_ ceiling: Int, liveInstances: Int) -> Int {
        guard ceiling > 0 else { return 0 }
        return max(1, ceiling / max(1, liveInstances))
    }
}
