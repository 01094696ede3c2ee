import Foundation

/// What the proxy knows about an org when gating it: the resolved tier with its limits,
/// burst add-on, routing, and how fresh the knowledge is. This is the value cached in Redis
/// at `tier:<orgId>` (docs/design.md#tier-source) and in process.
public struct OrgTier: Sendable, Equatable {
    public let orgId: OrgId
    public let tier: Tier
    /// The tier's limits from the matrix in force when resolved.
    public let limits: TierLimits
    /// The enabled burst add-on, nil when the org has none usable.
    public let burst: BurstConfig?
    public let route: PostgresRoute
    /// Epoch ms of the tier change this value reflects; with `cachedAt` it orders values so
    /// an older one never replaces a newer one (`isNewer(than:)`). 0 when the document has
    /// no `tierUpdatedAt`.
    public let tierUpdatedAt: Int
    /// Epoch ms when resolved from MongoDB (`cachedAt`, docs/design.md#tier-source).
    public let cachedAt: Int
    /// Set while a burst is in force: the tier the org pays for, whereas `tier` and `limits`
    /// are the burst tier's (docs/design.md#bursts). Nil outside a burst.
    public let burstingFrom: Tier?

    /// Billing state from the document (status, period end), from which the effective tier
    /// is worked out at each use (`effective(at:grace:matrix:)`); nil when the document has none.
    public let subscription: OrgDocument.Subscription?
    /// Set when billing no longer pays for the document's tier and this value is FREE's
    /// instead: the tier paid for and why. Nil for the tier as the document names it.
    public let lapse: SubscriptionLapse?

    /// The tier the org is served at outside a burst: the document's tier, or FREE while its
    /// subscription has lapsed.
    public var baseTier: Tier { burstingFrom ?? tier }

    /// The tier the document names, whether or not billing still pays for it.
    public var paidTier: Tier { lapse?.paidTier ?? baseTier }

    /// A cached value older than 5 minutes is refreshed from MongoDB (docs/design.md#tier-source).
    public static let staleAfterMilliseconds = 5 * 60 * 1000
    /// `EXPIRE tier:<org> 300` (docs/design.md#tier-source).
    public static let cacheTTLSeconds = RedisKey.tierTTLSeconds

    public init(orgId: OrgId, tier: Tier, limits: TierLimits, burst: BurstConfig?, route: PostgresRoute,
                tierUpdatedAt: Int, cachedAt: Int, burstingFrom: Tier? = nil,
                subscription: OrgDocument.Subscription? = nil, lapse: SubscriptionLapse? = nil) {
        self.burstingFrom = burstingFrom
        self.subscription = subscription
        self.lapse = lapse
        self.orgId = orgId
        self.tier = tier
        self.limits = limits
        self.burst = burst
        self.route = route
        self.tierUpdatedAt = tierUpdatedAt
        self.cachedAt = cachedAt
    }

    /// The burst scaling add-on with defaults applied (docs/design.md#bursts).
    public struct BurstConfig: Sendable, Equatable {
        /// "Hard limit: 15min max consecutive burst" (docs/design.md#bursts).
        public static let hardMaximumDurationMinutes: Double = 15
        /// "Automatic cooldown: 60min after burst ends" (docs/design.md#bursts).
        public static let defaultCooldownMinutes: Double = 60

        public let burstTier: Tier
        /// At most `hardMaximumDurationMinutes`, whatever the document says; may be
        /// fractional (tests use seconds).
        public let maxBurstDurationMinutes: Double
        public let cooldownMinutes: Double
        /// USD per minute spent in the burst tier; 0 when the document does not say.
        public let costPerMinute: Double
        /// Burst without being asked when limits are hit (true by default, docs/design.md#bursts).
        public let autoTrigger: Bool
        /// Tell the customer when a burst starts: they are being charged (docs/design.md#bursts).
        public let notifyOnBurst: Bool

