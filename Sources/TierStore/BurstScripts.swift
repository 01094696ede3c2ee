/// The Lua scripts behind `BurstLedger`. Each runs atomically in Redis, which is what makes
/// a burst start once, end once and bill each minute once however many TierGates ask at the
/// same moment. Time is Redis' `TIME`, one clock for every instance.
///
/// Every script takes KEYS = `burst:<org>`, `burst:cooldown:<org>`, `tiergate:burst-minutes`,
/// `tiergate:bursts`, ARGV[1] = the org id, and replies
/// `{code, record JSON or '', minutes billed by this call, cooldown PTTL, now}`.
enum BurstScripts {
    /// Shared head: `now`, and `finish`/`bill` on a decoded record. Billing counts every
    /// minute begun (ceil), at least one: a burst of 20 s is one billed minute, as a
    /// once-a-minute billing cron would charge it.
    static let prelude = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local function bill(s, upto)
          local minutes = math.ceil((math.min(upto, s.endsAt) - s.startedAt) / 60000)
          if minutes < 1 then minutes = 1 end
          local added = minutes - s.billedMinutes
          if added <= 0 then return 0 end
          s.billedMinutes = minutes
          redis.call('HINCRBY', KEYS[3], ARGV[1], added)
          return added
        end
        local function finish(s, at)
          local added = bill(s, at)
          s.endedAt = at
          local encoded = cjson.encode(s)
          redis.call('HSET', KEYS[4], ARGV[1], encoded)
          return encoded, added
        end
        local raw = redis.call('HGET', KEYS[4], ARGV[1])
        local s = raw and cjson.decode(raw)
        if s and s.endedAt then s = nil end

        """

    /// A connection wants a burst. Codes: 1 running (record), 2 started by this call,
    /// 3 cooling down, 4 switched off. With 3 or 4 the record, when present, is a burst this
    /// call found over and finished. ARGV: org, burstTier, costPerMinute, duration ms,
    /// cooldown ms, instance id.
    static let admit = prelude + """
        local ended, added = '', 0
        if s then
          if now < s.endsAt and redis.call('EXISTS', KEYS[1]) == 1 then return {1, raw, 0, 0, now} end
          ended, added = finish(s, math.min(now, s.endsAt))
        end
        local cooldown = redis.call('GET', KEYS[2])
        if cooldown == 'off' then return {4, ended, added, -1, now} end
        if cooldown then return {3, ended, added, redis.call('PTTL', KEYS[2]), now} end
        local duration = tonumber(ARGV[4])
        local cost = tonumber(ARGV[3])
        local started = {startedAt = now, burstTier = ARGV[2], costPerMinute = cost, endsAt = now + duration,
                         billedMinutes = 1, startedBy = ARGV[6]}
        local encoded = cjson.encode(started)
        redis.call('SET', KEYS[1], cjson.encode({startedAt = now, burstTier = ARGV[2], costPerMinute = cost,
                                                 endsAt = now + duration}), 'PX', duration)
        redis.call('SET', KEYS[2], '1', 'PX', duration + tonumber(ARGV[5]))
        redis.call('HSET', KEYS[4], ARGV[1], encoded)
        redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
        return {2, encoded, 1, 0, now}
        """

    /// Periodic check of a burst an instance knows about: bills minutes begun since the last
    /// check and finishes a burst that is over. Codes: 0 none running (record: the last
    /// one, if any), 1 running, 2 finished by this call.
    static let tick = prelude + """
        if not s then return {0, raw or '', 0, 0, now} end
        if now >= s.endsAt or redis.call('EXISTS', KEYS[1]) == 0 then
          local ended, added = finish(s, math.min(now, s.endsAt))
          return {2, ended, added, 0, now}
        end
        local added = bill(s, now)
        local encoded = raw
        if added > 0 then
          encoded = cjson.encode(s)
          redis.call('HSET', KEYS[4], ARGV[1], encoded)
        end
        return {1, encoded, added, 0, now}
        """

    /// BURST OFF: finishes a running burst now and sets the kill switch (a cooldown without
    /// end). Codes: 2 a burst was finished, 0 none was running.
    static let stop = prelude + """
        redis.call('DEL', KEYS[1])
        redis.call('SET', KEYS[2], 'off')
        if not s then return {0, '', 0, -1, now} end
        local ended, added = finish(s, math.min(now, s.endsAt))
        return {2, ended, added, -1, now}
        """

    /// BURST ON: lifts the kill switch; a cooldown from a real burst stays. Codes: 1 lifted,
    /// 0 there was none.
    static let resume = prelude + """
        if redis.call('GET', KEYS[2]) == 'off' then
          redis.call('DEL', KEYS[2])
          return {1, '', 0, 0, now}
        end
        return {0, '', 0, redis.call('PTTL', KEYS[2]), now}
        """

    /// SHOW ORG: read only. Code 1 if `burst:<org>` exists; record is the latest burst;
    /// `added` carries the org's minutes billed ever; PTTL -1 is the kill switch, -2 none.
    static let status = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local raw = redis.call('HGET', KEYS[4], ARGV[1]) or ''
        local total = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
        local pttl = redis.call('PTTL', KEYS[2])
        return {redis.call('EXISTS', KEYS[1]), raw, total, pttl, now}
        """
}
