// tiergate-gate-bench: what one admission decision costs, layer by layer (issue 7).
//
//   tiergate-gate-bench --mongo mongodb://127.0.0.1:27117 --redis redis://127.0.0.1:26379 \
//                       --org ORG_ID [--runs 7] [--scale 1.0]
//
// Prints one JSON object on stdout (read by bench/bench.py) and a table on stderr. Each
// figure is timed in `--runs` runs; a run's figure is its elapsed time divided by its
// iterations, and the report gives the median run with the fastest and slowest. Nothing is
// asserted: the counters of the resolver are reported next to each figure so a reader can
// check that every lookup took the layer it claims to measure.
//
// The decisions measured, cheapest first:
// - ConnectionGate admit + release, a plain value (no lock), then under a Mutex as the proxy
//   holds it (TierAdmission.gate): the busy-org case, the org holding 50 open sessions and
//   1,000 other orgs holding 10 each, so the per-org sets are neither empty nor freed.
// - TierResolver, fresh in-process hit: the synchronous answer of a connection whose org was
//   looked up in the last 5 s (the default --local-cache-ttl).
// - TierResolver, Redis hit: in-process freshness 0, so each lookup hops to the resolver's
//   queue and reads `tier:<org>` with its generation from the stack's Redis (one MGET).
// - TierResolver, MongoDB miss: before each (untimed) lookup the org is invalidated, which
//   deletes its Redis key; the timed lookup then misses Redis, reads the org from MongoDB,
//   and writes it back to Redis through the compare-and-set script.
// - BurstLedger (issue 8): what a connection over its org's base ceiling waits for when no
//   burst is known in process: starting a burst (the org's burst state is cleared, untimed,
//   before each call), and joining one that another instance started. Seed 5.1 asks for
//   activation within 500 ms.

import Dispatch
import Foundation
import Gate
import Logging
import Synchronization
import TierModel
import TierStore

struct Options {
    var mongo: String?
    var redis: String?
    var org: String?
    var runs = 7
    var scale = 1.0

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var rest = arguments.dropFirst()
        func value(_ flag: String) -> String {
            guard let next = rest.popFirst() else { fail("\(flag) needs a value") }
            return next
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--mongo": options.mongo = value(flag)
            case "--redis": options.redis = value(flag)
            case "--org": options.org = value(flag)
            case "--runs":
                guard let runs = Int(value(flag)) else { fail("--runs: expected a whole number") }
                options.runs = runs
            case "--scale":
                guard let scale = Double(value(flag)) else { fail("--scale: expected a number") }
                options.scale = scale
            case "-h", "--help":
                print("usage: tiergate-gate-bench --mongo URI --redis URL --org ORG_ID [--runs N] [--scale F]")
                exit(0)
            default: fail("unknown argument '\(flag)'")
            }
        }
        guard options.runs >= 1, options.scale > 0 else { fail("--runs and --scale must be positive") }
        return options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("tiergate-gate-bench: \(message)\n".utf8))
    exit(2)
}

/// One figure: nanoseconds per decision in each run, plus what the resolver counted.
struct Figure {
    let key: String
    let label: String
    let iterations: Int
    var runs: [Double] = []
    /// Per-call latencies in ns (only for figures timed call by call), all runs pooled.
    var calls: [Double] = []
    var checks: [String: Int] = [:]

    var json: [String: Any] {
        var out: [String: Any] = ["key": key, "label": label, "iterations_per_run": iterations,
                                  "ns_per_decision_runs": runs, "checks": checks]
        if !calls.isEmpty {
            let sorted = calls.sorted()
            out["call_p50_ns"] = percentile(sorted, 0.50)
            out["call_p99_ns"] = percentile(sorted, 0.99)
        }
        return out
    }
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    let index = max(0, min(sorted.count - 1, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
    return sorted[index]
}

func nanoseconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) * 1e9 + Double(parts.attoseconds) / 1e9
}