        public init(burstTier: Tier, maxBurstDurationMinutes: Double = hardMaximumDurationMinutes,
                    cooldownMinutes: Double = defaultCooldownMinutes, costPerMinute: Double = 0,
                    autoTrigger: Bool = true, notifyOnBurst: Bool = true) {
            self.burstTier = burstTier
            self.maxBurstDurationMinutes = min(maxBurstDurationMinutes, Self.hardMaximumDurationMinutes)
            self.cooldownMinutes = cooldownMinutes
            self.costPerMinute = costPerMinute
            self.autoTrigger = autoTrigger
            self.notifyOnBurst = notifyOnBurst
        }

        /// The longest a burst lasts, in whole milliseconds (never 0: Redis' PX needs > 0).
        public var maxDurationMilliseconds: Int { max(1, Int((maxBurstDurationMinutes * 60_000).rounded())) }
        public var cooldownMilliseconds: Int { max(0, Int((cooldownMinutes * 60_000).rounded())) }
    }

    /// The GUCs to inject into this org's sessions (docs/design.md#session-settings).
    public var sessionSettings: SessionSettings { SessionSettings(limits: limits) }

    /// Resolves a stored document against the matrix in force.
    ///
    /// An unknown tier name is an error for this org (its connections are refused with the
    /// reason) rather than a guess at FREE: a typo in billing must not silently cut a paying
    /// customer to 5 connections. A burst add-on whose tier is not above the org's tier (an
    /// org upgraded to ENTERPRISE that still has "burst to ENTERPRISE") grants nothing and is
    /// dropped; one naming an unknown tier, or none, is an error.
    public static func resolve(document: OrgDocument, matrix: TierMatrix, now: Date) throws(OrgTierError) -> OrgTier {
        let org = document.orgId
        let tier: Tier
        do {
            tier = try Tier(parsing: document.tier)
        } catch {
            throw OrgTierError(org: org, problem: .unknownTier(error))
        }
        var burst: BurstConfig?
        for case .burstScaling(let addon) in document.addons where addon.enabled {
            guard let name = addon.burstTier else { throw OrgTierError(org: org, problem: .burstWithoutTier) }
            let burstTier: Tier
            do {
                burstTier = try Tier(parsing: name)
            } catch {
                throw OrgTierError(org: org, problem: .unknownBurstTier(error))
            }
            guard burstTier > tier else { continue }
            burst = BurstConfig(
                burstTier: burstTier,
                maxBurstDurationMinutes: addon.maxBurstDurationMinutes ?? BurstConfig.hardMaximumDurationMinutes,
                cooldownMinutes: addon.cooldownMinutes ?? BurstConfig.defaultCooldownMinutes,
                costPerMinute: addon.costPerMinute ?? 0,
                autoTrigger: addon.autoTrigger ?? true,
                notifyOnBurst: addon.notifyOnBurst ?? true)
            break
        }
        return OrgTier(orgId: org, tier: tier, limits: matrix[tier], burst: burst, route: document.postgres,
                       tierUpdatedAt: document.tierUpdatedAt ?? 0, cachedAt: now.epochMilliseconds,
                       subscription: document.subscription)
    }

    /// The org as served at `now`: itself while billing pays for its tier, else FREE with
    /// FREE's limits and no burst add-on, `lapse` saying why (`SubscriptionLapse`). Computed
    /// from the value whichever cache it came from, so it follows the clock, not the cache.
    /// A value already served as FREE is returned as it is.
    public func effective(at now: Date, graceMilliseconds: Int, matrix: TierMatrix) -> OrgTier {
        guard lapse == nil, burstingFrom == nil,
              let cause = SubscriptionLapse.cause(of: subscription, nowMilliseconds: now.epochMilliseconds,
                                                  graceMilliseconds: graceMilliseconds),
              tier != .free || burst != nil
        else { return self }
        return OrgTier(orgId: orgId, tier: .free, limits: matrix[.free], burst: nil, route: route,
                       tierUpdatedAt: tierUpdatedAt, cachedAt: cachedAt, subscription: subscription,
                       lapse: SubscriptionLapse(paidTier: tier, cause: cause))
    }

    /// Older than 5 minutes by `cachedAt` (strictly more, docs/design.md#tier-source).
    public func isStale(now: Date) -> Bool {
        now.epochMilliseconds - cachedAt > Self.staleAfterMilliseconds
    }

