import Foundation
import TierModel

/// SHOW ORG and SHOW ORGS as JSON: the field names and their order are what scripts read.
extension OrgStatus {
    public var json: JSONObject {
        var object: JSONObject = ["org": .string(org.rawValue)]
        if let resolved = tier {
            object["tier"] = .string(resolved.baseTier.rawValue)
            object["paidTier"] = .string(resolved.paidTier.rawValue)
            object["effectiveTier"] = .string(resolved.baseTier.rawValue)
            object["effectiveTierReason"] = resolved.lapse.map { .string($0.description) } ?? .null
            object["subscription"] = resolved.subscription.map { subscription in
                .object(["status": subscription.status.map(JSONValue.string) ?? .null,
                         "currentPeriodEnd": subscription.currentPeriodEnd.map {
                             .string(ISO8601Text.format(milliseconds: $0)) } ?? .null])
            } ?? .null
            object["roles"] = .array(resolved.route.roles.map(JSONValue.string))
            object["databases"] = .array(resolved.route.databases.map(JSONValue.string))
            object["burstingTo"] = resolved.burstingFrom == nil ? .null : .string(resolved.tier.rawValue)
            object["tierUpdatedAt"] = .integer(resolved.tierUpdatedAt)
            object["limits"] = resolved.limits.jsonValue
            object["settings"] = .object(JSONObject(resolved.sessionSettings.settings.map {
                (key: $0.name, value: JSONValue.string($0.value)) }))
        } else {
            object["tier"] = .null
        }
        object["burst"] = .object(burst.json)
        object["openSessions"] = .integer(openSessions)
        object["loginsInProgress"] = .integer(loginsInProgress)
        object["cluster"] = cluster.map { .object($0.json) } ?? .null
        object["metricsLabel"] = metricsLabel.map(JSONValue.string) ?? .null
        object["pendingEnforcement"] = pendingEnforcement.map { pending in
            .object(["tier": .string(pending.tier.rawValue), "ceiling": .integer(pending.ceiling),
                     "openAtChange": .integer(pending.openAtChange), "excess": .integer(pending.excess),
                     "at": .string(ISO8601Text.format(pending.at)), "inSeconds": .integer(pending.inSeconds)])
        } ?? .null
        return object
    }
}

extension OrgOverview {
    public var json: JSONObject {
        ["org": .string(org.rawValue), "tier": tier.map { .string($0.rawValue) } ?? .null,
         "burstingTo": burstingTo.map { .string($0.rawValue) } ?? .null,
         "maxConnections": maxConnections.map(JSONValue.integer) ?? .null,
         "openSessions": .integer(openSessions), "pendingEnforcement": .bool(pendingEnforcement)]
    }
}

extension ClusterView {
    public var json: JSONObject {
        var object: JSONObject = [
            "openSessions": openSessions.map(JSONValue.integer) ?? .null,
            "thisInstance": .integer(thisInstance),
            "instances": .integer(instances),
            "mode": .string(shared ? "shared" : "fallback"),
        ]
        if let ceilingHere { object["ceilingHere"] = .integer(ceilingHere) }
        return object
    }
}

extension BurstStatus {
    /// The add-on, then the shared state; the last burst's times and minutes inline.
    public var json: JSONObject {
        var object: JSONObject = [:]
        object["addon"] = addon.map { addon in
            .object(["burstTier": .string(addon.burstTier.rawValue),
                     "maxBurstDurationMinutes": .number(addon.maxBurstDurationMinutes),
                     "cooldownMinutes": .number(addon.cooldownMinutes), "costPerMinute": .number(addon.costPerMinute),
                     "autoTrigger": .bool(addon.autoTrigger)])
        } ?? .null
        switch shared {
        case .unavailable(let reason):
            object["state"] = .string("unavailable")
            object["reason"] = .string(reason)
        case .known(let state, let latest, let cooldownRemainingSeconds, let totalMinutesBilled):
            object["state"] = .string(state.rawValue)
            if let latest {
                for member in latest.json.members where member.key != "burstTier" { object[member.key] = member.value }
            } else {
                object["startedAt"] = .null
                object["minutesUsed"] = .integer(0)
            }
            object["cooldownRemainingSeconds"] = cooldownRemainingSeconds.map(JSONValue.integer) ?? .null
            object["totalMinutesBilled"] = .integer(totalMinutesBilled)
        }
        return object
    }
}

extension BurstState {
    /// One burst as the admin socket shows it: start, end, minutes used and their cost.
    public var json: JSONObject {
        func time(_ ms: Int?) -> JSONValue { ms.map { .string(ISO8601Text.format(milliseconds: $0)) } ?? .null }
        return ["burstTier": .string(burstTier.rawValue), "startedAt": time(startedAt), "endsAt": time(endsAt),
                "endedAt": time(endedAt), "minutesUsed": .integer(billedMinutes), "cost": .number(billedCost)]
    }
}

/// ISO 8601 in UTC with milliseconds, for times shown by the admin socket.
enum ISO8601Text {
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// Epoch milliseconds, as Redis and MongoDB values keep times.
    static func format(milliseconds: Int) -> String {
        format(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