/// Keeps results observable so the optimizer cannot drop the work being timed.
final class Sink: @unchecked Sendable {
    var value: UInt64 = 0
}

let options = Options.parse(CommandLine.arguments)
let clock = ContinuousClock()
let sink = Sink()
let matrix = TierMatrix.builtIn
var figures: [Figure] = []

func iterations(_ base: Int) -> Int { max(1, Int(Double(base) * options.scale)) }

// --- ConnectionGate ------------------------------------------------------------------------

func orgTier(_ id: String) -> OrgTier {
    OrgTier(orgId: try! OrgId(id), tier: .enterprise, limits: matrix[.enterprise], burst: nil,
            route: PostgresRoute(database: "bench"), tierUpdatedAt: 0, cachedAt: 0)
}

/// A gate as a busy proxy holds it: the measured org with 50 sessions open, 1,000 other
/// orgs with 10 each.
func busyGate(_ org: OrgTier) -> ConnectionGate {
    var gate = ConnectionGate(matrix: matrix)
    for i in 0..<1_000 {
        let other = orgTier("org_other_\(i)")
        for _ in 0..<10 { _ = gate.admit(other) }
    }
    for _ in 0..<50 { _ = gate.admit(org) }
    return gate
}

let benchOrg = orgTier("org_gate_bench")

@inline(never)
func admitRelease(_ gate: inout ConnectionGate, _ org: OrgTier) -> UInt64 {
    switch gate.admit(org) {
    case .admitted(let ticket):
        gate.release(ticket)
        return ticket.id
    case .refused:
        return 1
    }
}

do {
    var figure = Figure(key: "gate_admit_release", label: "ConnectionGate admit + release, no lock",
                        iterations: iterations(1_000_000))
    var gate = busyGate(benchOrg)
    for _ in 0..<figure.iterations / 10 { sink.value &+= admitRelease(&gate, benchOrg) }  // warm-up
    for _ in 0..<options.runs {
        let start = clock.now
        for _ in 0..<figure.iterations { sink.value &+= admitRelease(&gate, benchOrg) }
        figure.runs.append(nanoseconds(clock.now - start) / Double(figure.iterations))
    }
    figure.checks["open_sessions_after"] = gate.count(for: benchOrg.orgId)
    figures.append(figure)
}

// What an ordinary statement pays for the settings check: the blind-spot pre-scan of its
// text (the check statement itself runs only after statements the guard cannot judge).
for (key, label, sql) in [
    ("blind_spot_select", "Settings blind-spot scan, pgbench -S query", "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;"),
    ("blind_spot_update", "Settings blind-spot scan, pgbench TPC-B update",
     "UPDATE pgbench_accounts SET abalance = abalance + -4387 WHERE aid = 48213;"),
] {
    var figure = Figure(key: key, label: label, iterations: iterations(200_000))
    let text = Array(sql.utf8)[...]
    for _ in 0..<figure.iterations / 10 { sink.value &+= SettingsBlindSpots.mayChangeSettings(text: text) ? 1 : 0 }
    for _ in 0..<options.runs {
        let start = clock.now
        for _ in 0..<figure.iterations { sink.value &+= SettingsBlindSpots.mayChangeSettings(text: text) ? 1 : 0 }
        figure.runs.append(nanoseconds(clock.now - start) / Double(figure.iterations))
    }
    figure.checks["flagged"] = SettingsBlindSpots.mayChangeSettings(text: text) ? 1 : 0
    figures.append(figure)
}