    /// Whether this value reflects a later tier change than `other`, or the same change
    /// read later. A cache writer keeps the newer of two values, so a slow reader that
    /// fetched before an upgrade cannot overwrite the upgrade.
    public func isNewer(than other: OrgTier) -> Bool {
        (tierUpdatedAt, cachedAt) > (other.tierUpdatedAt, other.cachedAt)
    }

    /// The same org with limits from another matrix (the tier stays): a value cached by a
    /// proxy with a different matrix file is enforced with this proxy's limits.
    public func applying(_ matrix: TierMatrix) -> OrgTier {
        OrgTier(orgId: orgId, tier: tier, limits: matrix[tier], burst: burst, route: route,
                tierUpdatedAt: tierUpdatedAt, cachedAt: cachedAt, burstingFrom: burstingFrom,
                subscription: subscription, lapse: lapse)
    }

    /// The org during a burst to `burstTier`: that tier's ceiling and settings, the same
    /// routing and freshness. Bursting an org that is already bursting changes nothing.
    public func bursting(to burstTier: Tier, matrix: TierMatrix) -> OrgTier {
        OrgTier(orgId: orgId, tier: burstTier, limits: matrix[burstTier], burst: burst, route: route,
                tierUpdatedAt: tierUpdatedAt, cachedAt: cachedAt, burstingFrom: baseTier,
                subscription: subscription, lapse: lapse)
    }

    // MARK: - The Redis value

    /// The JSON stored at `tier:<orgId>`: the design's cache fields first, in its order
    /// (`tier`, `maxConnections`, `queryTimeout`, `addons`, `cachedAt`), then what the proxy
    /// needs to work from the cache alone (`orgId`, `tierUpdatedAt`, `limits`, `postgres`,
    /// `subscription`). The value is the tier the document names: the effective tier depends
    /// on the clock and is worked out by each reader.
    public var redisValue: String {
        var addons: JSONObject = ["burstScaling": .bool(burst != nil)]
        if let burst {
            addons["burstTier"] = .string(burst.burstTier.rawValue)
            addons["maxBurstDurationMinutes"] = .number(burst.maxBurstDurationMinutes)
            addons["cooldownMinutes"] = .number(burst.cooldownMinutes)
            addons["costPerMinute"] = .double(burst.costPerMinute)
            addons["autoTrigger"] = .bool(burst.autoTrigger)
            addons["notifyOnBurst"] = .bool(burst.notifyOnBurst)
        }
        let value: JSONObject = [
            "tier": .string(tier.rawValue),
            "maxConnections": .integer(limits.postgres.maxConnections),
            "queryTimeout": .integer(limits.postgres.queryTimeout),
            "addons": .object(addons),
            "cachedAt": .integer(cachedAt),
            "orgId": .string(orgId.rawValue),
            "tierUpdatedAt": .integer(tierUpdatedAt),
            "limits": limits.jsonValue,
            "postgres": route.jsonValue,
            "subscription": subscription.map(Self.json) ?? .null,
        ]
        return JSONValue.object(value).serialized
    }

    private static func json(_ subscription: OrgDocument.Subscription) -> JSONValue {
        var object: JSONObject = [:]
        object["stripeSubscriptionId"] = subscription.stripeSubscriptionId.map(JSONValue.string) ?? .null
        object["plan"] = subscription.plan.map(JSONValue.string) ?? .null
        object["status"] = subscription.status.map(JSONValue.string) ?? .null
        object["currentPeriodEnd"] = subscription.currentPeriodEnd.map(JSONValue.integer) ?? .null
        return .object(object)
    }

