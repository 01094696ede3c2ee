import TierModel

/// SHOW STATS as JSON: the field names and their order are what scripts read.
extension ProxyStatistics {
    public var json: JSONObject {
        var object: JSONObject = [
            "uptimeSeconds": .integer(uptimeSeconds),
            "connections": .object([
                "admitted": .integer(admitted),
                "open": .integer(open),
                "loginsInProgress": .integer(loginsInProgress),
                "queued": .integer(queued),
                "refused": .object(Self.sorted(refused)),
                "closedByDowngrade": .integer(closedByDowngrade),
            ]),
            "cache": .object([
                "inProcess": .object(["hits": .integer(lookups.inProcessHits), "misses": .integer(lookups.inProcessMisses)]),
                "redis": .object(["hits": .integer(lookups.redisHits), "misses": .integer(lookups.redisMisses),
                                  "stale": .integer(lookups.redisStale), "errors": .integer(lookups.redisErrors)]),
            ]),
            "cluster": cluster.map { .object($0.json) } ?? .null,
            "lookups": .object([
                "source": .integer(lookups.sourceLookups), "sourceErrors": .integer(lookups.sourceErrors),
                "coalesced": .integer(lookups.coalesced), "staleServed": .integer(lookups.staleServed),
            ]),
        ]
        if let tls { object["tls"] = .object(tls.json) }
        return object
    }

    static func sorted(_ counts: [String: Int]) -> JSONObject {
        JSONObject(counts.map { (key: $0.key, value: JSONValue.integer($0.value)) }.sorted { $0.key < $1.key })
    }
}

extension ProxyStatistics.TLS {
    public var json: JSONObject {
        ["sessions": .integer(sessions), "handshakes": .integer(handshakes), "directHandshakes": .integer(directHandshakes),
         "handshakeFailures": .integer(handshakeFailures),
         "handshakeFailuresByReason": .object(ProxyStatistics.sorted(handshakeFailuresByReason))]
    }
}

extension ClusterStatistics {
    public var json: JSONObject {
        ["instanceId": .string(instanceId), "mode": .string(shared ? "shared" : "fallback"),
         "liveInstances": .integer(liveInstances), "leasesHeldHere": .integer(leasesHeldHere),
         "fallbackDecisions": .integer(fallbackDecisions), "revocations": .integer(revocations),
         "outages": .integer(outages)]
    }
}
