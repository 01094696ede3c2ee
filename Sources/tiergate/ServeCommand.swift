import Admin
import ArgumentParser
import Dispatch
import Foundation
import Logging
import PgBouncerConfig
import Proxy
import SocketIO
import Telemetry
import TierModel
import TierPolicy
import TierStore
import PostgresClient
import PostgresWire

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the proxy.")

    @Option(help: ArgumentHelp("Address to accept Postgres clients on (HOST:PORT). Env: TIERGATE_LISTEN.", valueName: "host:port"))
    var listen = Endpoint(host: "127.0.0.1", port: 6432)

    @Option(help: ArgumentHelp("Postgres server to relay to (HOST:PORT). Env: TIERGATE_UPSTREAM.", valueName: "host:port"))
    var upstream = Endpoint(host: "127.0.0.1", port: 5432)

    @Option(help: "libpq conninfo (key=value or URI; host and port default to --upstream's) of any role that may log in to the upstream Postgres: at start, TierGate checks through it that no database still grants UPDATE on pg_settings to PUBLIC, and that temp_file_limit may be set by ordinary roles, and logs a warning if not. Env: TIERGATE_UPSTREAM_CHECK_CONNINFO.")
    var upstreamCheckConninfo: String?

    @Option(help: "Sessions TierGate may hold on the --upstream Postgres; as it fills, tiers are refused by their capacityReserve (FREE first). Default: learned at start through --upstream-check-conninfo (max_connections less the superuser reserve), else no limit. Env: TIERGATE_UPSTREAM_MAX_CONNECTIONS.")
    var upstreamMaxConnections: Int?

    @Flag(help: "A connection refused a slot (its org's ceiling, or the upstream's capacity for its tier) waits for one up to its tier's connection timeout (bounded by --login-timeout less 1 s) instead of being refused at once. Env: TIERGATE_QUEUE=1.")
    var queue = false

    @Option(help: ArgumentHelp("Send admitted sessions to this PgBouncer (HOST:PORT), database = org id, its per-org pool applying the tier (see `tiergate pgbouncer-config`). Needs an org source. Env: TIERGATE_UPSTREAM_PGBOUNCER.", valueName: "host:port"))
    var upstreamPgbouncer: Endpoint?

    @Option(help: "Keep PgBouncer's per-org [databases] file here up to date: written at start, on the admin PGBOUNCER command, and after INVALIDATE/RELOAD through this instance's admin socket (debounced). Env: TIERGATE_PGBOUNCER_OUTPUT.")
    var pgbouncerOutput: String?

    @Option(help: "libpq conninfo of PgBouncer's admin console, to RELOAD after each write. Env: TIERGATE_PGBOUNCER_RELOAD_ADMIN.")
    var pgbouncerReloadAdmin: String?

    @Option(help: ArgumentHelp("In the generated file, send database names that are not orgs to this server (HOST:PORT). Env: TIERGATE_PGBOUNCER_CATCH_ALL.", valueName: "host:port"))
    var pgbouncerCatchAll: Endpoint?

    @Option(help: ArgumentHelp("Time a new client has to send its startup packet (seconds, or with a unit: 500ms, 2min). Env: TIERGATE_LOGIN_TIMEOUT.", valueName: "duration"))
    var loginTimeout = TimeSpan.seconds(15)

    @Option(help: ArgumentHelp("Time open sessions may take to finish after SIGTERM/SIGINT (seconds, or with a unit). Env: TIERGATE_DRAIN_TIMEOUT.", valueName: "duration"))
    var drainTimeout = TimeSpan.seconds(30)

    @Option(help: "trace, debug, info, notice, warning, error or critical. Env: TIERGATE_LOG_LEVEL.")
    var logLevel: Logger.Level = .info

    @Option(help: "Number of I/O event loops (serial queues). Env: TIERGATE_EVENT_LOOPS.")
    var eventLoops: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Largest message the proxy assembles to inspect, in bytes. Env: TIERGATE_MAX_MESSAGE_SIZE.")
    var maxMessageSize: Int = 16 << 20

    @OptionGroup var orgSource: OrgSourceOptions

    @Option(help: ArgumentHelp("Redis tier cache (redis://HOST:PORT[/DB]). Env: TIERGATE_REDIS.", valueName: "redis://HOST:PORT[/DB]"))
    var redis: RedisURL?

    @Option(help: "This instance's name in the session counts shared through --redis; stable across restarts, unique among instances. Default: the host name and the --listen port. Env: TIERGATE_INSTANCE_ID.")
    var instanceId: String?

    @Flag(inversion: .prefixedNo, help: "With --redis, share each org's session count (and cancel keys) with the other instances on that Redis; --no-shared-counts keeps them per instance. Env: TIERGATE_NO_SHARED_COUNTS=1.")
    var sharedCounts = true

    @Option(help: "Milliseconds an admission waits for its shared session lease before this instance decides with its share of the ceiling. Env: TIERGATE_LEASE_WAIT_MS.")
    var leaseWaitMs: Int = 50

    @Option(help: "CancelRequests per second a client address may send (twice as many at once); more are dropped silently. Env: TIERGATE_CANCEL_RATE.")
    var cancelRate: Double = 10

    @Option(help: ArgumentHelp("How long a tier stays in the in-process cache before Redis/MongoDB are asked again (seconds, or with a unit). Env: TIERGATE_LOCAL_CACHE_TTL.", valueName: "duration"))
    var localCacheTtl = TimeSpan.seconds(5)

    @Option(help: "Unix socket for admin commands (mode 0600; see `tiergate admin`). Env: TIERGATE_ADMIN_SOCKET.")
    var adminSocket: String?

    @Option(help: ArgumentHelp("How long excess sessions survive a downgrade below current use before the newest are closed (seconds, or with a unit). Env: TIERGATE_DOWNGRADE_GRACE.", valueName: "duration"))
    var downgradeGrace = TimeSpan.seconds(900)

    @Option(help: ArgumentHelp("Serve Prometheus metrics at http://HOST:PORT/metrics. Env: TIERGATE_METRICS.", valueName: "host:port"))
    var metrics: Endpoint?

    @Option(help: "How per-org metric series name orgs: off, plain or hashed. Default: off when --metrics binds a non-loopback address, plain otherwise. Env: TIERGATE_METRICS_ORG_LABELS.")
    var metricsOrgLabels: OrgLabelMode?

    @Option(help: ArgumentHelp("How long past a subscription's currentPeriodEnd an org keeps its paid tier before it is served as FREE (seconds, or with a unit). Env: TIERGATE_SUBSCRIPTION_GRACE.", valueName: "duration"))
    var subscriptionGrace = TimeSpan.seconds(SubscriptionLapse.defaultGraceSeconds)

    @OptionGroup var tls: TLSOptions

    func validate() throws {
        try tls.validate()
        if redis != nil && !orgSource.hasSource { throw ValidationError("--redis needs an org source: --mongo or --orgs") }
        if let upstreamCheckConninfo {
            do throws(PostgresError) {
                _ = try ConnectionOptions(parsing: upstreamCheckConninfo)
            } catch {
                throw ValidationError("--upstream-check-conninfo: \(error.message)")
            }
        }
        if upstreamPgbouncer != nil, !orgSource.hasSource {
            throw ValidationError("--upstream-pgbouncer needs an org source: --mongo or --orgs")
        }
        guard loginTimeout.milliseconds > 0 else { throw ValidationError("--login-timeout: more than 0") }
        guard maxMessageSize >= 1024 else { throw ValidationError("--max-message-size: at least 1024 bytes") }
        guard cancelRate > 0 else { throw ValidationError("--cancel-rate: more than 0") }
        guard leaseWaitMs >= 1 else { throw ValidationError("--lease-wait-ms: at least 1") }
        if let upstreamMaxConnections, upstreamMaxConnections < 1 {
            throw ValidationError("--upstream-max-connections: at least 1")
        }
    }

    func run() throws {
        let level = logLevel
        Allocator.useSingleArena()
        // Every value in a log line is escaped: clients choose user names, databases, ...
        LoggingSystem.bootstrap { label in
            var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tiergate")
        signal(SIGPIPE, SIG_IGN)

        var configuration = ProxyServer.Configuration(listen: listen)
        configuration.loginTimeout = loginTimeout.duration
        configuration.eventLoops = max(1, eventLoops)
        configuration.maxInspectedMessage = maxMessageSize
        do {
            try tls.configure(&configuration, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        configuration.cancelRate = CancelRateLimit.Rule(perSecond: cancelRate, burst: max(1, Int((2 * cancelRate).rounded(.up))))
        let server: ProxyServer
        let admin: AdminSocketServer?
        let metricsServer: MetricsHTTPServer?
        let matrix: TierMatrix?
        let shutdown: ShutdownSequence
        // Burst checks and downgrade enforcement: stopped together at shutdown.
        let policyTimers = StoppableClock()
        do {
            // Before anything creates a metric: libraries use the bootstrapped factory.
            let loopExport = LoopStatisticsExport()
            let tlsExport = TLSStatisticsExport()
            let telemetry = try metrics.map { endpoint in
                let labels = metricsOrgLabels ?? ServeMetrics.defaultOrgLabels(for: endpoint)
                logger.info("metrics", metadata: ["listen": "\(endpoint)", "org_labels": "\(labels.rawValue)"])
                return try ServeMetrics.bootstrap(listen: endpoint, orgLabels: labels, logger: logger, scraped: { loopExport.update(); tlsExport.update() })
            }
            // One set of refusal counters for /metrics and SHOW STATS, the proxy's own
            // refusals (protocol, login timeout) included, with or without --metrics.
            let tierMetrics = telemetry?.0 ?? TierGateMetrics()
            configuration.observer = SessionMetrics(tierMetrics)
            metricsServer = telemetry?.1
            let (admitter, pgbouncer) = try makeAdmitter(logger: logger, metrics: tierMetrics, clock: policyTimers)
            let tiered = admitter as? TierAdmission
            matrix = tiered?.matrix
            tiered?.downgradeGrace = downgradeGrace.duration
            if let tiered { configureUpstreamCapacity(tiered, logger: logger) }
            admin = try adminSocket.map { path in
                try AdminSocketServer(path: path, backend: MeteredAdminBackend.wrap(ServeAdminBackend(
                    admission: tiered, tiersPath: orgSource.tiers, pgbouncer: pgbouncer?.runNow,
                    pgbouncerRegenerator: pgbouncer?.regenerator, tlsCredentials: configuration.tlsCredentials,
                    tlsStatistics: configuration.tlsCredentials == nil ? nil : configuration.tlsStatistics),
                    metrics: telemetry?.0), logger: logger)
            }
            if let tiered, let leases = tiered.leases as? RedisSessionLeases, let redis {
                ClusterWiring.shareCancelKeys(&configuration, url: redis, instanceId: leases.instanceId,
                                              logger: logger)
            }
            server = try ProxyServer(configuration: configuration, admitter: admitter, logger: logger)
            if let metrics = telemetry?.0 { loopExport.attach(metrics: metrics) { [server] in server.loopStatistics } }
            if telemetry != nil { tlsExport.attach(server.tlsStatistics) }
            let subscriber = tiered.flatMap { tiered in redis.map { startInvalidationSubscriber($0, tiered, logger: logger) } }
            shutdown = .serve(server: server, drainTimeout: drainTimeout.duration, metrics: metricsServer,
                              subscriber: subscriber, policyTimers: tiered == nil ? nil : policyTimers,
                              waitQueue: queue ? tiered : nil, leases: tiered?.leases as? RedisSessionLeases,
                              cancelKeys: configuration.cancelKeys as? RedisCancelKeys,
                              pgbouncer: pgbouncer?.regenerator, admin: admin)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        server.start()
        admin?.start()
        metricsServer?.start()
        checkUpstreamSetup(matrix: matrix, logger: logger)
        ReloadSignal.install(credentials: configuration.tlsCredentials, logger: logger)
        ShutdownSignals.install(logger: logger) {
            shutdown.run(logger: logger) {
                logger.info("stopped")
                Foundation.exit(0)
            }
        }
        dispatchMain()
    }

    /// The upstream's Postgres-side setup (`UpstreamSetupCheck`), in the background so the
    /// proxy serves meanwhile; without credentials for it only a reminder is logged.
    private func checkUpstreamSetup(matrix: TierMatrix?, logger: Logger) {
        guard let upstreamCheckConninfo else {
            if orgSource.hasSource {
                logger.notice("upstream setup not checked (no --upstream-check-conninfo): see the README for REVOKE UPDATE ON pg_settings FROM PUBLIC")
            }
            return
        }
        let injectsTempFileLimit = matrix.map { m in Tier.allCases.contains { m[$0].postgres.tempFileLimit != nil } } ?? false
        let check: UpstreamSetupCheck
        do {
            check = try UpstreamSetupCheck(conninfo: upstreamCheckConninfo, upstream: upstream,
                                           injectsTempFileLimit: injectsTempFileLimit)
        } catch {
            logger.warning("upstream setup not checked", metadata: ["error": "\(error)"])
            return
        }
        DispatchQueue.global().async { check.runAndLog(logger: logger) }
    }

    /// The upstream's capacity for tier priority: given, or learned in the background
    /// (until it is known, no tier is refused for capacity).
    /// Orgs routed to a Postgres of their own have its capacity learned the same way when
    /// their first session goes there (never PgBouncer's: its pools queue on their own).
    private func configureUpstreamCapacity(_ admission: TierAdmission, logger: Logger) {
        let endpoint = upstream
        if let upstreamMaxConnections {
            admission.setUpstreamCapacity(upstreamMaxConnections, for: endpoint)
            logger.info("upstream capacity", metadata: ["upstream": "\(endpoint)", "sessions": "\(upstreamMaxConnections)"])
        }
        guard let upstreamCheckConninfo else { return }
        let learn = { @Sendable (target: Endpoint, replacingAddress: Bool) in
            do {
                let probe = try UpstreamCapacityProbe(conninfo: upstreamCheckConninfo, upstream: target,
                                                      replacingAddress: replacingAddress)
                guard let found = try probe.run() else { return }
                let sessions = UpstreamCapacityProbe.sessions(maxConnections: found.maxConnections, reserved: found.reserved)
                admission.setUpstreamCapacity(sessions, for: target)
                logger.info("upstream capacity learned", metadata: [
                    "upstream": "\(target)", "max_connections": "\(found.maxConnections)",
                    "reserved": "\(found.reserved)", "sessions": "\(sessions)"])
            } catch {
                logger.warning("upstream capacity not learned: no tier priority when it fills",
                               metadata: ["upstream": "\(target)", "error": "\(error)"])
            }
        }
        if upstreamMaxConnections == nil {
            DispatchQueue.global().async { learn(endpoint, false) }
        }
        let pgbouncer = upstreamPgbouncer
        admission.learnUnknownUpstreamCapacities { target in
            guard target != endpoint, target != pgbouncer else { return }
            learn(target, true)
        }
    }

    /// Every instance listens for the others' INVALIDATEs.
    private func startInvalidationSubscriber(_ url: RedisURL, _ admission: TierAdmission,
                                             logger: Logger) -> InvalidationSubscriber {
        let subscriber = InvalidationSubscriber(url: url, logger: logger)
        subscriber.start(onMessage: { admission.invalidationAnnounced($0) },
                         onResubscribed: { admission.invalidationsMayHaveBeenMissed() })
        return subscriber
    }

    /// Without an org source TierGate is a transparent relay; with one, it gates by tier.
    /// - Parameter metrics: the bootstrapped metrics (their org labels), or unexported ones
    ///   without --metrics (SHOW STATS still reads their refusal counts).
    private func makeAdmitter(logger: Logger, metrics: TierGateMetrics, clock: any PolicyClock) throws -> (any SessionAdmitter, PgBouncerUpkeep?) {
        guard let (source, sourceName) = try orgSource.makeSource() else {
            logger.notice("no org source (--mongo or --orgs): relaying without tier gating")
            return (DirectAdmission(upstream: upstream), nil)
        }
        let matrix = try orgSource.loadMatrix()
        var configuration = TierResolver.Configuration(redis: redis)
        configuration.inProcessFreshness = localCacheTtl.duration
        configuration.subscriptionGrace = subscriptionGrace.duration
        configuration.metrics = metrics
        let resolver = TierResolver(source: source, matrix: matrix, configuration: configuration, logger: logger)
        logger.info("gating by tier", metadata: [
            "org_source": "\(source.name)", "redis": "\(redis.map(\.description) ?? "none")", "tiers": "\(orgSource.tiers ?? "built-in")"])
        if let upstreamPgbouncer { logger.info("routing through PgBouncer", metadata: ["pgbouncer": "\(upstreamPgbouncer)"]) }
        let leases = redis.flatMap { sharedCounts ? $0 : nil }.map { ClusterWiring.leases(url: $0, instanceId: instanceId,
                                                                   listen: listen, leaseWait: .milliseconds(leaseWaitMs),
                                                                   logger: logger) }
        let admission = TierAdmission(resolver: resolver, defaultUpstream: upstream,
                                      pgbouncer: upstreamPgbouncer, logger: logger,
                                      metrics: metrics,
                                      clock: clock, serverNameOrgs: tls.tlsOrgDomain, leases: leases,
                                      overload: OverloadConfiguration(
                                          queue: queue, maxQueueWait: .milliseconds(max(500, loginTimeout.milliseconds - 1000))))
        guard let pgbouncerOutput else { return (admission, nil) }
        let output = PgBouncerOutput(output: pgbouncerOutput, upstream: upstream, catchAll: pgbouncerCatchAll,
                                     reloadAdmin: pgbouncerReloadAdmin)
        let tiersPath = orgSource.tiers
        let upkeep = PgBouncerUpkeep(logger: logger) {
            // The matrix is read at each run: RELOAD may have replaced it.
            try output.regeneration(loadOrgs: { try source.allOrganizations() }, sourceName: sourceName,
                                    matrix: admission.matrix, tiersPath: tiersPath).run()
        }
        upkeep.regenerator.requestRegeneration()
        return (admission, upkeep)
    }
}