    /// Reads a value from `tier:<org>`. Anything unexpected (another org's id, a summary
    /// that disagrees with `limits`, invalid limits) is an error, which the caller treats as
    /// a cache miss: MongoDB is the source of truth (docs/design.md#tier-source). Unknown extra fields are
    /// tolerated so a newer TierGate's values stay readable during a rolling deploy.
    public init(redisValue: String, org: OrgId) throws(CachedOrgTierError) {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: redisValue)
        } catch {
            throw CachedOrgTierError(org: org, field: nil, problem: .invalidJSON(error))
        }
        do throws(FieldFailure) {
            let root = try FieldReader(json, path: "", strict: false)
            let orgText = try root.string("orgId")
            guard orgText == org.rawValue else {
                throw FieldFailure(field: "orgId", problem: .invalid("value is for org \"\(orgText)\""))
            }
            let tierName = try root.string("tier")
            guard let tier = Tier(rawValue: tierName) else {
                throw FieldFailure(field: "tier", problem: .unknownTier(tierName))
            }
            let limits = try TierLimits(reading: try root.value("limits"), path: "limits", tier: tier, strict: false)
            if let failure = limits.firstInvalidField(path: "limits") { throw failure }
            for (key, expected) in [("maxConnections", limits.postgres.maxConnections),
                                    ("queryTimeout", limits.postgres.queryTimeout)] {
                let summary = try root.integer(key)
                guard summary == expected else {
                    throw FieldFailure(field: key, problem: .invalid("\(summary) disagrees with limits (\(expected))"))
                }
            }
            let addons = try root.nested("addons")
            var burst: BurstConfig?
            if try addons.bool("burstScaling") {
                let burstName = try addons.string("burstTier")
                guard let burstTier = Tier(rawValue: burstName) else {
                    throw FieldFailure(field: "addons.burstTier", problem: .unknownTier(burstName))
                }
                burst = BurstConfig(burstTier: burstTier,
                                    maxBurstDurationMinutes: try addons.number("maxBurstDurationMinutes"),
                                    cooldownMinutes: try addons.number("cooldownMinutes"),
                                    costPerMinute: try addons.number("costPerMinute"),
                                    autoTrigger: try addons.bool("autoTrigger"),
                                    notifyOnBurst: try addons.bool("notifyOnBurst"))
            }
            let postgres = try root.nested("postgres")
            // Written by every TierGate that binds roles; a value without it predates that
            // and would refuse every role, so it is read as a miss.
            _ = try postgres.value("roles")
            var subscription: OrgDocument.Subscription?
            if let sub = try root.optionalNested("subscription") {
                subscription = OrgDocument.Subscription(
                    stripeSubscriptionId: try sub.optionalString("stripeSubscriptionId"), plan: try sub.optionalString("plan"),
                    status: try sub.optionalString("status"), currentPeriodEnd: try sub.optionalDate("currentPeriodEnd"))
            }
            self.init(orgId: org, tier: tier, limits: limits, burst: burst,
                      route: try PostgresRoute(reading: postgres),
                      tierUpdatedAt: try root.integer("tierUpdatedAt"),
                      cachedAt: try root.integer("cachedAt"), subscription: subscription)
        } catch {
            throw CachedOrgTierError(org: org, field: error.field, problem: error.problem)
        }
    }
}

/// Why an org document cannot be turned into limits; shown to the org's clients, so it
/// names the org and the stored value.
public struct OrgTierError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case unknownTier(TierParseError)
        case unknownBurstTier(TierParseError)
        case burstWithoutTier
    }

    public let org: OrgId
    public let problem: Problem

    public init(org: OrgId, problem: Problem) {
        self.org = org
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .unknownTier(let error): "org \"\(org)\" has \(error)"
        case .unknownBurstTier(let error): "org \"\(org)\" has a burst_scaling add-on with \(error)"
        case .burstWithoutTier: "org \"\(org)\" has an enabled burst_scaling add-on without burstTier"
        }
    }
}

/// A Redis `tier:<org>` value that cannot be used (treat as a cache miss).
public struct CachedOrgTierError: Error, Sendable, Equatable, CustomStringConvertible {
    public let org: OrgId
    public let field: String?
    public let problem: FieldProblem

    public init(org: OrgId, field: String?, problem: FieldProblem) {
        self.org = org
        self.field = field
        self.problem = problem
    }

    public var description: String {
        let key = RedisKey.tier(org)
        return field.map { "cached value \(key): \($0): \(problem)" } ?? "cached value \(key): \(problem)"
    }
}

extension Date {
    /// Whole epoch milliseconds, the unit of every timestamp in the org documents and caches (docs/design.md#tier-source).
    var epochMilliseconds: Int {
        Int((timeIntervalSince1970 * 1000).rounded())
    }
}