do {
    var figure = Figure(key: "gate_admit_release_mutex", label: "ConnectionGate admit + release, under a Mutex",
                        iterations: iterations(1_000_000))
    let gate = Mutex(busyGate(benchOrg))
    // As TierAdmission does it: one lock to admit, another to release.
    func once() -> UInt64 {
        switch gate.withLock({ $0.admit(benchOrg) }) {
        case .admitted(let ticket):
            _ = gate.withLock { $0.release(ticket) }
            return ticket.id
        case .refused:
            return 1
        }
    }
    for _ in 0..<figure.iterations / 10 { sink.value &+= once() }
    for _ in 0..<options.runs {
        let start = clock.now
        for _ in 0..<figure.iterations { sink.value &+= once() }
        figure.runs.append(nanoseconds(clock.now - start) / Double(figure.iterations))
    }
    figure.checks["open_sessions_after"] = gate.withLock { $0.count(for: benchOrg.orgId) }
    figures.append(figure)
}

// --- TierResolver against the stack's Redis and MongoDB -------------------------------------

guard let mongo = options.mongo, let redis = options.redis, let orgText = options.org else {
    fail("--mongo, --redis and --org are needed for the resolver figures")
}
let org: OrgId
do { org = try OrgId(orgText) } catch { fail("--org: \(error)") }

let logger: Logger = {
    var logger = Logger(label: "tiergate-gate-bench")
    logger.logLevel = .error
    return logger
}()

func makeResolver(freshness: Duration) -> TierResolver {
    do {
        let source = MongoOrgSource(collection: try OrganizationCollection(uri: mongo))
        var configuration = TierResolver.Configuration(redis: try RedisURL(parsing: redis))
        configuration.inProcessFreshness = freshness
        return TierResolver(source: source, matrix: matrix, configuration: configuration, logger: logger)
    } catch {
        fail("cannot set up the resolver: \(error)")
    }
}

func warm(_ resolver: TierResolver) {
    switch resolver.resolveNow(org) {
    case .success(let value):
        sink.value &+= UInt64(value.limits.postgres.maxConnections)
    case .failure(let error):
        fail("looking up \(org) failed: \(error) (is it in MongoDB?)")
    }
}

func delta(_ before: LookupStats, _ after: LookupStats) -> [String: Int] {
    ["in_process_hits": after.inProcessHits - before.inProcessHits,
     "redis_hits": after.redisHits - before.redisHits,
     "redis_misses": after.redisMisses - before.redisMisses,
     "redis_stale": after.redisStale - before.redisStale,
     "redis_errors": after.redisErrors - before.redisErrors,
     "source_lookups": after.sourceLookups - before.sourceLookups,
     "source_errors": after.sourceErrors - before.sourceErrors]
}

do {
    var figure = Figure(key: "resolver_in_process_hit", label: "TierResolver, fresh in-process hit",
                        iterations: iterations(1_000_000))
    let resolver = makeResolver(freshness: .seconds(3600))
    warm(resolver)
    let completion: TierResolver.Completion = { result in
        if case .success(let value) = result { sink.value &+= UInt64(value.limits.postgres.maxConnections) }
    }
    for _ in 0..<figure.iterations / 10 { resolver.resolve(org, completion: completion) }
    let before = resolver.stats
    for _ in 0..<options.runs {
        let start = clock.now
        for _ in 0..<figure.iterations { resolver.resolve(org, completion: completion) }
        figure.runs.append(nanoseconds(clock.now - start) / Double(figure.iterations))
    }
    figure.checks = delta(before, resolver.stats)
    figures.append(figure)
}

/// Times `resolveNow` call by call; `prepare` runs untimed before each call.
func timedLookups(_ figure: inout Figure, _ resolver: TierResolver, prepare: () -> Void) {
    for _ in 0..<max(1, figure.iterations / 10) { prepare(); warm(resolver) }
    let before = resolver.stats
    for _ in 0..<options.runs {
        var total = 0.0
        for _ in 0..<figure.iterations {
            prepare()
            let start = clock.now
            let result = resolver.resolveNow(org)
            let elapsed = nanoseconds(clock.now - start)
            if case .success(let value) = result { sink.value &+= UInt64(value.cachedAt) }
            total += elapsed
            figure.calls.append(elapsed)
        }
        figure.runs.append(total / Double(figure.iterations))
    }
    figure.checks = delta(before, resolver.stats)
}

