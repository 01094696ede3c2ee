import TierModel

/// The Redis side of `RedisSessionLeases`: keys and Lua scripts. Each script runs
/// atomically, which is what makes "count the org's live leases, refuse at the ceiling, or
/// add one" a single step across instances. Time is Redis' `TIME`, one clock for all.
///
/// Keys: `leases:<org>` (hash: instance id -> leases it holds), `tiergate:instances` (sorted
/// set: instance id -> when its heartbeat lapses, epoch ms), `tiergate:instance-orgs:<id>`
/// (set: the orgs an instance holds leases of, so its heartbeat can clear the ones it no
/// longer holds). A field of an instance whose heartbeat lapsed counts for nothing and is
/// deleted by the next script that meets it. The scripts build `leases:<org>` names from the
/// org ids they are given, so Redis Cluster is not supported (as for the burst scripts).
enum LeaseScripts {
    static func leases(_ org: OrgId) -> String { "leases:\(org)" }
    static let instances = "tiergate:instances"
    static func instanceOrgs(_ instance: String) -> String { "tiergate:instance-orgs:\(instance)" }

    /// `now`, and `live(key, self)`: the leases of the hash's live instances (this one always
    /// counts: it is asking), deleting the fields of lapsed ones.
    static let prelude = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local function live(key, self)
          local fields = redis.call('HGETALL', key)
          local total, own = 0, 0
          for i = 1, #fields, 2 do
            local id, n = fields[i], tonumber(fields[i + 1]) or 0
            if id == self then
              own = n
              total = total + n
            else
              local lapses = redis.call('ZSCORE', KEYS[2], id)
              if lapses and tonumber(lapses) > now then total = total + n else redis.call('HDEL', key, id) end
            end
          end
          return total, own
        end

        """

    /// KEYS: leases:<org>, instances, instance-orgs:<self>. ARGV: self, ceiling, heartbeat
    /// TTL ms, org. Replies {1 granted | 0 refused, live leases (with this one if granted)}.
    static let acquire = prelude + """
        redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
        local total = live(KEYS[1], ARGV[1])
        if total >= tonumber(ARGV[2]) then return {0, total} end
        redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
        redis.call('SADD', KEYS[3], ARGV[4])
        return {1, total + 1}
        """

    /// KEYS: leases:<org>. ARGV: self, how many. Replies what is left.
    static let release = """
        local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
        if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
        return n
        """

    /// KEYS: leases:<org>, instances. ARGV: self, ceiling, most this instance may give up.
    /// Takes away min(live - ceiling, own, most) of this instance's leases; replies
    /// {taken, live before}.
    static let claimExcess = prelude + """
        local total, own = live(KEYS[1], ARGV[1])
        local take = math.min(total - tonumber(ARGV[2]), own, tonumber(ARGV[3]))
        if take <= 0 then return {0, total} end
        local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -take)
        if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
        return {take, total}
        """

    /// KEYS: leases:<org>, instances. ARGV: self. Replies {live leases, own, live instances}.
    static let count = prelude + """
        local total, own = live(KEYS[1], ARGV[1])
        return {total, own, redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')}
        """

    /// KEYS: instances, instance-orgs:<self>. ARGV: self, heartbeat TTL ms, then org, count
    /// pairs: this instance's leases as its book has them. Renews the heartbeat, drops
    /// lapsed instances, sets this instance's field of every listed org and deletes it from
    /// every org it no longer holds. Replies the live instance count.
    static let heartbeat = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        local listed = {}
        for i = 3, #ARGV, 2 do
          listed[ARGV[i]] = true
          redis.call('HSET', 'leases:' .. ARGV[i], ARGV[1], ARGV[i + 1])
          redis.call('SADD', KEYS[2], ARGV[i])
        end
        for _, org in ipairs(redis.call('SMEMBERS', KEYS[2])) do
          if not listed[org] then
            redis.call('HDEL', 'leases:' .. org, ARGV[1])
            redis.call('SREM', KEYS[2], org)
          end
        end
        return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
        """
}
