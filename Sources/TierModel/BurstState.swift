/// One burst as recorded at `burst:<orgId>` in Redis (docs/design.md#bursts), shared by every TierGate.
///
/// Times are epoch milliseconds of the Redis server's clock (the scripts that write this read
/// `TIME`), so instances whose clocks disagree still agree on when a burst ends. The
/// fields of docs/design.md#redis-keys come first (`startedAt`, `burstTier`, `costPerMinute`:
/// a billing cron reads them); the rest is what instances need to end and bill a burst exactly once.
public struct BurstState: Sendable, Equatable {
    public let startedAt: Int
    /// When the burst ends unless stopped earlier: `startedAt` + the add-on's maximum duration.
    public let endsAt: Int
    public let burstTier: Tier
    public let costPerMinute: Double
    /// Minutes billed so far. Every started minute is billed once, by whichever instance
    /// first sees it start (`burstMinutesBilled`), into the per-org counter.
    public let billedMinutes: Int
    /// The instance that started it (for logs).
    public let startedBy: String
    /// Set once the burst is over: `endsAt`, or earlier after `BURST OFF`.
    public let endedAt: Int?

    public init(startedAt: Int, endsAt: Int, burstTier: Tier, costPerMinute: Double, billedMinutes: Int,
                startedBy: String, endedAt: Int? = nil) {
        self.startedAt = startedAt
        self.endsAt = endsAt
        self.burstTier = burstTier
        self.costPerMinute = costPerMinute
        self.billedMinutes = billedMinutes
        self.startedBy = startedBy
        self.endedAt = endedAt
    }

    /// How long the burst ran (to its end, or to `now` while it runs), in milliseconds.
    public func elapsedMilliseconds(now: Int) -> Int {
        max(0, min(endedAt ?? now, endsAt) - startedAt)
    }

    /// What the billed minutes cost, in the add-on's currency.
    public var billedCost: Double { Double(billedMinutes) * costPerMinute }

    /// "Cost alert: Email when burst cost exceeds $10" (docs/design.md#bursts).
    public static let costAlertThreshold: Double = 10

    /// Whether the `billedNow` minutes just billed took this burst's cost to `threshold` or
    /// past it. Each minute is billed by one instance, so exactly one sees the crossing.
    public func crossedCost(_ threshold: Double = costAlertThreshold, billedNow: Int) -> Bool {
        billedNow > 0 && Double(billedMinutes - billedNow) * costPerMinute < threshold && billedCost >= threshold
    }

    /// Reads the JSON the Redis scripts write. Anything else is an error naming the field:
    /// a hand-edited or foreign value must not be taken for a running burst.
    public init(json: String) throws(BurstStateError) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: json)
        } catch {
            throw BurstStateError(field: nil, problem: .invalidJSON(error))
        }
        do throws(FieldFailure) {
            let root = try FieldReader(value, path: "", strict: false)
            let tierName = try root.string("burstTier")
            guard let tier = Tier(rawValue: tierName) else {
                throw FieldFailure(field: "burstTier", problem: .unknownTier(tierName))
            }
            self.init(startedAt: try root.integer("startedAt"), endsAt: try root.integer("endsAt"),
                      burstTier: tier, costPerMinute: try root.number("costPerMinute"),
                      billedMinutes: try root.integer("billedMinutes"),
                      startedBy: try root.optionalString("startedBy") ?? "",
                      endedAt: try root.optionalInteger("endedAt"))
        } catch {
            throw BurstStateError(field: error.field, problem: error.problem)
        }
    }

    /// The same fields as the scripts write them (for tests and tools).
    public var json: String {
        var object: JSONObject = [
            "startedAt": .integer(startedAt), "burstTier": .string(burstTier.rawValue),
            "costPerMinute": .number(costPerMinute), "endsAt": .integer(endsAt),
            "billedMinutes": .integer(billedMinutes), "startedBy": .string(startedBy),
        ]
        if let endedAt { object["endedAt"] = .integer(endedAt) }
        return JSONValue.object(object).serialized
    }
}

/// A `burst:<orgId>` value that cannot be used.
public struct BurstStateError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String?
    public let problem: FieldProblem

    public var description: String {
        field.map { "burst state: \($0): \(problem)" } ?? "burst state: \(problem)"
    }
}