do {
    var figure = Figure(key: "resolver_redis_hit", label: "TierResolver, Redis hit (in-process freshness 0)",
                        iterations: iterations(2_000))
    let resolver = makeResolver(freshness: .zero)
    warm(resolver)
    timedLookups(&figure, resolver, prepare: {})
    figures.append(figure)
}

do {
    var figure = Figure(key: "resolver_mongo_miss", label: "TierResolver, MongoDB miss (Redis key deleted before each)",
                        iterations: iterations(300))
    let resolver = makeResolver(freshness: .zero)
    timedLookups(&figure, resolver, prepare: { resolver.invalidate(org) })
    figures.append(figure)
}

// --- BurstLedger against the stack's Redis ----------------------------------------------------

do {
    guard let ledger = makeResolver(freshness: .zero).bursts else { fail("no burst ledger without Redis") }
    let burstOrg = try! OrgId("org_burst_bench")
    let addon = OrgTier.BurstConfig(burstTier: .enterprise, costPerMinute: 0.25)
    let cleaner: RedisConnection
    do { cleaner = try RedisConnection(url: redis) } catch { fail("cannot connect to \(redis): \(error)") }
    func clear() {
        _ = try? cleaner.command(["EVAL", "redis.call('DEL', KEYS[1], KEYS[2]); redis.call('HDEL', KEYS[3], ARGV[1]); return redis.call('HDEL', KEYS[4], ARGV[1])",
                                  "4", RedisKey.burst(burstOrg), RedisKey.burstCooldown(burstOrg),
                                  RedisKey.burstRecords, RedisKey.burstMinutesBilled, burstOrg.rawValue])
    }
    func timedAdmits(_ figure: inout Figure, prepare: () -> Void) {
        var counted: [String: Int] = [:]
        for _ in 0..<options.runs {
            var total = 0.0
            for _ in 0..<figure.iterations {
                prepare()
                let start = clock.now
                let admission = ledger.admit(burstOrg, burst: addon, instance: "gate-bench")
                let elapsed = nanoseconds(clock.now - start)
                switch admission?.decision {
                case .started?: counted["bursts_started", default: 0] += 1
                case .running?: counted["bursts_joined", default: 0] += 1
                default: counted["no_burst", default: 0] += 1
                }
                total += elapsed
                figure.calls.append(elapsed)
            }
            figure.runs.append(total / Double(figure.iterations))
        }
        figure.checks = counted
    }
    var start = Figure(key: "burst_start", label: "BurstLedger, start a burst (one Redis script)",
                       iterations: iterations(2_000))
    timedAdmits(&start, prepare: clear)
    figures.append(start)
    var join = Figure(key: "burst_join", label: "BurstLedger, join a running burst", iterations: iterations(2_000))
    clear()
    _ = ledger.admit(burstOrg, burst: addon, instance: "another instance")
    timedAdmits(&join, prepare: {})
    figures.append(join)
    clear()
}

// --- output -------------------------------------------------------------------------------

for figure in figures {
    let sorted = figure.runs.sorted()
    let median = sorted[sorted.count / 2]
    var line = "\(figure.label): median \(String(format: "%.0f", median)) ns "
        + "(runs \(String(format: "%.0f", sorted.first!))–\(String(format: "%.0f", sorted.last!)) ns, "
        + "\(options.runs) × \(figure.iterations))"
    if !figure.calls.isEmpty, let p50 = figure.json["call_p50_ns"] as? Double, let p99 = figure.json["call_p99_ns"] as? Double {
        line += String(format: ", per call p50 %.0f ns, p99 %.0f ns", p50, p99)
    }
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
let report: [String: Any] = [
    "runs": options.runs, "scale": options.scale, "org": org.rawValue,
    "figures": figures.map(\.json), "sink": sink.value,
]
let data = try! JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
